"""corpus.json has one representation (CorpusRecord), one reader and one writer.

The record is changed through methods that return a new, checked record; the writer
re-checks what it writes, so a record changed in memory cannot put on disk what the
reader would refuse; and no other module writes (or parses) corpus.json itself.
"""

from __future__ import annotations

import ast
import json
import os
from pathlib import Path

import pytest

import facedata
from facedata.corpus import (
    CORPUS_JSON,
    CorpusError,
    CorpusRecord,
    DatasetEntry,
    existing_corpus,
    read_corpus,
    write_corpus,
)
from facedata.corpus.counts import count_shards
from facedata.errors import UnsafePathError
from facedata.manifest.catalog import Catalog
from tests.helpers.corpus import make_corpus

SRC = Path(facedata.__file__).parent


def _record(root: Path, n: int = 24) -> CorpusRecord:
    make_corpus(root, n=n)
    return read_corpus(root)


def test_with_counts_recomputes_counts_and_heads_and_keeps_read(tmp_path):
    record = _record(tmp_path / "c")
    before = record.to_json()
    # as if one split's rows were erased: counts come from the shards as they are now
    kept = [s for s in record.shards if s.split != "test"]
    counts = count_shards([s.file(tmp_path / "c") for s in kept]).to_dict()
    after = record.with_shards(s.model_dump(exclude_unset=True) for s in kept).with_counts(counts)
    assert after is not record and record.to_json() == before  # the original is unchanged
    assert after.counts.total == counts["total"] < record.counts.total
    assert "test" not in after.counts.splits
    assert after.counts.read == record.counts.read  # rows read stay read
    assert after.heads["expression"].names == record.heads["expression"].names
    assert "test" not in after.heads["smile"].counts
    assert after.heads["smile"].counts["train"] == record.heads["smile"].counts["train"]
    assert [s.path for s in after.shards] == [s.path for s in kept]


def test_with_counts_invents_no_heads_for_a_record_without_them(tmp_path):
    record = _record(tmp_path / "c")
    old = CorpusRecord.model_validate({k: v for k, v in record.to_json().items() if k != "heads"})
    counts = count_shards([s.file(tmp_path / "c") for s in old.shards]).to_dict()
    assert "heads" not in old.with_counts(counts).to_json()


def test_without_subject_scrubs_mentions_and_keeps_provenance(tmp_path):
    data = _record(tmp_path / "c").to_json()
    data["drops"]["smiles: unknown label"]["examples"] = ["P017/a.jpg", "P0170/b.jpg", "x.jpg"]
    data["image_errors"] = [{"where": "P017/c.jpg"}, {"where": "P1/d.jpg"}]
    media = [
        {"name": "P017.mp4", "sha256": "1" * 64, "subjects": ["P017"]},
        {"name": "both.mp4", "sha256": "2" * 64, "subjects": ["P017", "P018"]},
        {"name": "annotations.csv", "sha256": "3" * 64},
    ]
    data["datasets"][0]["inputs"] = list(media)
    data["datasets"][1]["inputs"] = list(media)  # another dataset: outside the scope
    record = CorpusRecord.model_validate(data)
    mark = {"subject_id": "P017", "dataset": "smiles", "rows_removed": 3}

    after = record.without_subject("P017", frozenset({"smiles"}), mark)

    assert after.forgotten == [*record.forgotten, mark]
    assert after.drops["smiles: unknown label"]["examples"] == ["P0170/b.jpg", "x.jpg"]
    assert after.image_errors == [{"where": "P1/d.jpg"}]
    assert after.datasets[0]["inputs"] == [
        {"name": "both.mp4", "sha256": "2" * 64, "subjects": ["P018"]},
        {"name": "annotations.csv", "sha256": "3" * 64},
    ]
    assert after.datasets[1]["inputs"] == media
    for key in ("license", "decisions", "clearances", "detector", "recipe", "shards", "counts"):
        assert after.to_json()[key] == record.to_json()[key], key
    everywhere = record.without_subject("P017", None, mark)
    assert everywhere.datasets[1]["inputs"] == after.datasets[0]["inputs"]
    assert record.forgotten == []  # the original is unchanged


@pytest.mark.parametrize("bad", ["../outside.parquet", "/etc/passwd", "data/../../x.parquet"])
def test_a_crafted_shard_path_is_refused_on_change_write_and_read(tmp_path, bad):
    root = tmp_path / "c"
    record = _record(root)
    shards = [s.model_dump(exclude_unset=True) for s in record.shards]
    with pytest.raises(CorpusError, match="shard path must stay inside the corpus"):
        record.with_shards([{**shards[0], "path": bad}, *shards[1:]])
    # a record edited in memory around the checks is still refused by the writer
    forged = record.model_copy(deep=True)
    forged.shards[0].path = bad
    with pytest.raises((CorpusError, UnsafePathError)):
        write_corpus(root, forged)
    assert read_corpus(root).shards[0].path == record.shards[0].path  # nothing was written
    data = record.to_json()
    data["shards"][0]["path"] = bad
    (root / CORPUS_JSON).write_text(json.dumps(data))
    with pytest.raises(CorpusError, match="shard path must stay inside the corpus"):
        read_corpus(root)


