"""Label files read in ranges: a pixels CSV cut in its bytes gives, range by range,
exactly the rows, drops, keys and `where` strings of reading it whole."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from facedata.errors import ReaderError
from facedata.manifest.schema import Manifest
from facedata.read import read_part as read_one_part
from facedata.read import read_source, source_parts
from facedata.read.blob import LocalBlob, blob_for, range_text
from facedata.read.cuts import row_ranges
from facedata.read.sample import Note
from tests.formats.conftest import manifest_for
from tests.helpers.fuzz import fuzz_settings

PX = "1 2 3 4"  # a 2x2 grey image


@pytest.fixture(autouse=True)
def _fine_cuts(monkeypatch) -> None:
    """These files are a few hundred bytes: cut them as finely as `rows` asks (a build's
    ranges hold at least cuts.MIN_RANGE bytes; test_ranges_hostile.py holds the floor)."""
    from facedata.read import cuts

    monkeypatch.setattr(cuts, "MIN_RANGE", 1)


def _manifest(options: dict) -> Manifest:
    return Manifest.model_validate(
        {
            "id": "fer-test",
            "name": "fer-test",
            "tasks": ["expression"],
            "license": {"id": "LicenseRef-Test", "tier": "unknown"},
            "citation": "@misc{test, title = {test}}",
            "sources": [
                {
                    "id": "fixture",
                    "kind": "manual",
                    "official": True,
                    "access": {"level": "agreement", "instructions": "test fixture"},
                }
            ],
            "format": {"reader": "pixels_csv", "root": ".", "options": {"size": 2, **options}},
            "labels": {"expression": {"codes": {str(i): e for i, e in enumerate(EXPR)}}},
        }
    )


EXPR = ["anger", "disgust", "fear", "happiness", "sadness", "surprise", "neutral"]
USAGE = ["Training", "PublicTest", "PrivateTest"]


def _rows(n: int, quoted: bool = False) -> list[str]:
    px = f'"{PX}"' if quoted else PX
    return [f"{i % 7},{px},{USAGE[i % 3]}" for i in range(n)]


def _fer(n: int = 23) -> str:
    lines = ["emotion,pixels,Usage", *_rows(n)]
    lines[5] = "3,1 2 3"  # malformed: two fields
    lines[8] = ",1 2 3 4,Training"  # empty emotion
    lines[11] = "2,1 2 3 4,Holdout"  # unknown split
    lines[14] = "4,1 2 x 4,Training"  # bad pixels (parsed where the image is made)
    lines[17] = ",,"  # a row of nothing
    return "\n".join(lines) + "\n\n"


# name -> (file name, bytes, extra options)
CASES: dict[str, tuple[str, bytes, dict]] = {
    "fer2013": ("fer2013.csv", _fer().encode(), {}),
    "icml spacing": (
        "icml_face_data.csv",
        "\n".join(
            ["emotion, Usage, pixels", *(f"{i % 7}, {USAGE[i % 3]}, {PX}" for i in range(19))]
        ).encode(),
        {},
    ),
    "train without Usage": (
        "train.csv",
        "\n".join(["emotion,pixels", *(f"{i % 7},{PX}" for i in range(17))]).encode(),
        {},
    ),
    "test without emotion": (
        "test.csv",
        "\n".join(["pixels", *(PX for _ in range(13))]).encode() + b"\n",
        {},
    ),
    "CRLF": ("fer2013.csv", _fer().replace("\n", "\r\n").encode(), {}),
    "BOM": ("fer2013.csv", b"\xef\xbb\xbf" + _fer().encode(), {}),
    # the quote after the BOM opens a field: its newline is not a row's end
    "BOM then a quote": (
        "fer2013.csv",
        b"\xef\xbb\xbf"
        + "\n".join(['"emo\ntion",pixels', *(f'"{i % 7}\n",{PX}' for i in range(9))]).encode(),
        {},
    ),
    "quoted pixels": (
        "fer2013.csv",
        "\n".join(["emotion,pixels,Usage", *_rows(21, quoted=True)]).encode(),
        {},
    ),
    # every row holds a quoted newline: any newline-only cut would split a field
    "quoted newlines": (
        "fer2013.csv",
        "\n".join(
            ['emotion,pixels,"Us\nage"', *(f'{i % 7},"1 2\n3 4",Training' for i in range(15))]
        ).encode(),
        {},
    ),
    "lone CR": ("fer2013.csv", _fer().replace("\n", "\r", 4).encode(), {}),
    "no final newline": ("fer2013.csv", _fer().rstrip("\n").encode(), {}),
    "header only": ("fer2013.csv", b"emotion,pixels,Usage\n", {}),
    "escaped quotes": (
        "fer2013.csv",
        "\n".join(
            ["emotion,pixels,Usage", *(f'{i % 7},"{PX}","Train""ing"' for i in range(9))]
        ).encode(),
        {},
    ),
}


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    (tmp_path / name).write_bytes(data)
    return tmp_path


def _whole(m: Manifest, root: Path, defer: bool) -> list:
    return list(read_source(m, m.sources[0], root, defer_pixels=defer))


def _in_parts(m: Manifest, root: Path, rows: int, defer: bool) -> tuple[list, int]:
    cut = source_parts(m, m.sources[0], root, rows, defer_pixels=defer)
    assert cut is not None
    notes, parts = cut
    return [*notes, *(x for p in parts for x in read_one_part(p))], len(parts)


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("defer", [True, False])
def test_ranges_give_exactly_the_rows_of_the_whole_file(tmp_path, case, defer) -> None:
    name, data, options = CASES[case]
    m = _manifest({"file": name, **options})
    root = _write(tmp_path, name, data)
    whole = _whole(m, root, defer)
    assert whole or case == "header only"
    for rows in (1, 2, 3, 7, 1000):
        got, n = _in_parts(m, root, rows, defer)
        assert got == whole, (case, rows)
        if rows == 1 and len(whole) > 3 and case != "lone CR":
            assert n > len(whole) // 2, "one row per range: many ranges"


def test_a_cut_never_lands_inside_a_quoted_field(tmp_path) -> None:
    """Ranges of one row: the quoted newline of every row sits where a cut by bytes
    alone would land; the range boundaries are the rows' own."""
    name, data, _ = CASES["quoted newlines"]
    ranges = row_ranges(blob_for(_write(tmp_path, name, data) / name), 1)
    assert ranges is not None and len(ranges) == 16
    for r in ranges[1:]:
        assert data[r.start - 1 : r.start] == b"\n"
        assert data[r.start :].split(b",", 1)[0].isdigit()  # a row starts there
    assert [r.lines for r in ranges] == [2 * i for i in range(16)]  # two lines a row


