"""A row merged from several sources carries the strictest tier and every license id.

One photo in a CC BY set and in a CC BY-NC set: the kept row takes the NC set's
label, so it must say non-commercial, whatever the set it was kept from allows.
"""

from __future__ import annotations

import shutil

import pyarrow.parquet as pq
import yaml

from facedata.assemble.dedup import Deduper
from facedata.consent.owndata import new_local_manifest


def _row(dataset: str, key: str, license_id: str, tier: str, **labels) -> dict:
    return {
        "dataset": dataset,
        "key": key,
        "sha256": "same-bytes",
        "phash": 1,
        "subject_id": None,
        "split": "train",
        "smile": labels.get("smile"),
        "expression": labels.get("expression"),
        "smile_derived": False,
        "license_id": license_id,
        "license_tier": tier,
    }


def _merge(d: Deduper, row: dict) -> dict:
    match = d.find(row["sha256"], row["phash"], row["dataset"], row["subject_id"])
    assert match is not None
    return d.merge(match, row)


def test_the_kept_row_takes_the_stricter_tier_of_a_source_whose_label_it_holds():
    d = Deduper(near_distance=0)
    d.add(_row("by", "a", "CC-BY-4.0", "commercial", smile=1))
    changes = _merge(d, _row("nc", "b", "CC-BY-NC-4.0", "noncommercial", expression="happy"))
    assert changes["expression"] == "happy"
    assert changes["license_tier"] == "noncommercial"
    assert changes["license_id"] == "CC-BY-4.0 AND CC-BY-NC-4.0"
    # a third, laxer copy neither loosens the tier nor repeats an id
    d2 = _row("by2", "c", "CC-BY-NC-4.0", "commercial", smile=1)
    assert "license_tier" not in _merge(d, {**d2, "smile": None, "expression": "happy"})


def test_a_copy_whose_labels_are_not_taken_changes_no_terms():
    d = Deduper(near_distance=0)
    d.add(_row("by", "a", "CC-BY-4.0", "commercial", smile=1, expression="happy"))
    assert _merge(d, _row("nc", "b", "CC-BY-NC-4.0", "noncommercial", smile=1)) == {}


def test_a_real_build_marks_the_merged_row(team):
    """Two own-recording sets holding the same photos; the second adds expression labels."""
    team.annotate(
        "videos/P001_a.mp4,P001,0.0,1.0,1,\n"
        "images/P002_0001.jpg,P002,,,1,\n"
        "images/P003_0001.jpg,P003,,,0,\n"
    )
    rec2 = team.root / "recordings-nc"
    shutil.copytree(team.rec, rec2)
    (rec2 / "annotations.csv").write_text(
        "file,subject_id,start,end,smile,expression\n"
        "images/P002_0001.jpg,P002,,,,happy\n"
        "images/P003_0001.jpg,P003,,,,neutral\n"
    )
    nc = team.root / "manifests" / "own-nc.yaml"
    new_local_manifest(rec2, "own-nc", out=nc)
    data = yaml.safe_load(nc.read_text())
    data["license"].update(id="CC-BY-NC-4.0", tier="noncommercial")
    nc.write_text(yaml.safe_dump(data, sort_keys=False))
    team.edit_manifest(id="CC-BY-4.0", tier="commercial")
    res = team.build("c", datasets="own-data,own-nc")
    assert res.code == 0, res.err
    rows = [
        r
        for f in sorted((team.out("c") / "data").glob("*.parquet"))
        for r in pq.read_table(
            f, columns=["dataset", "key", "merged_from", "license_id", "license_tier"]
        ).to_pylist()
    ]
    merged = [r for r in rows if r["merged_from"]]
    assert merged, rows
    for r in merged:
        assert r["dataset"] == "own-data"
        assert r["license_tier"] == "noncommercial", r
        assert r["license_id"] == "CC-BY-4.0 AND CC-BY-NC-4.0"
