"""csv_rows against csv.reader: the same rows, line_num and errors on the same text.

csv_rows splits quote-free lines itself and hands every other line to csv.reader, so
each property compares the two on one text, step by step, errors and the rows after
an error included. For a long local run::

    FACEDATA_FUZZ_EXAMPLES=20000 python -m pytest -q tests/formats/test_csv_rows.py
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from facedata.read._common import csv_rows
from facedata.read.sample import Sample
from tests.fixtures import layouts as L
from tests.helpers.fuzz import fuzz_settings

from .conftest import read_fixture

FUZZ = fuzz_settings(200)

# What a CSV line can hold that matters to the parser, plus ordinary text.
ALPHABET = [",", '"', "\r", "\n", " ", "\x00", "\t", ";", "|", "a", "Z", "0", "7", "\u00e9"]
texts = st.text(alphabet=st.sampled_from(ALPHABET), max_size=60)
delimiters = st.sampled_from([",", "\t", ";", "|"])
limits = st.sampled_from([None, 0, 1, 2, 5])  # None: leave csv.field_size_limit alone


@contextmanager
def field_limit(limit: int | None) -> Iterator[None]:
    """csv.field_size_limit(limit) for the block, the old limit restored after it."""
    old = csv.field_size_limit()
    if limit is not None:
        csv.field_size_limit(limit)
    try:
        yield
    finally:
        csv.field_size_limit(old)


def steps(reader) -> list[tuple]:
    """Every next() until the end: (row, line_num) or (error type, message, line_num)."""
    out: list[tuple] = []
    for _ in range(10_000):  # each call reads at least one line; a bound all the same
        try:
            row = next(reader)
        except StopIteration:
            return out
        except csv.Error as exc:
            out.append((type(exc), str(exc), reader.line_num))
            continue
        out.append((row, reader.line_num))
    raise AssertionError("reader did not end")


def same_as_csv(lines: Iterable[str] | str, delimiter: str = ",") -> list[tuple]:
    """The steps of csv_rows, after checking they equal csv.reader's on the same input."""
    if isinstance(lines, str):
        ours = steps(csv_rows(io.StringIO(lines, newline=""), delimiter))
        real = steps(csv.reader(io.StringIO(lines, newline=""), delimiter=delimiter))
    else:
        ours = steps(csv_rows(list(lines), delimiter))
        real = steps(csv.reader(list(lines), delimiter=delimiter))
    assert ours == real
    return ours


@FUZZ
@given(texts, delimiters, limits)
def test_a_file_reads_as_csv_reader_reads_it(text: str, delimiter: str, limit) -> None:
    with field_limit(limit):
        same_as_csv(text, delimiter)


@FUZZ
@given(st.lists(texts, max_size=6), delimiters, limits)
def test_any_lines_read_as_csv_reader_reads_them(lines, delimiter: str, limit) -> None:
    """Lines not cut at CR/LF (a list, not a file): inner newlines go to csv.reader."""
    with field_limit(limit):
        same_as_csv(lines, delimiter)


def test_list_equals_csv_reader_on_a_whole_file() -> None:
    text = 'a,b\r\n"x, ""y""\r\nz",2\r\n\r\nlast'
    with io.StringIO(text, newline="") as fh:
        assert list(csv_rows(fh)) == list(csv.reader(io.StringIO(text, newline="")))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a,b\r\nc,d\r\n", [(["a", "b"], 1), (["c", "d"], 2)]),  # CRLF
        ("a,b\rc,d\r", [(["a", "b"], 1), (["c", "d"], 2)]),  # lone CR ends a line
        ("a\n\nb\n", [(["a"], 1), ([], 2), (["b"], 3)]),  # an empty line is []
        ("a,b\n\n", [(["a", "b"], 1), ([], 2)]),  # trailing empty line
        ("a,\n,\n", [(["a", ""], 1), (["", ""], 2)]),  # empty fields
        (" a , b \n", [([" a ", " b "], 1)]),  # spaces kept
        ('1,"x\ny, z",2\n3\n', [(["1", "x\ny, z", "2"], 2), (["3"], 3)]),  # quoted CR/LF
        ('"say ""hi""",b\n', [(['say "hi"', "b"], 1)]),  # doubled quotes
        ('a"b,c\n', [(['a"b', "c"], 1)]),  # a quote inside an unquoted field
        ('x\n"open\nto the end', [(["x"], 1), (["open\nto the end"], 3)]),  # never closed
        ("last,line", [(["last", "line"], 1)]),  # no line ending at the end
        ("", []),
    ],
)
def test_explicit_cases(text: str, expected: list[tuple]) -> None:
    assert same_as_csv(text) == expected


def test_nul_is_whatever_csv_says() -> None:
    """Python 3.11 reads a NUL as data (older versions raised "line contains NUL"):
    a line with a NUL goes to csv.reader, so both agree on every version."""
    got = same_as_csv('a\x00b,c\n"q\x00"\n')
    assert [step[-1] for step in got] == [1, 2]


def test_a_field_over_the_limit_is_a_csv_error_on_both_paths() -> None:
    with field_limit(4):
        got = same_as_csv('ok,1234\ntoo long,1\nfine\n"quoted too long"\n')
    assert got[0] == (["ok", "1234"], 1)
    assert got[1][0] is csv.Error and got[1][2] == 2
    assert got[2] == (["fine"], 3)
    assert got[3][0] is csv.Error and got[3][2] == 4
    assert csv.field_size_limit() != 4  # restored


def test_bad_lines_are_csv_errors() -> None:
    with pytest.raises(csv.Error):
        next(csv_rows(["a\nb"]))  # a newline inside an unquoted field
    with pytest.raises(csv.Error):
        next(csv_rows([b"a,b\n"]))  # type: ignore[list-item]
    same_as_csv(["a\nb", "c\n", b"d\n"])  # type: ignore[list-item]


def test_delimiters_that_cannot_be_split_on_are_refused() -> None:
    for bad in ('"', "\n", "", ",,"):
        with pytest.raises(ValueError):
            csv_rows([], bad)


def test_fer_rows_keep_their_line_numbers_when_quoted(tmp_path: Path) -> None:
    """A FER2013 file saved by a tool that quotes fields and ends lines with CRLF, one
    record spanning two lines: the reader keys and places rows as csv.reader counts."""
    exp = L.make_fer2013(tmp_path)
    path = tmp_path / "fer2013/fer2013.csv"
    header, *rows = path.read_text().splitlines()
    rows[0] = rows[0].replace(",", ',"', 1).replace(",Training", '",Training')
    e, pixels, usage = rows[1].split(",")
    head, tail = pixels.split(" ", 1)
    rows[1] = f'{e},"{head}\r\n{tail}",{usage}'  # the pixels span a line break
    path.write_bytes("\r\n".join([header, *rows, ""]).encode())

    with open(path, newline="") as fh:
        real = csv.reader(fh)
        next(real)
        wheres = [f"fer2013.csv:{real.line_num}" for row in real if row]
    got = read_fixture(exp)
    samples = [s for s in got.samples.values() if isinstance(s, Sample)]
    assert sorted(s.where for s in samples) == sorted(wheres)
    assert wheres[-1] == f"fer2013.csv:{len(rows) + 2}"  # header, rows, one line more
    assert not got.drops
