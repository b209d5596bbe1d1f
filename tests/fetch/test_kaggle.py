"""Kaggle through the real client (kagglesdk) talking to a fake API on localhost:7777.

The port is fixed by the client's TEST environment, so these tests run one at a time
(marker `kaggle`) and skip when something else holds the port.
"""

from __future__ import annotations

import json
import re

import pytest

from facedata.errors import AccessRequiredError, FetchError, IntegrityError
from facedata.fetch import fetch_dataset
from facedata.fetch.store import get_source_lock
from tests.fetch.conftest import write_manifest
from tests.helpers.servers import KAGGLE_PORT, make_tar, make_zip, port_free, serve_kaggle, sha256
from tests.helpers.servers import wrong_bytes as wrong

pytestmark = pytest.mark.kaggle

V1 = make_zip({"smiles/1.jpg": b"one"})
V2 = make_zip(
    {
        "smiles/1.jpg": b"one",
        "smiles/2.jpg": b"two",
        "extra.tar.gz": make_tar({"x.txt": b"x"}, gz=True),
    }
)


@pytest.fixture
def kaggle(monkeypatch):
    if not port_free(KAGGLE_PORT):
        pytest.skip(f"port {KAGGLE_PORT} is taken; the Kaggle client's TEST environment needs it")
    monkeypatch.setenv("KAGGLE_API_ENVIRONMENT", "TEST")
    with serve_kaggle() as fake:
        fake.add_dataset("alice/smiles", 1, V1)
        fake.add_dataset("alice/smiles", 2, V2)
        yield fake


def kaggle_manifest(folder, **extra):
    src = {"id": "kaggle", "kind": "kaggle", "official": False, "kaggle": "alice/smiles", **extra}
    return write_manifest(folder, "ks", [src])


def test_dataset_is_downloaded_unpacked_at_the_root_and_version_pinned(
    kaggle, manifest_dir, monkeypatch
):
    monkeypatch.setenv("KAGGLE_API_TOKEN", "test-token")
    res = fetch_dataset(kaggle_manifest(manifest_dir))
    assert (res.root / "smiles/2.jpg").read_bytes() == b"two"
    assert (res.root / "x.txt").read_bytes() == b"x"  # the archive inside was unpacked in place
    assert not (res.root / "extra.tar.gz").exists()
    (entry,) = res.files
    assert entry.origin == "kaggle:alice/smiles@v2" and entry.sha256 == sha256(V2)
    assert get_source_lock("ks", "kaggle").version == "2"
    auth = [r.headers.get("Authorization") for r in kaggle.server.log if r.method == "POST"]
    assert auth and all(a == "Bearer test-token" for a in auth)


def test_later_fetches_keep_the_pinned_version(kaggle, manifest_dir, monkeypatch):
    monkeypatch.setenv("KAGGLE_API_TOKEN", "test-token")
    m = kaggle_manifest(manifest_dir)
    fetch_dataset(m)
    kaggle.add_dataset("alice/smiles", 3, make_zip({"smiles/3.jpg": b"three"}))
    res = fetch_dataset(m, force=True)
    assert res.files[0].origin == "kaggle:alice/smiles@v2"
    assert not (res.root / "smiles/3.jpg").exists()


def test_manifest_version_and_kaggle_json(kaggle, manifest_dir, monkeypatch, tmp_path):
    cfg = tmp_path / "kcfg"
    cfg.mkdir()
    (cfg / "kaggle.json").write_text(json.dumps({"username": "tester", "key": "test-key"}))
    monkeypatch.setenv("KAGGLE_CONFIG_DIR", str(cfg))
    res = fetch_dataset(kaggle_manifest(manifest_dir, kaggle_version=1))
    assert res.files[0].origin == "kaggle:alice/smiles@v1"
    assert sorted(p.name for p in (res.root / "smiles").iterdir()) == ["1.jpg"]


def test_corrupted_transfer_is_caught_by_the_servers_md5(kaggle, manifest_dir, monkeypatch):
    monkeypatch.setenv("KAGGLE_API_TOKEN", "test-token")
    kaggle.server.fault("files/alice/smiles/2/smiles.zip", wrong())
    with pytest.raises(IntegrityError, match="md5"):
        fetch_dataset(kaggle_manifest(manifest_dir))


def test_no_credentials_names_every_place_looked(kaggle, manifest_dir):
    with pytest.raises(FetchError, match="no Kaggle credentials") as err:
        fetch_dataset(kaggle_manifest(manifest_dir))
    for place in ("KAGGLE_API_TOKEN", "access_token", "KAGGLE_KEY", "kaggle.json"):
        assert place in err.value.hint


def test_half_a_key_says_which_half_is_missing(kaggle, manifest_dir, monkeypatch):
    monkeypatch.setenv("KAGGLE_USERNAME", "tester")
    with pytest.raises(FetchError, match="KAGGLE_KEY is missing"):
        fetch_dataset(kaggle_manifest(manifest_dir))


def test_rejected_token_says_which_credential(kaggle, manifest_dir, monkeypatch):
    monkeypatch.setenv("KAGGLE_API_TOKEN", "expired")
    with pytest.raises(FetchError, match="HTTP 401") as err:
        fetch_dataset(kaggle_manifest(manifest_dir))
    assert "KAGGLE_API_TOKEN" in err.value.message and "settings/api" in err.value.hint


