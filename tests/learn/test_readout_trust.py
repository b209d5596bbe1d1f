"""`predict` and `live` agree on a model: the same threshold, the same stream path, and
the same warnings before any verdict (a model that learnt nothing says so)."""

from __future__ import annotations

import io
import json
import shutil
import sys

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.helpers.cli import run_cli
from tests.helpers.corpus import make_corpus
from tests.helpers.extras import needs
from tests.helpers.photos import face_variant

pytestmark = needs("torch", "onnxruntime")


def test_predict_defaults_to_the_threshold_live_and_export_use(tmp_path, capsys):
    make_corpus(tmp_path / "c", n=60, size=32)
    for path in (tmp_path / "c" / "data").glob("*.parquet"):  # smile labels on every row
        t = pq.read_table(path)
        smile = pa.array(np.arange(len(t)) % 2, pa.int64())
        pq.write_table(t.set_column(t.schema.get_field_index("smile"), "smile", smile), path)
    model = tmp_path / "m"
    res = run_cli(
        capsys, "train", str(tmp_path / "c"), "--out", str(model), "--epochs", "1",
        "--width", "4", "--batch-size", "8", "--threads", "1",
    )  # fmt: skip
    assert res.code == 0, res.err
    metrics = json.loads((model / "metrics.json").read_text())
    picked = metrics["trust"]["smile"]["picked_threshold"]
    assert picked is not None and round(picked, 2) != 0.8, "the corpus must pick a threshold"
    photo = tmp_path / "photo.png"
    face_variant(1, (240, 240)).save(photo)
    res = run_cli(capsys, "predict", str(model), str(photo))
    assert res.code == 0, res.err
    first = res.out.splitlines()[0]
    from facedata.learn.metrics import threshold_text

    assert first.rstrip().endswith(f"threshold {threshold_text(picked)}"), first
    smile = float(first.split()[1].rstrip("%")) / 100
    verdict = "SMILING (at or above" if smile >= picked else "NOT SMILING (below"
    assert res.out.splitlines()[-1].startswith(f"verdict: {verdict}")


def test_predict_on_raw_stdin_is_the_live_path_with_the_same_numbers(
    tiny_model, tmp_path, capsys, monkeypatch
):
    frame = np.asarray(face_variant(2, (320, 240)))
    photo = tmp_path / "frame.png"
    face_variant(2, (320, 240)).save(photo)
    res = run_cli(capsys, "predict", str(tiny_model), str(photo), "--json")
    assert res.code == 0, res.err
    still = json.loads(res.out)

    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(frame.tobytes() * 2)))
    res = run_cli(capsys, "predict", str(tiny_model), "-", "--size", "320x240", "--json")
    assert res.code == 0, res.err
    lines = [json.loads(ln) for ln in res.out.splitlines()]
    assert lines and lines[0]["schema"] == "facedata.live/1"
    face = lines[0]["faces"][0]
    assert face["smile"] == pytest.approx(still["smile"], abs=1e-4)
    for name, p in still["expression"].items():
        assert face["expression"][name] == pytest.approx(p, abs=1e-4)
    assert "frames processed" in res.err  # live's status line

    res = run_cli(capsys, "predict", str(tiny_model), "-")
    assert res.code == 1 and "--size WIDTHxHEIGHT" in res.err and "Traceback" not in res.err
    res = run_cli(capsys, "predict", str(tiny_model), "http://127.0.0.1:9/clip.mp4")
    assert res.code == 1 and "cannot open http://127.0.0.1:9/clip.mp4" in res.err


def test_live_states_the_terms_and_that_a_head_learnt_nothing(
    tiny_model, tmp_path, capsys, monkeypatch
):
    model = tmp_path / "m"
    shutil.copytree(tiny_model, model)
    metrics = json.loads((model / "metrics.json").read_text())
    metrics["trust"]["smile"].update(learnt=False, why="ROC AUC 0.500 is a coin toss")
    metrics["trust"]["expression"].update(learnt=True)
    (model / "metrics.json").write_text(json.dumps(metrics))
    frame = np.asarray(face_variant(2, (320, 240)))
    for command in ("live", "predict"):
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(frame.tobytes())))
        res = run_cli(capsys, command, str(model), "-", "--size", "320x240", "--json")
        assert res.code == 0, res.err
        assert "terms:" in res.err
        assert "training found the smile head no better than chance" in res.err
        assert "expression head no better" not in res.err
    photo = tmp_path / "frame.png"
    face_variant(2, (320, 240)).save(photo)
    res = run_cli(capsys, "predict", str(model), str(photo), "--json")
    warnings = json.loads(res.out)["model"]["warnings"]
    assert any("smile head no better than chance" in w for w in warnings)


def test_raw_frames_of_the_wrong_size_are_named_not_read_silently(tiny_model, capsys, monkeypatch):
    frame = np.asarray(face_variant(2, (320, 240)))
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(frame.tobytes() * 2)))
    res = run_cli(capsys, "live", str(tiny_model), "-", "--size", "321x240", "--json")
    assert res.code == 0, res.err
    assert "ended with 229680 bytes, not a whole 321x240 rgb24 frame" in res.err
    assert "check --size" in res.err

    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(frame.tobytes())))
    res = run_cli(capsys, "live", str(tiny_model), "-", "--size", "640x480", "--json")
    assert res.code == 1 and "gave no frames (standard input ended with 230400 bytes" in res.err
    assert "check --size and --stdin-format" in res.err and "Traceback" not in res.err


def test_threads_beyond_the_cpus_are_capped_not_started(tiny_model, capsys, monkeypatch):
    """`--threads 100000` used to start that many runtime threads and hang; the count is
    capped at the CPUs there are (one here, by monkeypatch) and said."""
    import os

    monkeypatch.setattr(os, "cpu_count", lambda: 1)
    frame = np.asarray(face_variant(2, (320, 240)))
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(frame.tobytes())))
    res = run_cli(
        capsys, "live", str(tiny_model), "-", "--size", "320x240", "--threads", "3", "--json"
    )
    assert res.code == 0, res.err
    assert "--threads 3 is more than the 1 CPUs here; using 1" in res.err
