"""Own recorded data end to end: videos + images, consent, commercial build, forget."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from facedata.assemble.pipeline import build
from facedata.assemble.recipe import Recipe
from facedata.consent.forget import erasure_log_path, forget
from facedata.consent.owndata import new_local_manifest
from facedata.corpus import iter_rows
from tests.helpers.cli import run_cli
from tests.helpers.media import write_video
from tests.helpers.photos import face_variant

BUILD_DAY = dt.date(2026, 11, 21)
CONSENT = """\
subject_id,scopes,signed,withdrawn
P001,research;commercial,2026-01-10,
P002,research,2026-01-11,
P003,research;commercial,2026-01-12,2026-06-01
P004,research;commercial,2026-01-13,2027-03-01
P006,research;commercial,yesterday,
"""
# RetinaFace learnt from WIDER FACE (research only): a commercial build needs this.
DETECTOR_CLEARANCE = """\
clearances:
  - detector: retinaface-mnet025
    cleared_by: Legal team
    evidence: WIDER FACE weights review WF-2026-2
    expires: 2099-12-31
"""


@pytest.fixture
def own(tmp_path, monkeypatch):
    monkeypatch.setenv("FACEDATA_HOME", str(tmp_path / "home"))
    rec = tmp_path / "recordings"
    write_video(rec / "videos" / "P001_a.mp4", 0)
    write_video(rec / "videos" / "P004_a.mp4", 100)
    write_video(rec / "videos" / "P005_a.mp4", 200, seconds=1.0)
    for sid, base in (("P002", 300), ("P003", 310), ("P006", 320)):
        img = rec / "images" / f"{sid}_0001.jpg"
        img.parent.mkdir(parents=True, exist_ok=True)
        face_variant(base, (200, 240)).save(img)
    (rec / "annotations.csv").write_text(
        "file,subject_id,start,end,smile,expression\n"
        "videos/P001_a.mp4,P001,0.0,2.0,1,happy\n"
        "videos/P001_a.mp4,P001,2.0,3.0,0,neutral\n"
        "videos/P004_a.mp4,P004,0.0,3.0,1,\n"
        "videos/P005_a.mp4,P005,0.0,1.0,0,\n"
        "images/P002_0001.jpg,P002,,,1,happy\n"
        "images/P003_0001.jpg,P003,,,0,sad\n"
        "images/P006_0001.jpg,P006,,,1,\n"
        "images/missing.jpg,P001,,,1,\n"
    )
    (rec / "consent.csv").write_text(CONSENT)
    manifests = tmp_path / "manifests"
    manifests.mkdir()
    new_local_manifest(rec, "own-data", out=manifests / "own-data.yaml")
    monkeypatch.setenv("FACEDATA_MANIFESTS", str(manifests))
    (tmp_path / "clearances.yaml").write_text(DETECTOR_CLEARANCE)
    return tmp_path


def rows(out: Path, cols=("subject_id", "smile", "expression", "key")) -> list[dict]:
    return list(iter_rows(out, cols))  # labels by name


def test_commercial_build_admits_only_consented_subjects(own):
    out = own / "out" / "commercial"
    c = build(
        Recipe(
            datasets=["own-data", "genki4k", "fer2013"],
            purpose="commercial",
            out=out,
            near_dup_distance=0,
            clearances=own / "clearances.yaml",
        ),
        today=BUILD_DAY,
    )
    by = {d["dataset"]: d for d in c["decisions"]}
    assert by["own-data"]["admitted"]
    assert not by["genki4k"]["admitted"] and "terms:" in by["genki4k"]["reason"]
    assert not by["fer2013"]["admitted"]
    got = rows(out)
    assert {r["subject_id"] for r in got} == {"P001", "P004"}
    # 2 fps: P001 has 4 frames in [0, 2) and 2 in [2, 3); P004 has 6
    assert sum(r["subject_id"] == "P001" for r in got) == 6
    assert sorted((r["smile"], r["expression"]) for r in got if r["subject_id"] == "P001") == (
        [(0, "neutral")] * 2 + [(1, "happy")] * 4
    )
    drops = {k: v["count"] for k, v in c["drops"].items()}
    assert drops["own-data: consent: no commercial scope"] == 1  # P002
    assert drops["own-data: consent: withdrawn"] == 1  # P003
    assert drops["own-data: consent: no record"] == 2  # P005's two sampled frames
    assert drops["own-data: consent: unparseable record"] == 1  # P006
    assert drops["own-data: missing image"] == 1
    summary = c["consent"]["own-data"]["subjects"]
    assert summary["consent: commercial granted"] == 2
    assert "P006" not in json.dumps(c["consent"]["own-data"]["subjects"])
    cached = own / "home" / "frames" / "own-data"
    # consent before pixels: P005 (no record) was never decoded nor cached
    assert {p.name for p in cached.iterdir()} == {"P001", "P004"}


def test_research_build_admits_research_consent(own):
    out = own / "out" / "research"
    build(Recipe(datasets=["own-data"], out=out, near_dup_distance=0), today=BUILD_DAY)
    assert {r["subject_id"] for r in rows(out)} == {"P001", "P002", "P004"}


def test_withdrawal_after_build_excludes_from_later_builds(own):
    later = dt.date(2027, 3, 1)
    out = own / "out" / "later"
    build(
        Recipe(
            datasets=["own-data"],
            purpose="commercial",
            out=out,
            near_dup_distance=0,
            clearances=own / "clearances.yaml",
        ),
        today=later,
    )
    assert {r["subject_id"] for r in rows(out)} == {"P001"}


def test_forget_removes_subject_end_to_end(own, capsys):
    outs = [own / "out" / "a", own / "out" / "b"]
    for o in outs:
        build(
            Recipe(
                datasets=["own-data"],
                purpose="commercial",
                out=o,
                near_dup_distance=0,
                clearances=own / "clearances.yaml",
            ),
            today=BUILD_DAY,
        )
    before = len(rows(outs[0]))
    res = run_cli(capsys, "forget", "--subject", "P004", "--by", "dpo@example.org", *map(str, outs))
    assert res.code == 0, res.err
    for o in outs:
        left = rows(o)
        assert "P004" not in {r["subject_id"] for r in left}
        assert len(left) == before - 6
        c = json.loads((o / "corpus.json").read_text())
        assert c["counts"]["total"] == len(left) == sum(s["rows"] for s in c["shards"])
        assert c["forgotten"][-1]["subject_id"] == "P004"
        assert c["forgotten"][-1]["rows_removed"] == 6
        assert c["forgotten"][-1]["by"] == "dpo@example.org"
        datasets = pytest.importorskip("datasets")
        ds = datasets.load_dataset("parquet", data_dir=str(o / "data"))
        assert sum(v.num_rows for v in ds.values()) == len(left)
    log = [json.loads(line) for line in erasure_log_path().read_text().splitlines()]
    assert log[-1]["subject_id"] == "P004" and set(log[-1]["corpora"].values()) == {6}
    assert not (own / "home" / "frames" / "own-data" / "P004").exists()
    assert (own / "home" / "frames" / "own-data" / "P001").exists()
    # a second request finds nothing more, and says so
    again = forget("P004", outs)
    assert set(again["corpora"].values()) == {0}


def test_forget_refuses_a_non_corpus(own, capsys):
    res = run_cli(capsys, "forget", "--subject", "P001", str(own))
    assert res.code == 1 and "not a facedata corpus" in res.err


def test_manifest_new_local_cli(own, capsys, tmp_path):
    out = tmp_path / "m.yaml"
    res = run_cli(
        capsys,
        "manifest",
        "new",
        "--local",
        str(own / "recordings"),
        "--id",
        "team",
        "--out",
        str(out),
    )
    assert res.code == 0, res.err
    assert run_cli(capsys, "manifest", "validate", str(out)).code == 0
    again = run_cli(
        capsys,
        "manifest",
        "new",
        "--local",
        str(own / "recordings"),
        "--id",
        "team",
        "--out",
        str(out),
    )
    assert again.code == 1 and "--force" in again.err