def test_the_writer_refuses_a_shard_that_links_out_of_the_corpus(tmp_path):
    root = tmp_path / "c"
    record = _record(root)
    outside = tmp_path / "elsewhere.parquet"
    shard = root / record.shards[0].path
    os.replace(shard, outside)
    shard.symlink_to(outside)
    with pytest.raises(UnsafePathError, match="outside"):
        write_corpus(root, record)


def test_write_then_read_round_trips_byte_for_byte(tmp_path):
    root = tmp_path / "c"
    record = _record(root)
    write_corpus(root, record)
    first = (root / CORPUS_JSON).read_bytes()
    assert read_corpus(root) == record
    write_corpus(root, read_corpus(root))
    assert (root / CORPUS_JSON).read_bytes() == first
    assert json.loads(first) == record.to_json()
    assert not [p.name for p in root.iterdir() if p.name.startswith(".")]  # no temp left


def test_an_old_format_record_still_reads_and_writes(tmp_path):
    root = tmp_path / "c"
    data = _record(root).to_json()
    old = {k: v for k, v in data.items() if k not in ("heads", "forgotten", "id")}
    old["format"] = "facedata-corpus/1"
    (root / CORPUS_JSON).write_text(json.dumps(old))
    record = read_corpus(root)
    assert record.format == "facedata-corpus/1" and record.to_json() == old
    write_corpus(root, record)
    assert json.loads((root / CORPUS_JSON).read_text()) == old


def test_existing_corpus_keeps_marks_and_id_of_a_damaged_record(tmp_path):
    root = tmp_path / "c"
    data = _record(root).to_json()
    mark = {"subject_id": "P017", "when": "2026-01-01T00:00:00+00:00"}
    damaged = {**data, "id": "5d0c6a5e-3f1d-4c59-9a55-3f0c7d0f0a11", "forgotten": [mark, "x"]}
    damaged["counts"] = {"total": "many"}
    (root / CORPUS_JSON).write_text(json.dumps(damaged))
    found = existing_corpus(root)
    assert found is not None and found.record is None  # damaged: never "the same build"
    assert found.marks == [mark] and found.id == damaged["id"]
    (root / CORPUS_JSON).write_text("[1, 2]")
    assert existing_corpus(root) is None
    (root / CORPUS_JSON).unlink()
    assert existing_corpus(root) is None


def test_dataset_entry_is_made_from_the_manifest_and_source():
    manifest = Catalog.load([]).get("genki4k")
    lic = manifest.license
    entry = DatasetEntry.of(
        manifest, manifest.sources[0], tier="commercial", inputs=[{"name": "a.zip"}]
    ).to_json()
    assert list(entry) == list(DatasetEntry.model_fields)  # corpus.json's key order
    assert entry["id"] == "genki4k" and entry["name"] == manifest.name
    assert entry["license_id"] == lic.id and entry["declared_tier"] == lic.tier
    assert entry["derivatives"] == lic.derivatives and entry["license_text"] == lic.text
    source = manifest.sources[0]
    assert entry["source"] == source.id and entry["source_kind"] == source.kind
    assert entry["citation"] == manifest.citation and entry["clearance"] is None
    assert entry["inputs"] == [{"name": "a.zip"}] and entry["notes"] == []


# ---- no module but the record's own writes or parses corpus.json ---------------------

_WRITES = {"write_text", "write_bytes", "atomic_write_text", "atomic_write_bytes", "dump", "dumps"}
_READS = {"loads", "load", "read_text", "read_bytes", "read_regular"}
_HOME = SRC / "corpus" / "record.py"


def _handlers(source: str) -> list[tuple[str, set[str]]]:
    """Functions that name corpus.json, with the file calls they make."""
    found = []
    for fn in ast.walk(ast.parse(source)):
        if not isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        names, calls = False, set()
        for node in ast.walk(fn):
            if isinstance(node, ast.Name | ast.Attribute):
                names |= getattr(node, "id", getattr(node, "attr", None)) == "CORPUS_JSON"
            elif isinstance(node, ast.Constant) and node.value == CORPUS_JSON:
                names = True
            elif isinstance(node, ast.Call):
                f = node.func
                calls.add(f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", ""))
        if names:
            found.append((fn.name, calls))
    return found


def _offenders(source: str) -> list[str]:
    return [name for name, calls in _handlers(source) if calls & (_WRITES | _READS)]


def test_the_scan_finds_a_second_writer_or_reader():
    planted = (
        "def patch(root):\n"
        "    data = json.loads((root / CORPUS_JSON).read_text())\n"
        "    atomic_write_text(root / 'corpus.json', json.dumps(data))\n"
    )
    assert _offenders(planted) == ["patch"]


def test_only_the_record_module_reads_or_writes_corpus_json():
    offenders = {
        f"{path.relative_to(SRC)}:{name}"
        for path in SRC.rglob("*.py")
        if path != _HOME
        for name in _offenders(path.read_text(encoding="utf-8"))
    }
    assert not offenders, f"corpus.json handled outside corpus/record.py: {sorted(offenders)}"
    assert {name for name, _ in _handlers(_HOME.read_text())} >= {"_load", "write_corpus"}
