"""Attacks on label files read in ranges by a build's workers.

Each test names the promise it holds the code to (docs/scale.md, "Large label files
are read in ranges by the workers"): a build reading ranges makes the corpus the
driver makes reading the file whole, hostile files included, and the driver never
tokenizes the CSV.
"""

from __future__ import annotations

import hashlib
import io
import os
import struct
from dataclasses import replace
from pathlib import Path

import pytest

import facedata.assemble.pipeline as pipeline
import facedata.read.pixels_csv as pixels_csv
from facedata.assemble.pipeline import build
from facedata.assemble.recipe import Recipe
from facedata.errors import FacedataError
from facedata.fetch import fetch_dataset, treelist
from facedata.manifest.catalog import Catalog
from facedata.read import registry
from tests.fixtures import layouts
from tests.helpers.manifests import write_local_copy

FER = "fer2013-local"


@pytest.fixture
def fer(tmp_path, monkeypatch):
    """FER2013 fetched from generated files (14 rows), and a recipe cutting it small."""
    monkeypatch.setenv("FACEDATA_HOME", str(tmp_path / "home"))
    layouts.make_fer2013(tmp_path / "src" / "fer2013")
    manifests = tmp_path / "manifests"
    write_local_copy(manifests, "fer2013", FER, "the test")
    fetch_dataset(Catalog.load([manifests]).get(FER), from_path=tmp_path / "src" / "fer2013")
    root = tmp_path / "home" / "datasets" / FER / "local-copy"
    recipe = Recipe(
        datasets=[FER],
        out=tmp_path / "out",
        workers=1,
        batch_size=4,
        shard_rows=7,
        manifests=[manifests],
    )
    csv = root / "fer2013" / "fer2013.csv"
    return {"tmp": tmp_path, "root": root, "csv": csv, "recipe": recipe}


def _refetched(csv: Path) -> None:
    """What a `fetch --force` publishing a new release does to the path: a new file
    (new inode) with one row more near the top, every old row still in it."""
    lines = csv.read_bytes().split(b"\n")
    new = csv.with_name("fer2013.csv.new")
    new.write_bytes(b"\n".join([lines[0], lines[3], *lines[1:]]))
    os.replace(new, csv)


# Promise 1/2: a file that changes while the build runs never yields a corpus of
# mixed bytes (old cuts applied to new bytes).
def test_a_csv_replaced_after_the_driver_cut_it_is_not_read_with_the_old_cuts(
    fer, monkeypatch
) -> None:
    entry = registry.READERS["pixels_csv"]
    cut_it = entry.parts
    assert cut_it is not None

    def cut_then_replaced(*args, **kwargs):
        parts = cut_it(*args, **kwargs)
        _refetched(fer["csv"])  # lands between the driver's cut and the workers' reads
        return parts

    monkeypatch.setitem(registry.READERS, "pixels_csv", replace(entry, parts=cut_then_replaced))
    monkeypatch.setattr(pipeline, "READ_IN_PARTS", True)
    try:
        c = build(fer["recipe"])
    except FacedataError as exc:  # refusing the changed file is a right answer
        assert "fer2013.csv" in str(exc)
        return
    # reading it is right only if every row is one whole row of the old or the new file
    assert not any("malformed row" in k for k in c["drops"]), c["drops"]
    assert c["counts"]["read"] in (14, 15)


def _parquet_footer_lies(path: Path, group: int, says: int) -> None:
    """Rewrite row group `group`'s row count in the footer (same varint length), leaving
    the file's own total and every data page as they were."""
    import pyarrow.parquet as pq

    data = bytearray(path.read_bytes())
    start = len(data) - 8 - struct.unpack("<I", data[-8:-4])[0]
    orig = pq.ParquetFile(io.BytesIO(bytes(data))).metadata
    want = [orig.row_group(g).num_rows for g in range(orig.num_row_groups)]
    have = want[group]
    want[group] = says
    i = start
    while (i := data.find(bytes([0x16, have * 2]), i, len(data) - 8)) >= 0:
        trial = bytearray(data)
        trial[i + 1] = says * 2  # zigzag varint of a small i64
        try:
            md = pq.ParquetFile(io.BytesIO(bytes(trial))).metadata
            got = [md.row_group(g).num_rows for g in range(md.num_row_groups)]
        except Exception:  # noqa: BLE001 - a wrong guess of where the field is
            got = []
        if got == want and md.num_rows == orig.num_rows:
            path.write_bytes(bytes(trial))
            return
        i += 1
    raise AssertionError("no row-count field found in the footer")