def test_the_files_of_a_file_set_are_cut_in_order(tmp_path) -> None:
    for name, rows in (("train.csv", 9), ("test.csv", 6)):
        body = [f"{i % 7},{PX}" if name == "train.csv" else PX for i in range(rows)]
        head = "emotion,pixels" if name == "train.csv" else "pixels"
        (tmp_path / name).write_text("\n".join([head, *body]) + "\n")
    m = _manifest({"files": ["train.csv", "test.csv"]})
    whole = _whole(m, tmp_path, True)
    got, n = _in_parts(m, tmp_path, 2, True)
    assert got == whole and n >= 6


def test_a_quote_csv_reads_literally_is_cut_as_csv_reads_it(tmp_path) -> None:
    """`ab"c` or `, "x"`: a literal quote opens no field, so the file is cut where csv
    ends its rows (the quoted newline after `, "` is a row's end), never inside a field,
    and its ranges give exactly the rows of reading it whole."""
    texts = [
        'emotion,pixels,Usage\n0,1 2 "3 4,Training\n1,1 2 3 4,Training\n',
        'emotion,pixels\n0, "1\n2"\n3,"1 2\n3 4"\n4,1 2 3 4\n',
        'emotion,pixels\n0,"1 2"3 "4\n5,1 2 3 4\n',  # text after a closing quote
    ]
    m = _manifest({"file": "fer2013.csv"})
    for text in texts:
        (tmp_path / "fer2013.csv").write_text(text)
        cut = row_ranges(blob_for(tmp_path / "fer2013.csv"), 1)
        assert cut is not None and len(cut) > 1, text
        whole = _whole(m, tmp_path, True)
        assert _in_parts(m, tmp_path, 1, True)[0] == whole


