"""What readers note about a sample reaches the corpus as columns: nothing is silent."""

from __future__ import annotations

import json

import pytest

from facedata.assemble.pipeline import build
from facedata.assemble.recipe import Recipe
from facedata.corpus import iter_rows
from facedata.fetch import fetch_dataset
from facedata.manifest.catalog import Catalog
from tests.fixtures import layouts


@pytest.fixture(scope="module")
def ckplus(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("flags")
    exp = layouts.make_ckplus(tmp / "src")
    # one frame whose landmark file is garbage: its face is detected instead, and says so
    bad = sorted((tmp / "src" / "Landmarks").rglob("S011_001_00000003_landmarks.txt"))[0]
    bad.write_text("not numbers\n")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FACEDATA_HOME", str(tmp / "home"))
        fetch_dataset(Catalog.load().get("ckplus"), from_path=tmp / "src")
        out = tmp / "out"
        corpus = build(Recipe(datasets=["ckplus"], out=out))
        yield {"out": out, "corpus": corpus, "exp": exp}


def test_convention_labels_and_landmark_errors_are_columns(ckplus):
    cols = [
        "key",
        "expression",
        "label_by_convention",
        "landmarks_error",
        "source_extra",
        "align_status",
        "subject_id",
    ]
    rows = {r["key"]: r for r in iter_rows(ckplus["out"], cols)}
    first = [r for k, r in rows.items() if k.endswith("_00000001.png")]
    assert first and all(r["label_by_convention"] and r["expression"] == "neutral" for r in first)
    peaks = [r for r in rows.values() if not r["key"].endswith("_00000001.png")]
    assert peaks and not any(r["label_by_convention"] for r in peaks)
    broken = rows["S011/001/S011_001_00000003.png"]
    assert broken["landmarks_error"] and broken["align_status"] in ("detected", "multiple_faces")
    assert all(r["landmarks_error"] is None for k, r in rows.items() if k != broken["key"])
    assert json.loads(broken["source_extra"]) == {"sequence": "S011/001"}
    flags = ckplus["corpus"]["counts"]["flags"]
    assert flags["label_by_convention"] == len(first) and flags["landmarks_error"] == 1
    # near-identical faces of subjects the dataset tells apart are all kept, labels intact
    dedup = ckplus["corpus"]["dedup"]
    assert dedup["near"] == 0 and dedup["conflicts"] == {}
    assert dedup["same_subject_kept"] + dedup["other_subject_kept"] > 0
    both = {r["subject_id"] for r in first} & {r["subject_id"] for r in peaks}
    assert {"S005", "S010", "S011"} <= both  # one person's neutral and peak frames, both kept
