"""Erasure against a model in the making, and against a corpus that vouches for itself.

A `forget` that runs while `train` is running must still reach the model, and a copy
made before an erasure must not pass as one built after it by editing its `created`.
Everything runs through the real CLI; the race is made deterministic by running the
withdrawal at the two moments that matter.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

import facedata.consent.forget as forget_module
from tests.helpers.cli import run_cli
from tests.helpers.corpus import aligned_face, make_corpus
from tests.helpers.extras import needs

pytestmark = needs("torch", "onnxruntime")

FAST = ("--epochs", "1", "--batch-size", "8", "--width", "4", "--threads", "1")
SUBJECT = "smiles-s1"  # has train rows in the fixture corpus


def _train(capsys, corpus: Path, out: Path):
    return run_cli(capsys, "train", str(corpus), "--out", str(out), *FAST)


def test_a_withdrawal_during_training_stops_the_model_being_written(tmp_path, capsys, monkeypatch):
    corpus = tmp_path / "c"
    make_corpus(corpus, n=24, size=32)
    from facedata.learn import train as train_module

    real = train_module.model_terms

    def forget_while_training(*args, **kwargs):  # the loop has run: the weights hold P
        forget_module.forget(SUBJECT, [corpus])
        return real(*args, **kwargs)

    monkeypatch.setattr(train_module, "model_terms", forget_while_training)
    res = _train(capsys, corpus, tmp_path / "m")
    assert res.code != 0 and "Traceback" not in res.err
    assert SUBJECT in res.err and "withdrew while this model trained" in res.err
    assert not (tmp_path / "m").exists()
    monkeypatch.setattr(train_module, "model_terms", real)
    assert _train(capsys, corpus, tmp_path / "m").code == 0  # the erased corpus trains


def test_a_withdrawal_as_the_model_is_registered_still_marks_it(tmp_path, capsys, monkeypatch):
    corpus = tmp_path / "c"
    make_corpus(corpus, n=24, size=32)
    out = tmp_path / "m"
    from facedata.learn import train as train_module

    real = train_module.register_model

    def forget_then_register(*args, **kwargs):  # forget marks the registry first
        record = forget_module.forget(SUBJECT, [corpus])
        assert record["models"] == []  # the new model is not registered yet
        return real(*args, **kwargs)

    monkeypatch.setattr(train_module, "register_model", forget_then_register)
    res = _train(capsys, corpus, out)
    assert res.code != 0 and "Traceback" not in res.err
    assert SUBJECT in res.err and "retrain" in res.err
    marks = json.loads((out / "MARKS.json").read_text())["marks"]
    assert [m["subject_id"] for m in marks] == [SUBJECT]
    listed = json.loads(run_cli(capsys, "models", "--json").out)["models"]
    assert [m["subject_id"] for m in listed[0]["marks"]] == [SUBJECT]
    # a second withdrawal of the same person marks once more, never twice for one
    assert run_cli(capsys, "forget", "--subject", "smiles-s2", str(corpus)).code == 0
    listed = json.loads(run_cli(capsys, "models", "--json").out)["models"]
    assert [m["subject_id"] for m in listed[0]["marks"]] == [SUBJECT, "smiles-s2"]


def test_a_pre_erasure_copy_with_a_forged_created_is_refused(tmp_path, capsys):
    corpus = tmp_path / "c"
    make_corpus(corpus, n=24, size=32)
    copy = tmp_path / "copy"
    shutil.copytree(corpus, copy)
    assert run_cli(capsys, "forget", "--subject", SUBJECT, str(corpus)).code == 0
    record = json.loads((copy / "corpus.json").read_text())
    record["created"] = "2099-01-01T00:00:00+00:00"  # "built after the withdrawal"
    (copy / "corpus.json").write_text(json.dumps(record))
    res = _train(capsys, copy, tmp_path / "m")
    assert res.code != 0 and "Traceback" not in res.err
    assert SUBJECT in res.err and "forget --subject" in res.err
    assert not (tmp_path / "m").exists()


def test_a_withdrawal_in_the_same_second_as_training_is_flagged(tmp_path, capsys, monkeypatch):
    corpus = tmp_path / "c"
    make_corpus(corpus, n=24, size=32)
    out = tmp_path / "m"
    assert _train(capsys, corpus, out).code == 0
    text = (out / "README.md").read_text(encoding="utf-8")
    trained = re.search(r"^    trained: '([^']+)'", text, re.M).group(1)
    other = tmp_path / "other-home"  # the model came from elsewhere: only the ledger knows
    other.mkdir()
    monkeypatch.setenv("FACEDATA_HOME", str(other))
    line = {"subject_id": SUBJECT, "dataset": None, "by": "dpo", "when": trained, "reason": "r"}
    (other / "erasure-log.jsonl").write_text(json.dumps(line) + "\n")
    face = tmp_path / "face.png"
    aligned_face(3, 32).save(face)
    res = run_cli(capsys, "predict", str(out), str(face), "--whole-frame")
    assert res.code == 0 and "warning" in res.err and SUBJECT in res.err


@pytest.mark.parametrize("target", ["folder", "model.onnx"])
def test_terms_edited_inside_a_registered_model_are_not_what_predict_states(
    tmp_path, capsys, target
):
    onnx = pytest.importorskip("onnx")
    corpus = tmp_path / "c"
    make_corpus(corpus, n=24, size=32)
    out = tmp_path / "m"
    assert _train(capsys, corpus, out).code == 0
    model = onnx.load(str(out / "model.onnx"))
    for prop in model.metadata_props:
        if prop.key == "facedata.terms":
            terms = json.loads(prop.value)
            terms.update(banner="commercial use allowed", statement="Commercial use allowed.")
            prop.value = json.dumps(terms)
    onnx.save(model, str(out / "model.onnx"))
    (out / "README.md").unlink()  # no card beside it to check the file against
    face = tmp_path / "face.png"
    aligned_face(3, 32).save(face)
    path = out if target == "folder" else out / "model.onnx"
    res = run_cli(capsys, "predict", str(path), str(face), "--whole-frame")
    assert res.code == 0, res.err
    assert res.err.startswith("terms: research only") and "commercial use allowed" not in res.err
    assert "recorded" in res.err
    res = run_cli(capsys, "predict", str(path), str(face), "--whole-frame", "--json")
    body = json.loads(res.out)["model"]
    assert body["banner"].startswith("terms: research only")
    assert any("registry" in w for w in body["warnings"])


def test_a_model_trained_under_another_home_on_a_pre_erasure_copy_is_flagged(
    tmp_path, capsys, monkeypatch
):
    corpus = tmp_path / "c"
    make_corpus(corpus, n=24, size=32)
    copy = tmp_path / "copy"
    shutil.copytree(corpus, copy)
    assert run_cli(capsys, "forget", "--subject", SUBJECT, str(corpus)).code == 0
    monkeypatch.setenv("FACEDATA_HOME", str(tmp_path / "elsewhere"))  # never heard of it
    out = tmp_path / "m"
    assert _train(capsys, copy, out).code == 0
    monkeypatch.setenv("FACEDATA_HOME", str(tmp_path / "home"))  # the home that forgot
    face = tmp_path / "face.png"
    aligned_face(3, 32).save(face)
    res = run_cli(capsys, "predict", str(out), str(face), "--whole-frame")
    assert res.code == 0 and "warning" in res.err and SUBJECT in res.err


def test_a_dataset_withdrawal_covering_the_models_copy_of_the_images_is_flagged(
    tmp_path, capsys, monkeypatch
):
    corpus = tmp_path / "c"
    make_corpus(corpus, n=24, size=32)  # its `smiles` rows are a copy of `smiles-orig`
    out = tmp_path / "m"
    assert _train(capsys, corpus, out).code == 0
    other = tmp_path / "other-home"
    other.mkdir()
    monkeypatch.setenv("FACEDATA_HOME", str(other))
    line = {
        "subject_id": SUBJECT,
        "dataset": "smiles-orig",
        "copies": ["smiles"],
        "by": "dpo",
        "when": "2099-01-01T00:00:00+00:00",
        "reason": "consent withdrawn",
    }
    (other / "erasure-log.jsonl").write_text(json.dumps(line) + "\n")
    face = tmp_path / "face.png"
    aligned_face(3, 32).save(face)
    res = run_cli(capsys, "predict", str(out), str(face), "--whole-frame")
    assert res.code == 0 and "withdrew" in res.err and SUBJECT in res.err
    line.update(dataset="unrelated", copies=["also-unrelated"])
    (other / "erasure-log.jsonl").write_text(json.dumps(line) + "\n")
    res = run_cli(capsys, "predict", str(out), str(face), "--whole-frame")
    assert res.code == 0 and "withdrew" not in res.err and SUBJECT not in res.err


def test_a_model_marked_for_a_withdrawal_is_not_exported(tmp_path, capsys):
    corpus = tmp_path / "c"
    make_corpus(corpus, n=24, size=32)
    out = tmp_path / "m"
    assert _train(capsys, corpus, out).code == 0
    res = run_cli(capsys, "export", str(out), "--out", str(tmp_path / "app"))
    assert res.code == 0, res.err
    warnings = json.loads((tmp_path / "app" / "facedata-export.json").read_text())["warnings"]
    assert not any("withdrew" in w for w in warnings)  # (the tiny model learnt nothing)
    assert run_cli(capsys, "forget", "--subject", SUBJECT, str(corpus)).code == 0
    for target in (out, out / "model.onnx", out / "model.pt"):
        res = run_cli(capsys, "export", str(target), "--out", str(tmp_path / "app2"))
        assert res.code != 0 and "Traceback" not in res.err, res.err
        assert SUBJECT in res.err and "retrain" in res.err
        assert not (tmp_path / "app2").exists()
    assert _train(capsys, corpus, out).code == 0  # retrained on the erased corpus
    assert run_cli(capsys, "export", str(out), "--out", str(tmp_path / "app2")).code == 0


def test_live_states_the_terms_and_warns_of_a_withdrawal(tmp_path, capsys, monkeypatch):
    import io
    import sys

    import numpy as np

    corpus = tmp_path / "c"
    make_corpus(corpus, n=24, size=32)
    out = tmp_path / "m"
    assert _train(capsys, corpus, out).code == 0
    assert run_cli(capsys, "forget", "--subject", SUBJECT, str(corpus)).code == 0
    frame = np.zeros((32, 32, 3), np.uint8).tobytes()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(frame * 2)))
    res = run_cli(capsys, "live", str(out), "-", "--size", "32x32", "--every-frame", "--json")
    assert res.code == 0, res.err
    assert res.err.startswith("terms: research only") and "WIDER FACE" in res.err
    assert "warning" in res.err and SUBJECT in res.err
    assert all(json.loads(line) for line in res.out.splitlines())  # stdout keeps its shape
