"""`facedata live`: raw stdin frames, an HTTP stream, a fake camera, drops, tracking,
smoothing, the readout and the JSON lines' schema (docs/predict.md)."""

from __future__ import annotations

import io
import json
import re
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tests.helpers.cli import run_cli
from tests.helpers.extras import needs, optional
from tests.helpers.photos import face_variant
from tests.helpers.servers import serve_files

pytestmark = needs("torch", "onnxruntime", "av")
av = optional("av")

ROOT = Path(__file__).resolve().parents[2]


def _frames(n: int, size: tuple[int, int] = (640, 480)) -> list[np.ndarray]:
    return [np.asarray(face_variant(i % 4, size)) for i in range(n)]


def _mp4(path: Path, frames: list[np.ndarray], fps: int = 30) -> None:
    with av.open(str(path), "w", format="mp4") as c:
        stream = c.add_stream("mpeg4", rate=fps)
        stream.height, stream.width = frames[0].shape[:2]
        stream.pix_fmt = "yuv420p"
        for arr in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(arr, format="rgb24")):
                c.mux(packet)
        for packet in stream.encode():
            c.mux(packet)


def _schema() -> dict:
    text = (ROOT / "docs" / "predict.md").read_text()
    block = re.search(r"```json\n(.*?)```", text, re.S)
    assert block, "docs/predict.md lost its JSON schema"
    return json.loads(block.group(1))


def _check(line: dict) -> None:
    """The documented schema, checked with jsonschema, and the promises it cannot say."""
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.validate(line, _schema())
    for face in line["faces"]:
        assert sum(face["expression"].values()) == pytest.approx(1.0, abs=1e-4)
        assert face["verdict"] in ("SMILING", "SAFE")
    assert line["verdict"] == (line["faces"][0]["verdict"] if line["faces"] else "NO_FACE")


def test_raw_frames_on_stdin_drive_json_lines(tiny_model, tmp_path, capsys, monkeypatch):
    frames = _frames(3)
    raw = b"".join(f.tobytes() for f in frames) + b"\x00" * 100  # a torn last frame
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(raw)))
    res = run_cli(
        capsys, "live", str(tiny_model), "-", "--size", "640x480", "--every-frame", "--json"
    )
    assert res.code == 0, res.err
    lines = [json.loads(ln) for ln in res.out.splitlines()]
    assert [ln["frame"] for ln in lines] == [0, 1, 2]  # the torn tail is not a frame
    for ln in lines:
        _check(ln)
        assert ln["faces"], ln  # a real face in every frame
        assert ln["dropped"] == 0
    assert lines[0]["detected"] is True

    # bgr24 of the same frames reads the same faces; grey frames work too
    bgr = b"".join(f[:, :, ::-1].tobytes() for f in frames)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(bgr)))
    res = run_cli(
        capsys, "live", str(tiny_model), "-", "--size", "640x480", "--stdin-format", "bgr24",
        "--every-frame", "--json",
    )  # fmt: skip
    assert res.code == 0, res.err
    again = [json.loads(ln) for ln in res.out.splitlines()]
    assert [f["smile"] for ln in again for f in ln["faces"]] == [
        f["smile"] for ln in lines for f in ln["faces"]
    ]


def test_an_http_stream_drives_the_readout(tiny_model, tmp_path, capsys):
    clip = tmp_path / "call.mp4"
    _mp4(clip, _frames(20))
    with serve_files({"call.mp4": clip}) as base:
        res = run_cli(capsys, "live", str(tiny_model), f"{base}/call.mp4", "--max-frames", "8")
    assert res.code == 0, res.err
    lines = [json.loads(ln) for ln in res.out.splitlines()]  # piped: JSON lines
    assert 1 <= len(lines) <= 8
    for ln in lines:
        _check(ln)
    assert any(ln["faces"] for ln in lines)


def test_bad_sources_are_clean_errors(tiny_model, tmp_path, capsys):
    res = run_cli(capsys, "live", str(tiny_model), "-")
    assert res.code == 1 and "need their size" in res.err and "hint:" in res.err
    res = run_cli(capsys, "live", str(tiny_model), "-", "--size", "640x", "--json")
    assert res.code == 1 and "WIDTHxHEIGHT" in res.err
    res = run_cli(capsys, "live", str(tiny_model), "-", "--size", "64x64", "--stdin-format", "yuv")
    assert res.code == 1 and "rgb24" in res.err
    res = run_cli(capsys, "live", str(tiny_model), str(tmp_path / "none.mp4"))
    assert res.code == 1 and "cannot open" in res.err and "Traceback" not in res.err
    res = run_cli(capsys, "live", str(tmp_path / "nomodel"), "0")
    assert res.code == 1 and "no model at" in res.err


