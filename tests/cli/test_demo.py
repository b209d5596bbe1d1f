"""`facedata demo`: a new user's first command, offline, in a fresh folder."""

from __future__ import annotations

import json
import tarfile
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from facedata.demo import DATASET_ID, LFW_SMILES, OWN_ID, TAR_NAME
from facedata.manifest.catalog import Catalog
from tests.cli.conftest import snapshot
from tests.helpers.cli import run_cli


@pytest.fixture
def user(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh working folder, with a user cache the demo must leave alone."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("FACEDATA_HOME", str(tmp_path / "user-cache"))
    monkeypatch.delenv("FACEDATA_MANIFESTS", raising=False)
    return work


def test_demo_builds_a_real_corpus_and_report_in_a_fresh_folder(user, capsys):
    res = run_cli(capsys, "demo")
    assert res.code == 0, res.err
    root = user / "facedata-demo"
    corpus = root / "corpus"
    record = json.loads((corpus / "corpus.json").read_text())

    # the sample is GENKI-4K's native layout: a tar with GENKI4K/files + labels.txt
    with tarfile.open(root / TAR_NAME) as tf:
        names = tf.getnames()
        labels = tf.extractfile("GENKI4K/labels.txt").read().decode().splitlines()
    images = sorted(n for n in names if n.startswith("GENKI4K/files/"))
    assert images == [f"GENKI4K/files/file{n:04d}.jpg" for n in range(1, 103)]
    assert len(labels) == 102
    assert all(len(line.split()) == 4 for line in labels)
    smiles = [line.split()[0] for line in labels]
    expected_smiles = LFW_SMILES.count("1") + 1  # the astronaut smiles, Grace Hopper does not
    assert smiles == ["1"] * expected_smiles + ["0"] * (102 - expected_smiles)  # sorted, like GENKI

    # its own manifest, which says what it is and under which terms
    manifest = Catalog.load([root / "manifests"]).get(DATASET_ID)
    assert manifest.license.tier == "unknown"
    assert "illustrative" in manifest.description
    assert "research" in manifest.license.notes

    # a real corpus: every row read, aligned, labelled as the sample says
    rows = pq.read_table(corpus / "data").to_pylist()
    # the sample's 102 rows plus the own-data participants' 12 (both heads, subject ids)
    assert record["counts"]["read"] == 102 + 12
    sample = [r for r in rows if r["dataset"] == DATASET_ID]
    assert len(rows) == record["counts"]["total"] > 90 + 12
    assert Counter(r["smile"] for r in sample)[1] <= expected_smiles
    assert {r["dataset"] for r in rows} == {DATASET_ID, OWN_ID}
    own = [r for r in rows if r["dataset"] == OWN_ID]
    assert {r["subject_id"] for r in own} == {"P01", "P02", "P03", "P04"}
    assert all(r["expression"] >= 0 and r["smile"] >= 0 for r in own)  # both heads
    assert all(r["align_status"] in ("detected", "multiple_faces", "whole_frame") for r in rows)
    assert record["datasets"][0]["inputs"][0]["name"] == TAR_NAME
    assert (corpus / "report.html").stat().st_size > 10_000
    assert "Non-commercial research only" in (corpus / "report.html").read_text()

    # what was made and what to do next
    for words in (
        "demo corpus built",
        str(corpus / "report.html"),
        "facedata fetch genki4k",
        "facedata build --datasets genki4k",
        "illustrative",
    ):
        assert words in res.out, words
    # the user's own cache was never touched
    assert not (user.parent / "user-cache").exists()

    # again over it: refused, then replaced with --overwrite (read-only cache blobs too)
    again = run_cli(capsys, "demo")
    assert again.code == 1 and "--overwrite" in again.err
    again = run_cli(capsys, "demo", "--overwrite")
    assert again.code == 0, again.err
    assert json.loads((corpus / "corpus.json").read_text())["counts"] == record["counts"]


def test_demo_refuses_a_folder_that_holds_other_files(user, capsys):
    (user / "mine").mkdir()
    (user / "mine" / "notes.txt").write_text("keep me")
    before = snapshot(user / "mine")
    res = run_cli(capsys, "demo", "--out", "mine")
    assert res.code == 1
    assert "not empty" in res.err and "--out" in res.err
    assert snapshot(user / "mine") == before


def test_demo_refuses_an_earlier_demo_without_overwrite(user, capsys):
    root = user / "d"
    root.mkdir()
    (root / "demo.json").write_text("{}")
    res = run_cli(capsys, "demo", "--out", "d")
    assert res.code == 1
    assert "earlier demo" in res.err and "--overwrite" in res.err
    assert (root / "demo.json").read_text() == "{}"


def test_list_shows_what_is_fetched(user, world, capsys, monkeypatch):
    res = run_cli(capsys, "list", "--json")
    assert all(r["fetched"] is None for r in json.loads(res.out))  # the empty user cache
    assert "nothing fetched yet" in run_cli(capsys, "list").out

    monkeypatch.setenv("FACEDATA_HOME", str(world.home))
    rows = json.loads(run_cli(capsys, "list", "--json", "--manifests", str(world.manifests)).out)
    fetched = {r["id"]: r["fetched"] for r in rows}
    assert fetched.pop(DATASET_ID) == "demo"
    assert set(fetched.values()) == {None}
    table = run_cli(capsys, "list", "--manifests", str(world.manifests)).out
    assert "nothing fetched yet" not in table