# Promise 2: a Parquet file whose footer lies gives the same outcome in row groups as
# read whole on the driver (one corpus, or one error), whichever way it is read.
def test_a_parquet_footer_that_lies_gives_one_outcome_either_way(tmp_path, monkeypatch) -> None:
    import pyarrow.parquet as pq

    from tests.deliveries import shapes

    monkeypatch.setenv("FACEDATA_HOME", str(tmp_path / "home"))
    d = shapes.celeba_hf_snapshot(tmp_path / "made")
    for f in sorted(Path(d.path).rglob("*.parquet")):
        pq.write_table(pq.read_table(f), f, row_group_size=2)
    manifest = Catalog.load().get(d.dataset)
    lying = sorted(Path(d.path).rglob("train-*.parquet"))[0]
    _parquet_footer_lies(lying, group=0, says=3)
    with pytest.raises(FacedataError, match="footer says 3"):  # fetch reads it as a build does
        fetch_dataset(manifest, source_id=d.source, from_path=d.path)
    pq.write_table(pq.read_table(lying), lying, row_group_size=2)  # a sound file fetched,
    root = fetch_dataset(manifest, source_id=d.source, from_path=d.path).root
    _parquet_footer_lies(sorted(Path(root).rglob("train-*.parquet"))[0], group=0, says=3)
    treelist.write(d.dataset, d.source, treelist.record(Path(root)))  # then damaged in place
    recipe = Recipe(datasets=[f"{d.dataset}:{d.source}"], out=tmp_path / "a", batch_size=3)
    outcome = {}
    for parts in (False, True):
        monkeypatch.setattr(pipeline, "READ_IN_PARTS", parts)
        out = tmp_path / f"out-{parts}"
        try:
            c = build(recipe.model_copy(update={"out": out, "workers": 2}))
            outcome[parts] = ("built", c["counts"], c["drops"])
        except FacedataError as exc:
            outcome[parts] = ("refused", type(exc).__name__)
    assert outcome[True] == outcome[False]
    assert outcome[False] == ("refused", "ReaderError")  # fail closed: a damaged file


# Promise 1 (a cache's label file read in ranges on another node): the node's copy of
# the object is checked against its sha256, not trusted for having the right size.
def test_a_nodes_damaged_object_copy_is_not_read_as_the_label_file(tmp_path, monkeypatch) -> None:
    from facedata.storage.objects import ObjectBlob, local_path

    monkeypatch.setenv("FACEDATA_HOME", str(tmp_path / "home"))
    good = b"emotion,pixels,Usage\n0,1 2 3,Training\n"
    sha = hashlib.sha256(good).hexdigest()
    copy = local_path(sha)
    copy.parent.mkdir(parents=True)
    copy.write_bytes(good.replace(b"0,1", b"6,1"))  # same size, other bytes: a damaged copy
    # the store is unreachable: the copy alone decides what the worker reads
    blob = ObjectBlob(
        "s3://faces-bucket/cache?endpoint=http://127.0.0.1:9", "objects/x", len(good), sha, "x.csv"
    )
    try:
        data = blob.read_range(0, len(good))
    except FacedataError:
        return  # refused: right
    assert data == good


# Promise 4: the driver never tokenizes the CSV, whatever one row of it holds.
def test_one_stray_quote_does_not_send_the_whole_csv_to_the_driver(fer, monkeypatch) -> None:
    csv = fer["csv"]
    lines = csv.read_bytes().split(b"\n")
    lines[6] = lines[6].replace(b" ", b' "', 1)  # `12 "34`: csv reads the quote literally
    csv.write_bytes(b"\n".join(lines))
    treelist.write(FER, "local-copy", treelist.record(fer["root"]))  # fetched as it is
    driver = os.getpid()
    real = pixels_csv._rows

    def rows_outside_the_driver(*args, **kwargs):
        if os.getpid() == driver:
            raise RuntimeError("the driver tokenized the CSV")
        yield from real(*args, **kwargs)

    monkeypatch.setattr(pixels_csv, "_rows", rows_outside_the_driver)
    monkeypatch.setattr(pipeline, "READ_IN_PARTS", True)
    c = build(fer["recipe"].model_copy(update={"workers": 2}))
    assert c["counts"]["read"] == 14


# Promise 4: a CSV the driver will not cut (too dense in quotes to follow cheaply) is
# read whole on the driver, correctly, and the build says so in its notes.
def test_a_csv_read_whole_on_the_driver_is_named_in_the_builds_notes(fer, monkeypatch) -> None:
    from facedata.read import cuts

    monkeypatch.setattr(pipeline, "READ_IN_PARTS", True)
    monkeypatch.setattr(cuts, "MAX_QUOTES", 0)  # any quote: too many
    csv = fer["csv"]
    csv.write_bytes(csv.read_bytes().replace(b"Training", b'"Training"'))
    treelist.write(FER, "local-copy", treelist.record(fer["root"]))  # fetched as it is
    c = build(fer["recipe"])
    assert c["counts"]["read"] == 14
    said = next(d["notes"] for d in c["datasets"] if d["id"] == FER)
    assert any(n.startswith("fer2013.csv read whole on the driver: over 0 quotes") for n in said)


