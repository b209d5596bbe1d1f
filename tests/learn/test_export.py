"""`facedata export`: the folder runs without facedata and reproduces `facedata live`."""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.helpers.cli import run_cli
from tests.helpers.extras import needs, optional
from tests.helpers.photos import face_variant

pytestmark = needs("torch", "onnx", "onnxruntime")
onnx = optional("onnx")

ROOT = Path(__file__).resolve().parents[2]
RUNNER = """
import runpy, sys
from tests.helpers.extras import needs, optional
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
assert not [m for m in sys.modules if m.split(".")[0] == "facedata"], "imported facedata"
"""


def _reference_loop(tmp_path: Path) -> Path:
    text = (ROOT / "docs" / "export.md").read_text()
    code = re.search(r"```python\n(.*?)```", text, re.S)
    assert code, "docs/export.md lost its reference loop"
    path = tmp_path / "reference.py"
    path.write_text(code.group(1))
    return path


def _iou(a: list[float], b: list[float]) -> float:
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - w * h
    return w * h / union


def test_the_reference_loop_reproduces_live_without_facedata(
    tiny_model, tmp_path, capsys, monkeypatch
):
    out = tmp_path / "app"
    res = run_cli(capsys, "export", str(tiny_model), "--out", str(out), "--detect-every", "1")
    assert res.code == 0, res.err
    assert "terms unknown" not in res.out  # `train` wrote the model's terms into it
    assert sorted(p.name for p in out.iterdir()) == [
        "README.md", "classifier.onnx", "detector.onnx", "facedata-export.json",
    ]  # fmt: skip
    spec = json.loads((out / "facedata-export.json").read_text())
    statement = json.loads((tiny_model / "metrics.json").read_text())["terms"]["statement"]
    assert spec["terms"].get("known") is not False and spec["terms"]["statement"] == statement
    assert (out / "README.md").read_text() == (tiny_model / "README.md").read_text()
    assert spec["preprocessing"]["size"] == 32 and len(spec["preprocessing"]["template"]) == 5
    assert spec["labels"]["expression"][-1] == "contempt"
    assert spec["smoothing"]["kind"] == "ema" and 0 <= spec["threshold"] <= 1

    frames = [np.asarray(face_variant(i, (640, 480))) for i in range(3)]
    raw = tmp_path / "frames.rgb"
    raw.write_bytes(b"".join(f.tobytes() for f in frames))
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(raw.read_bytes())))
    res = run_cli(
        capsys, "live", str(tiny_model), "-", "--size", "640x480", "--every-frame",
        "--detect-every", "1", "--json",
    )  # fmt: skip
    assert res.code == 0, res.err
    live = [json.loads(ln) for ln in res.out.splitlines()]

    ref = subprocess.run(
        [sys.executable, "-c", RUNNER, str(_reference_loop(tmp_path)), str(out), str(raw),
         "640x480"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert ref.returncode == 0, ref.stderr
    theirs = [json.loads(ln) for ln in ref.stdout.splitlines()]
    assert len(theirs) == len(live) == 3
    compared = 0
    for mine, other in zip(live, theirs, strict=True):
        seen = [f for f in mine["faces"] if f["age"] == 0]  # not carried by the tracker
        assert len(seen) == len(other["faces"]) >= 1
        for face in seen:
            match = max(other["faces"], key=lambda f: _iou(face["box"], f["box"]))
            assert _iou(face["box"], match["box"]) > 0.99
            assert face["smile"] == pytest.approx(match["smile"], abs=1e-5)
            for name, p in face["expression"].items():
                assert p == pytest.approx(match["expression"][name], abs=1e-5)
            compared += 1
    assert compared >= 3


def test_terms_travel_and_folders_are_not_clobbered(tiny_model, tmp_path, capsys):
    model = tmp_path / "m"
    shutil.copytree(tiny_model, model)  # a trained model, moved: its terms travel with it
    proto = onnx.load(str(model / "model.onnx"))
    terms = json.loads(next(p.value for p in proto.metadata_props if p.key == "facedata.terms"))
    res = run_cli(capsys, "export", str(model), "--out", str(tmp_path / "app"))
    assert res.code == 0, res.err
    spec = json.loads((tmp_path / "app" / "facedata-export.json").read_text())
    assert spec["terms"] == terms and spec["terms"]["statement"]
    assert (tmp_path / "app" / "README.md").read_text() == (model / "README.md").read_text()
    assert "terms unknown" not in res.out
    # an export folder is replaced; any other folder is refused untouched
    res = run_cli(capsys, "export", str(model), "--out", str(tmp_path / "app"))
    assert res.code == 0, res.err
    keep = tmp_path / "thesis"
    keep.mkdir()
    (keep / "draft.tex").write_text("precious")
    res = run_cli(capsys, "export", str(model), "--out", str(keep))
    assert res.code == 1 and "not a facedata export" in res.err and "hint:" in res.err
    assert (keep / "draft.tex").read_text() == "precious"