def test_a_slow_classifier_drops_frames_instead_of_queueing(tiny_model):
    from facedata.learn.predict import Model
    from facedata.learn.sources import FakeCamera
    from facedata.learn.stream import Classifier, LivePredictor, LiveSettings, run

    model = Model(tiny_model)
    real = Classifier(model)

    def slow(faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        time.sleep(0.06)  # 60 ms per frame against a 100 fps camera
        return real(faces)

    predictor = LivePredictor(model, LiveSettings(), classifier=slow)
    camera = FakeCamera(_frames(2), fps=100, count=60)
    results = list(run(camera, predictor))
    processed, dropped = len(results), results[-1].dropped
    assert processed + dropped == 60  # every frame either read or counted as dropped
    assert dropped >= 30 and processed >= 5
    assert [r.frame for r in results] == sorted(r.frame for r in results)
    # nothing queues: latency stays about one processing time, not growing with time
    assert max(r.latency_ms for r in results[1:]) < 250
    assert results[-1].latency_ms < 3 * 60 + 50


def test_tracking_keeps_ids_and_a_second_face_gets_its_own():
    from facedata.faces.detect import Detection
    from facedata.learn.track import Tracker

    def face(x: float, y: float = 100.0) -> Detection:
        pts = np.array([[x + 30, y + 40], [x + 70, y + 40], [x + 50, y + 60],
                        [x + 35, y + 80], [x + 65, y + 80]], dtype=np.float32)  # fmt: skip
        return Detection((x, y, x + 100, y + 120), 0.99, pts)

    t = Tracker()
    assert [tr.id for tr in t.update([face(100)])] == [1]
    t.step()
    t.step()
    tracks = t.update([face(130)])  # moved 30 px over 3 frames: same face, 10 px/frame
    assert [tr.id for tr in tracks] == [1]
    assert t.step()[0].box[0] == pytest.approx(140)  # carried at its velocity
    tracks = t.update([face(400), face(150)])  # a second face enters
    assert sorted(tr.id for tr in tracks) == [1, 2]
    assert next(tr for tr in tracks if tr.id == 1).box[0] == pytest.approx(150)
    t.update([face(400)])  # the first face left: kept for one missed detection...
    assert sorted(tr.id for tr in t.tracks) == [1, 2]
    t.update([face(400)])  # ...and gone after two
    assert [tr.id for tr in t.tracks] == [2]


def test_smoothing_and_hysteresis_do_not_flicker():
    from facedata.learn.stream import LiveSettings, Smoothed

    s = LiveSettings(threshold=0.8, time_constant=0.1, hysteresis=0.05)
    state, verdicts = Smoothed(), []
    expr = np.ones(8) / 8
    seq = [0.5] + [0.95] * 6 + [0.79, 0.81, 0.78, 0.8, 0.79, 0.77, 0.8] + [0.3] * 6
    for i, p in enumerate(seq):
        state.update(i / 30, p, expr, s)
        verdicts.append(state.smiling)
    assert verdicts[0] is False and True in verdicts
    first = verdicts.index(True)
    flips = sum(a != b for a, b in zip(verdicts, verdicts[1:], strict=False))
    assert flips == 2, verdicts  # on once, off once at the end: no flicker at 0.8
    assert all(verdicts[first:14])  # the wobble around 0.8 keeps SMILING
    # the smoothing follows time, not frames: a dropped-frame gap moves it further
    a, b = Smoothed(), Smoothed()
    a.update(0.0, 0.0, expr, s)
    b.update(0.0, 0.0, expr, s)
    a.update(1 / 30, 1.0, expr, s)
    b.update(5 / 30, 1.0, expr, s)
    assert b.smile > a.smile > 0


def test_the_terminal_readout_is_the_issued_block(tiny_model):
    from rich.console import Console

    from facedata.learn.readout import block, show_live
    from facedata.learn.stream import FaceResult, FrameResult

    names = ["neutral", "happy", "sad", "surprise", "fear", "disgust", "anger", "contempt"]
    probs = dict(zip(names, [0.0547, 0.9, 0.0005, 0.0002, 0.0, 0.0032, 0.0003, 0.0], strict=True))
    face = FaceResult(1, [0, 0, 10, 10], 0.9411, probs, 0.9411, probs, "SMILING")
    r = FrameResult(3, 0.1, True, [face], 4.0, 3.0, 7, {"fps": 61.0, "p50_ms": 3, "p95_ms": 9})
    lines = block(r, 0.8)
    assert lines[0] == "[live expression readout]"
    assert lines[1] == "smile:     94.11% ███████████████████   ← threshold 0.80"
    assert lines[2] == "neutral:    5.47% █"
    assert "verdict: SMILING (above threshold)" in lines
    assert lines[-1].startswith("61.0 frames/s") and "dropped 7" in lines[-1]
    safe = FaceResult(1, [0, 0, 10, 10], 0.3, probs, 0.3, probs, "SAFE")
    assert "verdict: SAFE (below threshold)" in block(
        FrameResult(4, 0.2, False, [safe], 1, 1, 0), 0.8
    )
    out = io.StringIO()
    show_live([r], 0.8, Console(file=out, force_terminal=True, width=80))
    assert "SMILING (above threshold)" in out.getvalue()


def test_a_file_plays_at_its_own_pace(tiny_model, tmp_path, capsys):
    clip = tmp_path / "clip.mp4"
    _mp4(clip, _frames(15), fps=30)  # half a second
    started = time.monotonic()
    res = run_cli(capsys, "live", str(tiny_model), str(clip), "--json")
    took = time.monotonic() - started
    assert res.code == 0, res.err
    lines = [json.loads(ln) for ln in res.out.splitlines()]
    assert took >= 0.4  # not decoded as fast as possible
    times = [ln["time"] for ln in lines]
    assert times == sorted(times) and times[-1] == pytest.approx(14 / 30, abs=0.01)
    assert len(lines) + lines[-1]["dropped"] == 15
    assert f"{len(lines)} frames processed, {lines[-1]['dropped']} dropped" in res.err
