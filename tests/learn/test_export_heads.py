"""A smile-only model through `live`, `export` and the docs' reference loop, and an
export that carries every reason to doubt its model."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

from tests.helpers.cli import run_cli
from tests.helpers.corpus import make_corpus
from tests.helpers.extras import needs
from tests.helpers.photos import face_variant
from tests.learn.test_export import RUNNER, _iou, _reference_loop

pytestmark = needs("torch", "onnxruntime")


def test_a_smile_only_model_runs_live_and_its_export_reproduces_it(tmp_path, capsys, monkeypatch):
    make_corpus(tmp_path / "c", n=24, size=32)
    model = tmp_path / "m"
    res = run_cli(
        capsys, "train", str(tmp_path / "c"), "--out", str(model), "--epochs", "1",
        "--width", "4", "--batch-size", "8", "--threads", "1", "--heads", "smile",
    )  # fmt: skip
    assert res.code == 0, res.err

    frames = [np.asarray(face_variant(i, (320, 240))) for i in range(2)]
    raw = tmp_path / "frames.rgb"
    raw.write_bytes(b"".join(f.tobytes() for f in frames))
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(raw.read_bytes())))
    res = run_cli(
        capsys, "live", str(model), "-", "--size", "320x240", "--every-frame",
        "--detect-every", "1", "--json",
    )  # fmt: skip
    assert res.code == 0, res.err
    assert "Traceback" not in res.err
    live = [json.loads(ln) for ln in res.out.splitlines()]
    assert len(live) == 2 and all(ln["faces"] for ln in live)
    for face in (f for ln in live for f in ln["faces"]):
        assert face["expression"] == {} and 0 <= face["smile"] <= 1

    out = tmp_path / "app"
    res = run_cli(capsys, "export", str(model), "--out", str(out), "--detect-every", "1")
    assert res.code == 0, res.err
    spec = json.loads((out / "facedata-export.json").read_text())
    assert spec["classifier"]["heads"] == ["smile"]
    assert spec["classifier"]["outputs"] == ["smile (probability [N])"]
    ref = subprocess.run(
        [sys.executable, "-c", RUNNER, str(_reference_loop(tmp_path)), str(out), str(raw),
         "320x240"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert ref.returncode == 0, ref.stderr
    theirs = [json.loads(ln) for ln in ref.stdout.splitlines()]
    for mine, other in zip(live, theirs, strict=True):
        seen = [f for f in mine["faces"] if f["age"] == 0]  # not carried by the tracker
        assert len(seen) == len(other["faces"]) >= 1
        for a in seen:
            b = max(other["faces"], key=lambda f: _iou(a["box"], f["box"]))
            assert _iou(a["box"], b["box"]) > 0.99
            assert a["smile"] == pytest.approx(b["smile"], abs=1e-5)
            assert b["expression"] == {}


def test_an_export_carries_the_warnings_predict_prints(tiny_model, tmp_path, capsys):
    model = tmp_path / "m"
    shutil.copytree(tiny_model, model)
    metrics = json.loads((model / "metrics.json").read_text())
    metrics["trust"]["smile"].update(learnt=False, why="ROC AUC 0.500 is a coin toss")
    (model / "metrics.json").write_text(json.dumps(metrics))
    res = run_cli(capsys, "export", str(model), "--out", str(tmp_path / "app"))
    assert res.code == 0, res.err
    assert "terms:" in res.err and "smile head no better than chance" in res.err
    spec = json.loads((tmp_path / "app" / "facedata-export.json").read_text())
    assert any("smile head no better than chance" in w for w in spec["warnings"])


def test_an_export_at_full_size_reproduces_predict_on_a_photo(tiny_model, tmp_path, capsys):
    """`predict` detects on the whole image; an export with `--detect-side 0` does too,
    and then the reference loop gives predict's numbers for the same picture."""
    out = tmp_path / "app"
    res = run_cli(capsys, "export", str(tiny_model), "--out", str(out), "--detect-side", "0")
    assert res.code == 0, res.err
    photo, raw = tmp_path / "face.png", tmp_path / "face.rgb"
    face_variant(1, (640, 480)).save(photo)
    raw.write_bytes(np.asarray(face_variant(1, (640, 480))).tobytes())
    res = run_cli(capsys, "predict", str(tiny_model), str(photo), "--json")
    assert res.code == 0, res.err
    said = json.loads(res.out)
    ref = subprocess.run(
        [sys.executable, "-c", RUNNER, str(_reference_loop(tmp_path)), str(out), str(raw),
         "640x480"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert ref.returncode == 0, ref.stderr
    faces = json.loads(ref.stdout.splitlines()[0])["faces"]
    assert len(faces) == 1
    assert faces[0]["smile"] == pytest.approx(said["smile"], abs=1e-5)
    for name, p in said["expression"].items():
        assert faces[0]["expression"][name] == pytest.approx(p, abs=1e-5)
