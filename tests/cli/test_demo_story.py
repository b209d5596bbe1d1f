"""The demo's compliance story, walked as its closing list says, from inside its folder.

Its own-data participants: P01 consents to everything, P02 to research only, P03
withdraws after the build, P04 gave no publication consent. The commercial corpus
admits only who may be admitted; `forget` and a commercial rebuild then leave P03 out,
with no FACEDATA_HOME exported: the folder's facedata.toml points at its cache.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from facedata.demo import DATASET_ID, OWN_ID
from facedata.project import MARKER, find_project
from tests.helpers.cli import run_cli


def _subjects(corpus: Path) -> set[str]:
    rows = pq.read_table(corpus / "data", columns=["subject_id", "dataset"]).to_pylist()
    return {r["subject_id"] for r in rows if r["dataset"] == OWN_ID}


@pytest.fixture
def demo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> Path:
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("FACEDATA_HOME", str(tmp_path / "user-cache"))
    monkeypatch.delenv("FACEDATA_MANIFESTS", raising=False)
    res = run_cli(capsys, "demo")
    assert res.code == 0, res.err
    # the summary says the counts once: no closing progress line repeating them
    counts = [ln.removesuffix("  (done)") for ln in res.out.splitlines() if "build: read" in ln]
    assert len(counts) == len(set(counts)) and not any(
        "(done)" in ln for ln in res.out.splitlines()
    )
    return work / "facedata-demo"


def test_the_closing_list_walks_forget_commercial_build_and_report(demo, capsys, monkeypatch):
    out = run_cli
    commercial = demo / "commercial"
    record = json.loads((commercial / "corpus.json").read_text())
    by = {d["dataset"]: d for d in record["decisions"]}
    assert not by[DATASET_ID]["admitted"] and by[OWN_ID]["admitted"]
    assert _subjects(commercial) == {"P01", "P03", "P04"}  # P02: research only
    assert {k: v["count"] for k, v in record["drops"].items()} == {
        f"{OWN_ID}: consent: no commercial scope": 3
    }
    assert _subjects(demo / "corpus") == {"P01", "P02", "P03", "P04"}
    consent = (demo / OWN_ID / "consent.csv").read_text().splitlines()
    assert consent[0].startswith("subject_id,scopes,signed,withdrawn")

    # from inside the folder, with no FACEDATA_HOME: its own cache
    monkeypatch.delenv("FACEDATA_HOME")
    monkeypatch.chdir(demo)
    user_home = demo.parent.parent / "user-cache"
    res = out(capsys, "inspect", OWN_ID)
    assert res.code == 0, res.err
    assert "subjects 4" in res.out
    # as the closing list says: the corpora named, so a moved demo folder works too
    res = out(
        capsys, "forget", "--subject", "P03", "--by", "dpo@example.org", "corpus", "commercial"
    )
    assert res.code == 0, res.err
    assert "P03" not in _subjects(commercial) | _subjects(demo / "corpus")
    res = out(
        capsys, "build", "--commercial", "--datasets", f"{DATASET_ID},{OWN_ID}",
        "--clearances", "clearances.yaml", "--out", "commercial", "--overwrite",
    )  # fmt: skip
    assert res.code == 0, res.err
    assert _subjects(commercial) == {"P01", "P04"}
    res = out(capsys, "report", "commercial")
    assert res.code == 0, res.err
    assert not user_home.exists()  # nothing went to the user's cache
    assert "FACEDATA_HOME" not in os.environ  # the CLI gave the environment back


def test_from_outside_the_hint_says_how_to_reach_its_cache(demo, capsys, monkeypatch):
    res = run_cli(capsys, "inspect", "facedata-demo")
    assert res.code != 0
    assert "cd facedata-demo" in res.err and str(demo / "cache") in res.err
    # the folder's hint leads: "run `facedata list`" would send the user the wrong way
    assert res.err.splitlines()[1].startswith("hint: facedata-demo is a project folder")
    # an id the demo declares, named from the folder above it
    res = run_cli(capsys, "inspect", OWN_ID)
    assert res.code != 0 and "declared by the project folder facedata-demo" in res.err
    assert "cd facedata-demo" in res.err
    # the hint's other way, followed literally, works: the cache alone would not do
    hint = next(ln for ln in res.err.splitlines() if "FACEDATA_HOME=" in ln)
    settings = dict(w.split("=", 1) for w in hint.split(", or set ")[1].split())
    assert set(settings) == {"FACEDATA_HOME", "FACEDATA_MANIFESTS"}
    for key, value in settings.items():
        monkeypatch.setenv(key, value)
    for dataset in (OWN_ID, DATASET_ID):
        res = run_cli(capsys, "inspect", dataset)
        assert res.code == 0, res.err


def test_a_moved_demo_folder_still_walks_its_closing_list(demo, capsys, monkeypatch):
    moved = demo.parent / "demo2"
    demo.rename(moved)
    monkeypatch.delenv("FACEDATA_HOME")
    monkeypatch.chdir(moved)
    assert run_cli(capsys, "inspect", OWN_ID).code == 0
    res = run_cli(capsys, "forget", "--subject", "P03", "--by", "dpo@example.org", "corpus")
    assert res.code == 0, res.err
    res = run_cli(
        capsys, "build", "--commercial", "--datasets", f"{DATASET_ID},{OWN_ID}",
        "--clearances", "clearances.yaml", "--out", "commercial", "--overwrite",
    )  # fmt: skip
    assert res.code == 0, res.err
    assert _subjects(moved / "commercial") == {"P01", "P04"}
    assert run_cli(capsys, "report", "commercial").code == 0


def test_the_id_hint_only_names_a_project_that_declares_the_id(tmp_path, monkeypatch, capsys):
    """No demo needed: a project folder is a marker and a manifests folder."""
    from facedata.project import dataset_hint, marker_text

    project = tmp_path / "proj"
    (project / "manifests").mkdir(parents=True)
    (project / MARKER).write_text(marker_text())
    (project / "manifests" / "mine.yaml").write_text("id: mine\n")
    assert "cd proj" in (dataset_hint(["other", "mine"], tmp_path) or "")
    assert dataset_hint(["other"], tmp_path) is None
    assert dataset_hint(["../proj/manifests/mine"], tmp_path) is None
    os.chmod(project / MARKER, 0o666)  # a marker anyone may write is never followed
    assert dataset_hint(["mine"], tmp_path) is None
    os.chmod(project / MARKER, 0o644)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FACEDATA_MANIFESTS", raising=False)
    monkeypatch.setenv("FACEDATA_HOME", str(tmp_path / "home"))
    res = run_cli(capsys, "inspect", "mine")
    assert res.code != 0 and "declared by the project folder proj" in res.err


def test_a_marker_is_read_only_in_its_own_folder_and_only_inside_it(tmp_path, monkeypatch):
    parent = tmp_path / "shared"
    (parent / "below").mkdir(parents=True)
    (parent / MARKER).write_text('home = "cache"\nmanifests = ["m"]\n')
    assert find_project(parent / "below") is None  # a parent's marker is never read
    assert find_project(parent).home == (parent / "cache").resolve()

    (parent / MARKER).write_text('home = "../elsewhere"\n')
    with pytest.raises(Exception, match="leaves the project folder"):
        find_project(parent)
    (parent / MARKER).write_text('home = "/etc"\n')
    with pytest.raises(Exception, match="leaves the project folder"):
        find_project(parent)

    (parent / "cache").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    (parent / MARKER).write_text('home = "cache"\n')  # a link out of the folder
    with pytest.raises(Exception, match="leaves the project folder"):
        find_project(parent)
    (parent / "cache").unlink()
    os.chmod(parent / MARKER, 0o666)  # anyone could have written it: ignored
    assert find_project(parent) is None


def test_an_explicit_facedata_home_wins_over_the_marker(demo, capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(demo)
    monkeypatch.delenv("FACEDATA_HOME")
    rows = json.loads(run_cli(capsys, "list", "--json").out)
    assert {r["id"]: r["fetched"] for r in rows}[DATASET_ID] == "demo"  # the folder's cache
    monkeypatch.setenv("FACEDATA_HOME", str(tmp_path / "explicit"))
    rows = json.loads(run_cli(capsys, "list", "--json").out)
    assert {r["id"]: r["fetched"] for r in rows}[DATASET_ID] is None  # the explicit one


def test_a_copied_project_folder_reaches_its_own_corpora_and_models(tmp_path, monkeypatch, capsys):
    """The registries of a project's cache hold absolute paths: `forget` run in a copy
    of the demo reached (and erased) the original folder's corpora and models."""
    import shutil

    from facedata.corpus.registry import read_registry, register
    from facedata.learn.registry import read_models
    from facedata.learn.registry import register as register_model
    from facedata.project import marker_text

    original = tmp_path / "facedata-demo"
    (original / "manifests").mkdir(parents=True)
    (original / MARKER).write_text(marker_text())
    (original / "corpus").mkdir()
    (original / "corpus" / "corpus.json").write_text(json.dumps({"id": "c-1"}))
    (original / "models" / "m").mkdir(parents=True)
    monkeypatch.setenv("FACEDATA_HOME", str(original / "cache"))
    register(original / "corpus", {"id": "c-1", "datasets": [{"id": "own-data"}]})
    keys = ("trained", "statement", "banner", "tier", "heads", "datasets", "corpus")
    register_model(
        original / "models" / "m",
        {**dict.fromkeys(keys, "x"), "subjects": {}, "clearances": []},
    )
    copy = tmp_path / "copy"
    shutil.copytree(original, copy)
    monkeypatch.setenv("FACEDATA_HOME", str(copy / "cache"))
    assert [r.path for r in read_registry()] == [(copy / "corpus").resolve()]
    assert [m["path"] for m in read_models()] == [str((copy / "models" / "m").resolve())]
    # through the CLI, from inside the copy with no FACEDATA_HOME: the copy's own
    monkeypatch.delenv("FACEDATA_HOME")
    monkeypatch.chdir(copy)
    listed = json.loads(run_cli(capsys, "corpora", "list", "--json").out)
    assert [(r["path"], r["state"]) for r in listed] == [(str((copy / "corpus").resolve()), "ok")]
    shutil.rmtree(copy / "corpus")  # gone from the copy: missing, never the original
    listed = json.loads(run_cli(capsys, "corpora", "list", "--json").out)
    assert [r["state"] for r in listed] == ["missing"]
    # the original still reaches its own
    monkeypatch.setenv("FACEDATA_HOME", str(original / "cache"))
    assert [r.path for r in read_registry()] == [(original / "corpus").resolve()]
