"""No silent overwrite: the same build is "up to date", a different one needs --overwrite,
and a corpus is made of ordinary files the group can read."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from tests.cli.conftest import World, snapshot
from tests.helpers.cli import run_cli


@pytest.fixture
def built(world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> Path:
    monkeypatch.setenv("FACEDATA_HOME", str(world.home))
    monkeypatch.delenv("FACEDATA_MANIFESTS", raising=False)
    out = tmp_path / "corpus"
    res = run_cli(capsys, "build", str(world.recipe(tmp_path / "r.yaml", out)))
    assert res.code == 0, res.err
    assert f"facedata report {out}" in res.out  # the next step is named
    assert "funnel: 102 read" in res.out and "written" in res.out
    return out


def test_same_recipe_again_is_up_to_date(world: World, built: Path, capsys):
    before = snapshot(built)
    res = run_cli(capsys, "build", str(built / "recipe.yaml"))
    assert res.code == 0, res.err
    assert "up to date" in res.out
    assert snapshot(built) == before


def test_different_build_is_refused_without_overwrite(world: World, built: Path, capsys):
    before = snapshot(built)
    res = run_cli(capsys, "build", str(built / "recipe.yaml"), "--seed", "5")
    assert res.code == 1
    assert "already holds a corpus" in res.err and "--overwrite" in res.err
    assert "Traceback" not in res.err
    assert snapshot(built) == before


def test_overwrite_replaces_it(world: World, built: Path, capsys):
    res = run_cli(
        capsys,
        "build",
        str(built / "recipe.yaml"),
        "--seed",
        "5",
        "--overwrite",
        "--near-dup-distance",
        "0",
        "--image-format",
        "png",
        "--keep-unaligned",
        "--detector",
        "retinaface-mnet025",
    )
    assert res.code == 0, res.err
    recipe = json.loads((built / "corpus.json").read_text())["recipe"]
    assert recipe["seed"] == 5
    assert recipe["near_dup_distance"] == 0
    assert recipe["image_format"] == "png"
    assert recipe["keep_unaligned"] is True
    assert recipe["detector"] == "retinaface-mnet025"


def test_corpus_files_have_ordinary_permissions(
    world: World, tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("FACEDATA_HOME", str(world.home))
    old = os.umask(0o022)
    try:
        out = tmp_path / "corpus"
        res = run_cli(capsys, "build", str(world.recipe(tmp_path / "r.yaml", out)))
        assert res.code == 0, res.err
    finally:
        os.umask(old)
    modes = {
        p.relative_to(out).as_posix(): stat.S_IMODE(p.stat().st_mode)
        for p in [out, *out.rglob("*")]
    }
    assert modes["."] == 0o755
    bad = {
        name: oct(m)
        for name, m in modes.items()
        if m != (0o755 if (out / name).is_dir() else 0o644)
    }
    assert bad == {}
    assert "report.html" not in modes  # built without a report; `report` writes it later
