"""Commands run one after another from inside the demo folder, as a user would."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.helpers.cli import run_cli


@pytest.fixture
def demo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FACEDATA_HOME", str(tmp_path / "user-cache"))
    monkeypatch.delenv("FACEDATA_MANIFESTS", raising=False)
    res = run_cli(capsys, "demo")
    assert res.code == 0, res.err
    folder = tmp_path / "facedata-demo"
    monkeypatch.delenv("FACEDATA_HOME")
    monkeypatch.chdir(folder)
    return folder


def test_the_recipe_rebuilds_from_inside_the_demo_folder(demo, capsys):
    # the recipe names the project's manifest folder by its absolute path and the
    # folder's facedata.toml names it again: one folder, not a duplicate id
    res = run_cli(capsys, "forget", "--subject", "P01")
    assert res.code == 0, res.err
    res = run_cli(capsys, "build", "corpus/recipe.yaml")
    assert res.code == 0, res.err
    assert "duplicate dataset id" not in res.err
    assert "withdrawn (erasure ledger) 3" in res.out


def test_forget_without_paths_marks_a_model_trained_on_a_copy_under_another_home(
    demo, tmp_path, capsys, monkeypatch
):
    pytest.importorskip("torch")
    elsewhere = tmp_path / "elsewhere"
    shutil.copytree(demo / "corpus", elsewhere / "corpus")
    monkeypatch.setenv("FACEDATA_HOME", str(tmp_path / "second-home"))
    monkeypatch.chdir(elsewhere)
    res = run_cli(capsys, "train", "corpus", "--out", "m", "--epochs", "1", "--width", "4")
    assert res.code == 0, res.err
    # this home built no corpus, but a model here learnt from P04: forget must mark it
    res = run_cli(capsys, "forget", "--subject", "P04")
    assert res.code == 0, res.err
    assert "marked for retraining" in res.out
    res = run_cli(capsys, "models", "--json")
    assert res.code == 0, res.err
    [model] = json.loads(res.out)["models"]
    assert [m["subject_id"] for m in model["marks"]] == ["P04"]


def test_a_repeated_forget_marks_a_model_once(demo, capsys):
    pytest.importorskip("torch")
    res = run_cli(capsys, "train", "corpus", "--out", "m", "--epochs", "1", "--width", "4")
    assert res.code == 0, res.err
    for _ in range(2):
        res = run_cli(capsys, "forget", "--subject", "P02")
        assert res.code == 0, res.err
    res = run_cli(capsys, "models", "--json")
    [model] = json.loads(res.out)["models"]
    assert [m["subject_id"] for m in model["marks"]] == ["P02"]
    res = run_cli(capsys, "models")
    assert "RETRAIN (1 withdrawal(s))" in res.out


def test_predict_warns_once_per_withdrawn_subject(demo, capsys):
    pytest.importorskip("torch")
    res = run_cli(capsys, "train", "corpus", "--out", "m", "--epochs", "1", "--width", "4")
    assert res.code == 0, res.err
    res = run_cli(capsys, "forget", "--subject", "P02")
    assert res.code == 0, res.err
    # a folder marked twice for one subject (as an older facedata wrote a repeated forget)
    marks_file = demo / "m" / "MARKS.json"
    marks = json.loads(marks_file.read_text())["marks"]
    marks_file.write_text(json.dumps({"marks": [*marks, {**marks[0], "when": "2026-01-01"}]}))
    res = run_cli(capsys, "predict", "m", "own-data/images/P01_01.jpg")
    assert res.code == 0, res.err
    assert res.err.count("subject P02, who withdrew") == 1


def test_the_consent_register_path_says_what_it_is_relative_to(demo, capsys):
    # run from the project folder, a bare `../own-data/consent.csv` points outside it
    res = run_cli(capsys, "build", "--datasets", "own-data", "--out", "own")
    assert res.code == 0, res.err
    assert "consent register (../own-data/consent.csv, relative to its manifest)" in res.out