def test_an_empty_file_fails_as_reading_it_whole_does(tmp_path) -> None:
    m = _manifest({"file": "fer2013.csv"})
    (tmp_path / "fer2013.csv").write_bytes(b"")
    with pytest.raises(ReaderError) as whole:
        _whole(m, tmp_path, True)
    with pytest.raises(ReaderError) as parts:
        source_parts(m, m.sources[0], tmp_path, 5)
    assert whole.value.message == parts.value.message
    assert "no `pixels` column" in parts.value.message


def test_a_blob_reads_its_range_and_nothing_more(tmp_path) -> None:
    (tmp_path / "f.csv").write_bytes(b"\xef\xbb\xbfab\r\ncd\nef")
    blob = blob_for(tmp_path / "f.csv")
    assert isinstance(blob, LocalBlob) and blob.size == 12
    assert blob.read_range(3, 7) == b"ab\r\n" and blob.read_range(10, 99) == b"ef"
    with range_text(blob, 0, 7) as fh:
        assert list(fh) == ["ab\r\n"]  # the BOM skipped at the file's start only
    with range_text(blob, 7, 12) as fh:
        assert list(fh) == ["cd\n", "ef"]


def test_a_range_is_read_from_its_blob_in_large_pieces(tmp_path) -> None:
    """A text wrapper pulls 8 KiB at a time; each `read_range` of a blob is an open and
    a path check (or a request to a store), so the stream asks for BUFFER bytes at a
    time: a 3 MiB range of 9 KB lines is four reads, not one per line."""
    from facedata.read import blob as blob_mod

    line = ("1 " * 4500).rstrip() + "\n"
    (tmp_path / "f.csv").write_text(line * 350)
    local = blob_for(tmp_path / "f.csv")
    calls: list[tuple[int, int]] = []

    class Counting:
        size = local.size

        def read_range(self, start: int, end: int) -> bytes:
            calls.append((start, end))
            return local.read_range(start, end)

        def describe(self) -> str:
            return "counted"

    with range_text(Counting(), 9000, local.size) as fh:
        text = fh.read()
    assert text == (line * 350)[9000:]
    assert len(calls) == -(-(local.size - 9000) // blob_mod.BUFFER)
    assert all(end - start <= blob_mod.BUFFER for start, end in calls)


# CSV texts made of what matters to the parser and to the cut
CHARS = st.sampled_from([",", '"', "\r", "\n", "\r\n", "a", "7", " ", "\u00e9"])
texts = st.lists(CHARS, max_size=80).map("".join)


def _whole_rows(text: bytes) -> list:
    """(row, physical line) for every row csv.reader gives, or the error."""
    from facedata.read._common import csv_rows

    reader = csv_rows(io.TextIOWrapper(io.BytesIO(text), encoding="utf-8", newline=""))
    try:
        return [(row, reader.line_num) for row in reader]
    except csv.Error as exc:
        return [("error", str(exc))]


@fuzz_settings(300)
@given(texts, st.integers(1, 4), st.sampled_from([1, 2, 3, 7, 1 << 20]))
def test_cut_text_reads_as_the_whole_text(text, rows, block) -> None:
    """Whatever the text and however the driver's blocks fall (a CRLF, a doubled quote
    across two blocks), either it is left uncut, or its ranges give its rows and line
    numbers exactly."""
    from facedata.read import cuts
    from facedata.read._common import csv_rows

    data = text.encode()

    class Mem:
        size = len(data)

        def read_range(self, start: int, end: int) -> bytes:
            return data[start:end]

        def describe(self) -> str:
            return "mem"

    saved, cuts.BLOCK = cuts.BLOCK, block
    try:
        ranges = row_ranges(Mem(), rows)  # type: ignore[arg-type]
    finally:
        cuts.BLOCK = saved
    if ranges is None:
        assert '"' in text
        return
    assert ranges[0].start == 0 and ranges[-1].end == len(data)
    assert all(a.end == b.start for a, b in zip(ranges, ranges[1:], strict=False))
    got: list = []
    for r in ranges:
        reader = csv_rows(range_text(Mem(), r.start, r.end))  # type: ignore[arg-type]
        try:
            got += [(row, r.lines + reader.line_num) for row in reader]
        except csv.Error as exc:
            got.append(("error", str(exc)))
            break
    assert got == _whole_rows(data)


def test_parquet_row_groups_give_exactly_the_rows_of_the_whole_files(tmp_path) -> None:
    """A part per row group: keys `file#row` keep counting across groups, images by
    bytes and by path, an unsafe path and an empty image dropped where they were."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from tests.fixtures import hf
    from tests.helpers import photos

    exp = hf.make_fer2013_hf(tmp_path / "f")
    for f in sorted(exp.root.rglob("*.parquet")):  # small row groups, metadata kept
        pq.write_table(pq.read_table(f), f, row_group_size=2)
    photos.lfw_face(3, (48, 48), "L").save(exp.root / "data" / "a.png")
    struct = pa.struct([("bytes", pa.binary()), ("path", pa.string())])
    images = [
        {"bytes": None, "path": "a.png"},
        {"bytes": None, "path": "../../etc/passwd"},
        {"bytes": None, "path": None},
        {"bytes": None, "path": "a.png"},
        {"bytes": None, "path": "a.png"},
    ]
    table = pa.table({"image": pa.array(images, struct), "label": pa.array([1, 2, 4, 0, 9])})
    pq.write_table(table, exp.root / "data" / "validation.parquet", row_group_size=2)
    m = manifest_for(exp, names={"label": hf.FER_NAMES})
    whole = _whole(m, exp.root, True)
    got, n = _in_parts(m, exp.root, 256, True)
    assert got == whole
    assert n >= 9 and [x.kind for x in got[:1]] == ["count"]
    assert {x.reason for x in whole if hasattr(x, "reason")} == {"unsafe path", "no image"}
    assert any(getattr(x, "key", "") == "data/validation.parquet#4" for x in got)


def test_a_parquet_footer_that_lies_about_a_group_fails_closed(tmp_path) -> None:
    from dataclasses import replace

    from tests.fixtures import hf

    exp = hf.make_fer2013_hf(tmp_path / "f")
    m = manifest_for(exp)
    cut = source_parts(m, m.sources[0], exp.root, 256)
    assert cut is not None
    part = cut[1][0]
    lying = replace(part, data=replace(part.data, rows=part.data.rows + 1))
    with pytest.raises(ReaderError, match="footer says"):
        list(read_one_part(lying))


def test_affectnet_lists_in_ranges_give_exactly_the_rows_of_the_whole_lists(tmp_path) -> None:
    """training.csv with its header, validation.csv without; a malformed row, a bad
    number, a missing image and an unsafe path dropped where they were, in any range."""
    from tests.fixtures import layouts

    exp = layouts.make_affectnet(tmp_path / "a")
    lists = exp.root / "Manually_Annotated_file_lists"
    with open(lists / "training.csv", "a") as fh:
        fh.write("x.jpg,1,2\n")  # malformed
        fh.write("x.jpg,1,2,3,4,,1,zero,0.1\n")  # bad number
        fh.write("681/missing.jpg,1,2,3,4,,1,0.1,0.1\n")  # missing image
        fh.write("../../etc/passwd,1,2,3,4,,1,0.1,0.1\n")  # unsafe path
    m = manifest_for(exp)
    whole = _whole(m, exp.root, True)
    reasons = {x.reason for x in whole if hasattr(x, "reason")}
    assert {"malformed row", "bad number", "missing image", "unsafe path"} <= reasons
    for rows in (1, 2, 5, 1000):
        got, n = _in_parts(m, exp.root, rows, True)
        assert got == whole, rows
        if rows == 1:
            assert n > len(whole) // 2


def test_a_file_dense_in_quotes_is_left_uncut(tmp_path, monkeypatch) -> None:
    """Each quote is checked in Python: past a bound per block the file is read whole,
    so a crafted file costs the driver no more than reading it did."""
    from facedata.read import cuts

    rows = "\n".join(f'{i % 7},"{PX}","Training"' for i in range(40))
    (tmp_path / "f.csv").write_text("emotion,pixels,Usage\n" + rows + "\n")
    assert row_ranges(blob_for(tmp_path / "f.csv"), 2) is not None
    monkeypatch.setattr(cuts, "MAX_QUOTES", 100)  # 160 quotes in the one block
    assert row_ranges(blob_for(tmp_path / "f.csv"), 2) is None
    m = _manifest({"file": "f.csv"})
    said = source_parts(m, m.sources[0], tmp_path, 2)  # read whole, and the build says why
    assert isinstance(said, Note) and said.kind == "read_whole"
    assert said.text.startswith("f.csv read whole on the driver: over 100 quotes")
