"""Commands run one after another from inside the demo folder, as a user would."""

from __future__ import annotations

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