# Promise 2/4: a hostile file does not multiply the driver's work: a run of blank lines
# at the top (the block the rows-per-byte estimate is taken from) must not turn every
# later row into a range of its own (a task each, on the driver and the engine).
def test_blank_lines_at_the_top_do_not_make_a_range_per_row(tmp_path) -> None:
    from facedata.read.blob import blob_for
    from facedata.read.cuts import row_ranges

    row = "3," + " ".join(["128"] * 2304) + ",Training\n"
    csv = tmp_path / "fer2013.csv"
    csv.write_text("emotion,pixels,Usage\n" + "\n" * (1 << 20) + row * 2000)
    ranges = row_ranges(blob_for(csv), 200)
    assert ranges is not None
    assert len(ranges) <= 2000 // 200 + 20, f"{len(ranges)} ranges for 2,000 rows"


# Promise 2/4: hostile label values never make the driver's memory (or corpus.json)
# grow a drop reason per row: 600 rows with 600 distinct unknown codes.
def test_distinct_unknown_codes_do_not_make_a_drop_reason_per_row(fer, monkeypatch) -> None:
    from facedata.assemble.tally import MAX_REASONS, folded

    csv = fer["csv"]
    head, *rows = [r for r in csv.read_bytes().split(b"\n") if r]
    out = [head]
    for k in range(600):
        _, px, use = rows[k % len(rows)].split(b",")
        out.append(b"x%d," % k + px + b"," + use)
    csv.write_bytes(b"\n".join(out) + b"\n")
    treelist.write(FER, "local-copy", treelist.record(fer["root"]))  # fetched as it is
    drops = {}
    for parts in (True, False):  # folded the same whoever read the rows
        monkeypatch.setattr(pipeline, "READ_IN_PARTS", parts)
        out = fer["tmp"] / f"out-{parts}"
        c = build(fer["recipe"].model_copy(update={"batch_size": 50, "workers": 2, "out": out}))
        assert c["counts"]["read"] == 600
        assert len(c["drops"]) <= 50, f"{len(c['drops'])} drop reasons for 600 rows"
        drops[parts] = c["drops"]
    assert drops[True] == drops[False]
    other = drops[True][folded(FER)]
    assert sum(d["count"] for d in drops[True].values()) == 600
    assert other["count"] == 600 - MAX_REASONS
    assert (
        other["examples"][0]
        == f"fer2013.csv:{MAX_REASONS + 2} (unmapped expression code 'x{MAX_REASONS}')"
    )


# Promise 1/2: the blob a range names is the file as cut: rewritten in place (same
# size, another mtime), grown, or replaced by another file, it is refused by name.
def test_a_label_file_changed_in_any_way_after_the_cut_is_refused(tmp_path) -> None:
    from facedata.errors import ReaderError
    from facedata.read.blob import blob_for

    f = tmp_path / "fer2013.csv"
    for change in ("rewritten", "grown", "replaced"):
        f.write_bytes(b"emotion,pixels\n0,1 2 3 4\n")
        blob = blob_for(f)
        assert blob.read_range(0, 7) == b"emotion"
        st = f.stat()
        if change == "rewritten":
            with open(f, "r+b") as fh:
                fh.write(b"E")
            os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
        elif change == "grown":
            with open(f, "ab") as fh:
                fh.write(b"1,1 2 3 4\n")
        else:
            new = tmp_path / "new.csv"
            new.write_bytes(f.read_bytes())
            os.utime(new, ns=(st.st_atime_ns, st.st_mtime_ns))  # all but the inode alike
            os.replace(new, f)
        with pytest.raises(ReaderError, match="changed while the build ran") as exc:
            blob.read_range(0, 7)
        assert str(f) in exc.value.message, change


# Promise 1/2: a Parquet file replaced between the driver reading its footer and naming
# its blob is refused: the parts' row groups come from one file, the bytes from another.
def test_a_parquet_file_replaced_while_its_footer_is_read_is_refused(tmp_path, monkeypatch) -> None:
    import pyarrow.parquet as pq

    import facedata.read.hfparquet as hfparquet
    from facedata.errors import ReaderError
    from facedata.read import source_parts
    from tests.fixtures import hf
    from tests.formats.conftest import manifest_for

    exp = hf.make_fer2013_hf(tmp_path / "f")
    m = manifest_for(exp)
    real = hfparquet.blob_for

    def replaced_first(path):
        pq.write_table(pq.read_table(path), path, row_group_size=1)  # same rows, new groups
        return real(path)

    monkeypatch.setattr(hfparquet, "blob_for", replaced_first)
    with pytest.raises(ReaderError, match="changed while the build ran"):
        source_parts(m, m.sources[0], exp.root, 256)
