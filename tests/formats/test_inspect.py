"""`facedata inspect`: the library report and the command."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from facedata.cli import app
from facedata.errors import FacedataError
from facedata.manifest.catalog import Catalog
from facedata.read.survey import inspect_source
from tests.fixtures import layouts as L

from .conftest import manifest_for


def test_inspect_counts_classes_splits_and_drops(tmp_path: Path, taxonomy) -> None:
    exp = L.make_affectnet(tmp_path)
    report = inspect_source(manifest_for(exp), taxonomy, root=tmp_path)
    assert report.read == len(exp.samples)
    assert report.kept == len(exp.kept)
    assert report.splits == {"train": 9, "validation": 3}
    assert report.heads["expression"]["happy"] == 3
    assert report.by_split["validation"]["expression"] == {"neutral": 1, "happy": 1, "anger": 1}
    assert report.drops.by_reason() == dict(exp.remap_drops)
    data = report.to_dict()
    assert data["dropped"] == 4 and data["drops"]["total"] == 4
    json.dumps(data)


def test_inspect_derive_smile_is_flagged(tmp_path: Path, taxonomy) -> None:
    exp = L.make_fer2013(tmp_path)
    report = inspect_source(manifest_for(exp), taxonomy, root=tmp_path, derive_smile=True)
    assert report.smile_derived == sum(1 for s in exp.kept.values() if s.expression != "surprise")
    assert report.heads["smile"]["1"] == sum(s.expression == "happy" for s in exp.kept.values())


def test_inspect_without_root_or_fetch_says_what_to_do(
    tmp_path: Path, taxonomy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FACEDATA_HOME", str(tmp_path / "home"))
    manifest = Catalog.load([]).get("genki4k")
    with pytest.raises(FacedataError) as err:
        inspect_source(manifest, taxonomy)
    assert "facedata fetch genki4k" in (err.value.hint or "")


def test_inspect_cli(tmp_path: Path) -> None:
    exp = L.make_smilesmiled(tmp_path)
    runner = CliRunner()
    result = runner.invoke(app, ["inspect", "smilesmiled", "--root", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "conflicting duplicate" in result.output and "read 8, kept 8, dropped 4" in result.output
    assert "smile per class" in result.output
    as_json = runner.invoke(app, ["inspect", "smilesmiled", "--root", str(tmp_path), "--json"])
    data = json.loads(as_json.output)
    assert data["heads"]["smile"] == {"0": 4, "1": 4}
    assert data["drops"]["drops"][0]["reason"] == "conflicting duplicate"
    assert data["drops"]["total"] == sum(exp.reader_drops.values())
