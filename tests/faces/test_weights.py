"""Weights: the wheel's bytes by hash, downloads that verify or refuse, doctor."""

from __future__ import annotations

import hashlib
import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from facedata.errors import IntegrityError
from facedata.faces import (
    DetectorError,
    get_detector,
    get_detector_info,
    registry,
    retinaface,
    weights,
)
from facedata.faces.weights import MNET025_SHA256, Variant
from tests.helpers import photos
from tests.helpers.cli import run_cli


def test_hash_covers_the_decoded_onnx_bytes_not_the_py_file() -> None:
    w = weights.bundled_weights()
    assert w.sha256 == MNET025_SHA256 == hashlib.sha256(w.data).hexdigest()
    assert w.data[:2] == b"\x08\x06"  # an ONNX ModelProto, not Python source
    assert hashlib.sha256(weights.wheel_weights_file().read_bytes()).hexdigest() != MNET025_SHA256


def test_modified_wheel_weights_are_refused(tmp_path, monkeypatch) -> None:
    fake = tmp_path / "weights.py"
    fake.write_text("WEIGHTS = b'\\x08\\x06not the model'\n")
    monkeypatch.setattr(weights, "wheel_weights_file", lambda: fake)
    weights.bundled_weights.cache_clear()
    try:
        with pytest.raises(IntegrityError, match="embedded weights"):
            weights.bundled_weights()
    finally:
        weights.bundled_weights.cache_clear()


class _Files(http.server.BaseHTTPRequestHandler):
    files: dict[str, bytes] = {}

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        body = self.files.get(self.path.rsplit("/", 1)[-1])
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server(tmp_path, monkeypatch) -> Iterator[dict[str, bytes]]:
    """A loopback release server; FACEDATA_HOME points at a fresh cache."""
    monkeypatch.setenv("FACEDATA_HOME", str(tmp_path / "home"))
    files: dict[str, bytes] = {}
    handler = type("Handler", (_Files,), {"files": files})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setattr(weights, "URL_BASE", f"http://127.0.0.1:{httpd.server_port}/weights/")
    try:
        yield files
    finally:
        httpd.shutdown()
        httpd.server_close()


def _use_variant(monkeypatch, sha256: str | None) -> Variant:
    """Make retinaface-r18 expect `sha256` (the real file is not on this loopback)."""
    v = Variant("R18", "retinaface_r18.onnx", sha256)
    spec = retinaface.RetinaFaceSpec("retinaface-r18", v, "test")
    monkeypatch.setitem(registry.REGISTRY, "retinaface-r18", spec)
    return v


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_download_verifies_then_runs_the_same_decoder(server, monkeypatch) -> None:
    onnx = weights.bundled_weights().data
    server["retinaface_r18.onnx"] = onnx
    v = _use_variant(monkeypatch, MNET025_SHA256)
    det = get_detector("r18")
    assert det.weights_sha256 == MNET025_SHA256
    assert v.cached_path().read_bytes() == onnx
    assert len(det.detect(photos.astronaut())) == 1
    server.clear()  # second use comes from the cache, no network
    assert get_detector("retinaface-r18").weights_sha256 == MNET025_SHA256


def test_wrong_hash_is_refused_and_nothing_is_left(server, monkeypatch) -> None:
    server["retinaface_r18.onnx"] = b"tampered" * 1000
    v = _use_variant(monkeypatch, MNET025_SHA256)
    with pytest.raises(IntegrityError, match="does not match"):
        get_detector("r18")
    assert _leftovers(v.cached_path().parent) == []


def test_tampered_cache_is_refused(server, monkeypatch) -> None:
    v = _use_variant(monkeypatch, MNET025_SHA256)
    v.cached_path().parent.mkdir(parents=True)
    v.cached_path().write_bytes(b"changed on disk")
    with pytest.raises(IntegrityError, match="delete"):
        get_detector("r18")


def test_unknown_hash_is_pinned_on_first_download(server, monkeypatch) -> None:
    onnx = weights.bundled_weights().data
    server["retinaface_r18.onnx"] = onnx
    v = _use_variant(monkeypatch, None)
    assert get_detector("r18").weights_sha256 == MNET025_SHA256
    assert json.loads(weights.pins_file().read_text()) == {v.filename: MNET025_SHA256}
    assert get_detector_info("r18")["weights_sha256"] == MNET025_SHA256
    # the published file changes later: the pin refuses it
    v.cached_path().unlink()
    server["retinaface_r18.onnx"] = onnx + b"\0"
    with pytest.raises(IntegrityError):
        get_detector("r18")
    assert _leftovers(v.cached_path().parent) == ["pins.json"]


def test_missing_file_on_server_says_what_to_do(server, monkeypatch) -> None:
    _use_variant(monkeypatch, MNET025_SHA256)
    with pytest.raises(DetectorError) as err:
        get_detector("r18")
    assert "FACEDATA_RETINAFACE_R18" in err.value.hint


def test_user_path_from_env(tmp_path, monkeypatch) -> None:
    model = tmp_path / "mine.onnx"
    model.write_bytes(weights.bundled_weights().data)
    monkeypatch.setenv("FACEDATA_RETINAFACE_R50", str(model))
    det = get_detector("r50")
    assert det.weights_sha256 == MNET025_SHA256 and len(det.detect(photos.grace_hopper())) == 1
    monkeypatch.setenv("FACEDATA_RETINAFACE_R50", str(tmp_path / "absent.onnx"))
    with pytest.raises(DetectorError, match="not found"):
        get_detector("r50")


def test_not_a_model_fails_on_first_use_with_a_hint(tmp_path) -> None:
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"not onnx")
    det = get_detector("r34", weights=junk)
    with pytest.raises(DetectorError, match="cannot load"):
        det.detect(photos.astronaut())


def test_unknown_detector_lists_the_known_ones() -> None:
    with pytest.raises(DetectorError) as err:
        get_detector("mtcnn")
    assert "retinaface-mnet025" in err.value.hint


def test_info_carries_terms_for_a_commercial_build() -> None:
    info = get_detector_info()
    assert info["name"] == "retinaface-mnet025" and info["weights_sha256"] == MNET025_SHA256
    assert "WIDER FACE" in info["terms"]["training_data"]
    assert "non-commercial" in info["terms"]["training_data_terms"]
    assert "MIT" in info["terms"]["weights_license"]


def test_doctor_reports_ready_and_missing(capsys, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("FACEDATA_HOME", str(tmp_path))
    res = run_cli(capsys, "doctor", "--json")
    assert res.code == 0, res.err
    report = json.loads(res.out)
    rows = {r["name"]: r for r in report["detectors"]}
    default, r50 = rows["retinaface-mnet025"], rows["retinaface-r50"]
    assert default["ready"] and default["sha256"] == MNET025_SHA256
    assert not r50["ready"] and "not downloaded" in r50["problem"]
    assert "CPUExecutionProvider" in report["runtime"]["providers"]
    table = run_cli(capsys, "doctor")
    assert table.code == 0 and "retinaface-r50" in table.out
