"""The report tells the story of a build: a funnel whose every number equals corpus.json,
the label balance before and after dedup, the subjects behind each leak, and faces
labelled by how they were found (a declared crop is not a fallback whole frame)."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest

from facedata.assemble.pipeline import build
from facedata.assemble.recipe import Recipe
from facedata.assemble.tally import STAGES
from facedata.fetch import fetch_dataset
from facedata.manifest.catalog import Catalog
from facedata.report import write_report
from facedata.report.keys import DECLARED_CROP, FALLBACK_FRAME, align_label
from facedata.report.plots import wrapped_label
from tests.helpers.corpus import FixtureDataset, make_corpus
from tests.helpers.photos import cat, face_variant
from tests.report.page import Page, parse


def _jpeg(img) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=90)
    return buf.getvalue()


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Page]:
    """A GENKI-4K folder with one of every kind of trouble, fetched, built, reported."""
    tmp = tmp_path_factory.mktemp("funnel")
    root = tmp / "genki" / "GENKI4K"
    files = root / "files"
    files.mkdir(parents=True)
    lines = []
    for n in range(1, 11):  # ten distinct real faces
        (files / f"file{n:04d}.jpg").write_bytes(_jpeg(face_variant(n, (200, 220))))
        lines.append(f"{n % 2} 0.01 0.02 0.03")
    trouble = [
        ("1 0.1 0.2", _jpeg(face_variant(11, (200, 220)))),  # reader: malformed row
        ("7 0.0 0.0 0.0", _jpeg(face_variant(12, (200, 220)))),  # labels: unknown code
        ("1 0.0 0.0 0.0", (files / "file0001.jpg").read_bytes()),  # exact duplicate of 1
        ("0 0.0 0.0 0.0", _jpeg(cat())),  # face: no face in a cat
        ("0 0.0 0.0 0.0", b"\xff\xd8\xff" + b"not a jpeg" * 50),  # image: undecodable
    ]
    for n, (line, data) in enumerate(trouble, 11):
        (files / f"file{n:04d}.jpg").write_bytes(data)
        lines.append(line)
    (root / "labels.txt").write_text("\n".join(lines) + "\n")

    home = tmp / "home"
    mp = pytest.MonkeyPatch()
    mp.setenv("FACEDATA_HOME", str(home))
    try:
        fetch_dataset(Catalog.load().get("genki4k"), "kaggle", from_path=root.parent)
        out = tmp / "corpus"
        record = build(Recipe(datasets=["genki4k:kaggle"], out=out))
    finally:
        mp.undo()
    return record, parse(write_report(out).read_text())


def _n(text: str) -> int:
    return int(text.replace(",", "").replace("−", ""))


def test_funnel_numbers_equal_corpus_json(built):
    record, page = built
    funnel = record["funnel"]
    stages = funnel["stages"]
    # every kind of trouble happened once (face_variant's crops of the same two photos
    # also make near duplicates), so every step is on the page
    assert {s: stages[s] for s in ("reader", "labels", "exact", "face", "image")} == {
        "reader": 1,
        "labels": 1,
        "exact": 1,
        "face": 1,
        "image": 1,
    }
    assert stages["near"] == record["dedup"]["near"] > 0
    assert funnel["read"] == record["counts"]["read"] == 14
    after_read = sum(n for s, n in stages.items() if s != "reader")
    assert funnel["written"] == record["counts"]["total"] == 14 - after_read

    rows = page.tables["funnel"][0][1:]
    steps = {r[0]: r for r in rows if not r[0].startswith("↳")}
    assert _n(steps["entries in the sources"][2]) == 15
    assert _n(steps["entries the readers dropped"][1]) == stages["reader"]
    assert _n(steps["rows read"][2]) == record["counts"]["read"]
    assert _n(steps["labels not mapped (unknown or dropped codes)"][1]) == stages["labels"]
    assert _n(steps["images that cannot be decoded"][1]) == stages["image"]
    assert _n(steps["no usable face"][1]) == stages["face"]
    assert _n(steps["exact duplicates (same decoded pixels)"][1]) == record["dedup"]["exact"]
    assert _n(steps["near duplicates (perceptual hash)"][1]) == record["dedup"]["near"]
    assert _n(steps["rows written by the build"][2]) == funnel["written"]
    assert _n(steps["rows in the corpus"][2]) == record["counts"]["total"]
    # the remaining column is read minus every step so far
    remaining = record["counts"]["read"]
    for r in rows:
        if r[0].startswith("↳") or not r[1]:
            continue
        if r[0] != "entries the readers dropped":
            remaining -= _n(r[1])
            assert _n(r[2]) == remaining, r
    # and every drop reason is listed under its step with its corpus.json count
    reasons = {r[0].removeprefix("↳ "): _n(r[1]) for r in rows if r[0].startswith("↳")}
    assert reasons == {k: v["count"] for k, v in record["drops"].items()}
    assert set(stages) == set(STAGES)
    assert not any("does not add up" in t for t in page.text.split("\n"))


def test_balance_before_and_after_dedup(built):
    record, page = built
    balance = page.table("funnel", 1)
    dups = record["funnel"]["duplicates_by_label"]["smile"]
    assert sum(dups.values()) == record["dedup"]["exact"] + record["dedup"]["near"]
    kept = {v: sum(per.get(v, 0) for per in record["counts"]["smile"].values()) for v in "01"}
    for value, name in (("1", "1 · smile"), ("0", "0 · no smile")):
        before, _, removed, after, _ = balance[name]
        assert _n(after) == kept[value]
        assert _n(removed) == dups.get(value, 0)
        assert _n(before) == kept[value] + dups.get(value, 0)


def test_funnel_mismatch_is_shown(tmp_path: Path):
    record = make_corpus(tmp_path / "c")
    record["funnel"] = {"read": 100, "stages": {"labels": 3}, "written": 40}
    (tmp_path / "c" / "corpus.json").write_text(json.dumps(record))
    text = write_report(tmp_path / "c").read_text()
    assert "does not add up" in text


def test_older_corpus_without_funnel_says_so(tmp_path: Path):
    record = make_corpus(tmp_path / "c")
    del record["funnel"]
    (tmp_path / "c" / "corpus.json").write_text(json.dumps(record))
    page = parse(write_report(tmp_path / "c").read_text())
    assert "funnel" in page.sections
    assert "predates the step-by-step funnel" in page.text


def test_leaks_name_their_subjects(tmp_path: Path):
    record = make_corpus(tmp_path / "c")
    record["leaks"] = [
        {"dataset": "smiles", "subject_id": "P017", "splits": ["test", "train"]},
        {"dataset": "faces7", "subject_id": "S-3", "splits": ["train", "validation"]},
    ]
    (tmp_path / "c" / "corpus.json").write_text(json.dumps(record))
    page = parse(write_report(tmp_path / "c").read_text())
    assert page.table("leaks") == {
        "smiles": ["P017", "test, train"],
        "faces7": ["S-3", "train, validation"],
    }
    assert "smiles/P017 in test, train" in page.text  # named in the summary warning too


def test_fallback_frames_are_told_apart_from_declared_crops(tmp_path: Path):
    """Same align_status, different story: the detector column says which it is."""
    import pyarrow.parquet as pq

    make_corpus(tmp_path / "c", n=20)
    data = tmp_path / "c" / "data"
    for shard in sorted(data.glob("*.parquet")):
        rows = pq.read_table(shard).to_pylist()
        for i, r in enumerate(rows):
            r["align_status"] = "precropped"
            r["detector"] = "retinaface" if i % 2 else None
        pq.write_table(pq.read_table(shard).from_pylist(rows, schema=pq.read_schema(shard)), shard)
    page = parse(write_report(tmp_path / "c", samples=20).read_text())
    statuses = page.table("alignment")
    assert set(statuses) == {FALLBACK_FRAME, DECLARED_CROP}
    assert sum(_n(v[0]) for v in statuses.values()) == 20
    text = page.text
    assert text.count(FALLBACK_FRAME) > 1 and text.count(DECLARED_CROP) > 1  # captions too


def test_align_labels():
    assert align_label("precropped", None) == DECLARED_CROP
    assert align_label("precropped", "retinaface-mnet025") == FALLBACK_FRAME
    assert align_label("detected", "x") == "detected"
    assert align_label("something_new") == "something_new"


def test_long_license_ids_are_wrapped_not_cut():
    long_id = "LicenseRef-Mendeley-SmileLists-LFWcrop-with-a-much-longer-name-v2 (unknown)"
    assert wrapped_label(long_id).replace("\n", "").replace(" ", "") == long_id.replace(" ", "")
    assert "…" not in wrapped_label(long_id)


def test_long_license_id_in_the_page(tmp_path: Path):
    long_id = "LicenseRef-" + "Very-Long-Dataset-Terms-" * 3 + "v1"
    ds = FixtureDataset("longlic", "Long license", ("smile",), long_id, "unknown")
    make_corpus(tmp_path / "c", n=10, datasets=(ds,))
    page = parse(write_report(tmp_path / "c").read_text())
    assert [row[1] for row in page.tables["licenses"][0][1:]] == [long_id]
    shutil.rmtree(tmp_path / "c")