def test_competition_rules_not_accepted(kaggle, manifest_dir, monkeypatch):
    monkeypatch.setenv("KAGGLE_API_TOKEN", "test-token")
    kaggle.add_competition("fer-challenge", make_zip({"fer2013.csv": b"a"}), rules_accepted=False)
    src = {"id": "comp", "kind": "kaggle", "official": True, "kaggle_competition": "fer-challenge"}
    m = write_manifest(manifest_dir, "fer", [src])
    with pytest.raises(AccessRequiredError, match="rules") as err:
        fetch_dataset(m)
    assert "competitions/fer-challenge/rules" in err.value.hint
    kaggle.rules_not_accepted.clear()
    res = fetch_dataset(m)
    assert (res.root / "fer2013.csv").read_bytes() == b"a"
    assert res.files[0].origin == "kaggle-competition:fer-challenge"


def test_unknown_dataset(kaggle, manifest_dir, monkeypatch):
    monkeypatch.setenv("KAGGLE_API_TOKEN", "test-token")
    src = {"id": "kaggle", "kind": "kaggle", "official": False, "kaggle": "alice/nothing"}
    with pytest.raises(FetchError, match="HTTP 404"):
        fetch_dataset(write_manifest(manifest_dir, "kn", [src]))


def test_interrupted_kaggle_download_resumes_next_run(kaggle, manifest_dir, monkeypatch):
    from tests.helpers.servers import drop_after, status

    monkeypatch.setenv("KAGGLE_API_TOKEN", "test-token")
    path = "files/alice/smiles/2/smiles.zip"
    half = len(V2) // 2
    kaggle.server.fault(path, drop_after(half), status(503, times=None))
    m = kaggle_manifest(manifest_dir)
    with pytest.raises(FetchError):
        fetch_dataset(m)
    kaggle.server.faults.clear()
    before = kaggle.server.bytes_sent(path)
    res = fetch_dataset(m)
    assert kaggle.server.bytes_sent(path) - before == len(V2) - half
    assert res.files[0].sha256 == sha256(V2)


def test_kaggle_api_that_never_answers_times_out(kaggle, manifest_dir, monkeypatch):
    """kagglesdk sends without a timeout; facedata's bounds give it one."""
    import re
    import time

    import facedata.fetch.bounded as bounded

    monkeypatch.setenv("KAGGLE_API_TOKEN", "test-token")
    monkeypatch.setattr(bounded, "TIMEOUT", (1.0, 1.0))

    def mute(h, m) -> None:
        time.sleep(20)

    kaggle.server.routes.insert(0, ("POST", re.compile(r".*/GetDataset"), mute))
    began = time.monotonic()
    with pytest.raises(FetchError, match="cannot reach Kaggle"):
        fetch_dataset(kaggle_manifest(manifest_dir))
    assert time.monotonic() - began < 15


def test_kaggle_api_answer_without_end_is_cut(kaggle, manifest_dir, monkeypatch):
    """An API answer is read whole by the client: it is held to 64 MiB, not memory."""
    import re

    import facedata.fetch.bounded as bounded

    monkeypatch.setenv("KAGGLE_API_TOKEN", "test-token")
    monkeypatch.setattr(bounded, "MAX_API_BYTES", 1024 * 1024)

    def endless(h, m) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        h.end_headers()
        try:
            for _ in range(4096):  # 64 MiB, unless the client stops reading first
                h.wfile.write(b"[" * 16384)
        except (BrokenPipeError, ConnectionResetError):
            pass
        h.close_connection = True

    kaggle.server.routes.insert(0, ("POST", re.compile(r".*/GetDataset"), endless))
    with pytest.raises(FetchError, match="more than 1,048,576 bytes"):
        fetch_dataset(kaggle_manifest(manifest_dir))


@pytest.mark.parametrize("answer", ["2", "../../..", 2.5, True, -1, 0, None, [2]])
def test_a_version_that_is_not_a_number_is_a_clean_error(kaggle, manifest_dir, monkeypatch, answer):
    def get_dataset(h, m) -> None:
        h.read_body()
        h.send_json({"ref": "alice/smiles", "currentVersionNumber": answer})

    kaggle.server.routes.insert(0, ("POST", re.compile(r".*/GetDataset"), get_dataset))
    monkeypatch.setenv("KAGGLE_API_TOKEN", "test-token")
    with pytest.raises(FetchError, match="version|cannot be read"):
        fetch_dataset(kaggle_manifest(manifest_dir))
    assert get_source_lock("ks", "kaggle") is None


def test_a_pinned_version_that_is_not_a_number_is_a_clean_error(kaggle, manifest_dir, monkeypatch):
    from facedata.fetch.store import lock_path

    monkeypatch.setenv("KAGGLE_API_TOKEN", "test-token")
    m = kaggle_manifest(manifest_dir)
    fetch_dataset(m)
    lock = json.loads(lock_path().read_text())
    lock["datasets"]["ks"]["kaggle"]["version"] = "../../x"
    lock_path().write_text(json.dumps(lock))
    with pytest.raises(FetchError, match="not a version number"):
        fetch_dataset(m, force=True)
