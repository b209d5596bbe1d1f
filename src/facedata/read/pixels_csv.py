"""Pixels-in-CSV layouts: FER2013 (fer2013.csv, icml_face_data.csv, train.csv, test.csv)
and the Kaggle CK+ conversion ckextended.csv.

Columns are found by name after stripping spaces, because icml_face_data.csv
writes its header as `emotion, Usage, pixels`. test.csv has no `emotion` column:
its rows are counted as "unlabeled" drops rather than read as unlabelled samples.
Usage maps Training -> train, PublicTest -> validation, PrivateTest -> test; a file
without Usage takes `split` from the options, else from its own name (train.csv ->
train, test.csv -> test), as torchvision's FER2013 reads them.

Options: file (name or path below root; searched for if not at root) or files (a
list, read in order: the FER2013 file set train.csv + test.csv), size (48), split
(default split), usage ({Usage value: split}).

A build passes defer_pixels: the pixel text then travels unparsed in the sample
(PixelImage with text) and is parsed and checked by the worker that makes the
image, a "bad pixels" drop counted there; parsing is most of this reader's cost
and the build's main process would otherwise do it for every row.

A build reads large files in ranges (`pixels_csv_parts`, `read_csv_part`): its driver
reads the header and cuts the file in the bytes (read/cuts.py), and each worker
tokenizes one range; the rows, keys and `where` strings are those of the whole file.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from facedata.errors import ReaderError
from facedata.manifest.options import PixelsCsvOptions
from facedata.manifest.schema import Manifest, Source
from facedata.read._common import (
    CsvRows,
    Utf8Lines,
    csv_rows,
    find_one,
    normalise_split,
    open_csv,
    split_option,
)
from facedata.read.blob import Blob, blob_for, range_text
from facedata.read.cuts import row_ranges, uncut_why
from facedata.read.registry import Uncut, register, register_parts
from facedata.read.sample import Drop, PixelImage, Sample, parse_pixels

csv.field_size_limit(1 << 24)


def _csv_file(root: Path, name: str, ds: str) -> Path:
    direct = root / name
    if direct.is_file():
        return direct
    found = find_one(root, name, required=False)
    if found is None:
        present = ", ".join(sorted(p.relative_to(root).as_posix() for p in root.rglob("*.csv")))
        raise ReaderError(
            f"{ds}: {name} not found under {root}",
            hint=f"CSV files there: {present or '(none)'}",
        )
    return found


@register(PixelsCsvOptions)
def read_pixels_csv(
    manifest: Manifest, source: Source, root: Path, options: PixelsCsvOptions
) -> Iterator[Sample | Drop]:
    ds = manifest.id
    for path in _files(ds, root, options):
        yield from _read_one(ds, path, options)


def _files(ds: str, root: Path, options: PixelsCsvOptions) -> list[Path]:
    """The CSV files the options name, in reading order."""
    names = options.files or [options.file]
    if not all(names):
        raise ReaderError(
            f"{ds}: pixels_csv needs format.options.file (e.g. fer2013.csv) or files (a list)"
        )
    return [_csv_file(root, name, ds) for name in names if name is not None]


@dataclass(frozen=True)
class _Layout:
    """What a row of one pixels CSV means: its columns (from the header) and options."""

    name: str  # the file's name, as keys and `where` strings give it
    width: int
    px: int
    lab: int | None
    use: int | None
    split: str | None  # for a file without Usage
    usage: dict[str, str]
    n: int  # pixel values in one image
    size: int
    mode: str
    head: str
    deferred: bool


def _layout(
    ds: str, path_name: str, stem: str, header: list[str], options: PixelsCsvOptions
) -> _Layout:
    header = [h.strip() for h in header]
    cols = {h.lower(): i for i, h in enumerate(header)}
    if "pixels" not in cols:
        raise ReaderError(
            f"{path_name}:1: no `pixels` column in header {header}",
            hint="expected e.g. emotion,pixels,Usage",
        )
    default_split: str | None = options.split
    if default_split:
        default_split = split_option(default_split, f"{ds} format.options.split")
    else:
        default_split = normalise_split(stem)
    usage_map = {k: split_option(v, f"{ds} usage.{k}") for k, v in options.usage.items()}
    size, mode = options.size, options.mode
    return _Layout(
        path_name,
        len(header),
        cols["pixels"],
        cols.get("emotion"),
        cols.get("usage"),
        default_split,
        usage_map,
        size * size * len(mode),
        size,
        mode,
        options.head,
        options.defer_pixels,
    )


def _read_one(ds: str, path: Path, options: PixelsCsvOptions) -> Iterator[Sample | Drop]:
    with open_csv(path) as fh:
        reader = csv_rows(fh)
        layout = _layout(ds, path.name, path.stem, next(reader, []), options)
        yield from _rows(ds, layout, reader, 0)


def _rows(ds: str, layout: _Layout, reader: CsvRows, lines: int) -> Iterator[Sample | Drop]:
    """The samples and drops of the rows `reader` gives, `lines` physical lines of the
    file coming before its first (a range of the file: see `read_csv_part`)."""
    name, width, n, size, mode = layout.name, layout.width, layout.n, layout.size, layout.mode
    px, lab, use, head = layout.px, layout.lab, layout.use, layout.head
    default_split, usage_map, deferred = layout.split, layout.usage, layout.deferred
    for row in reader:
        line = lines + reader.line_num
        where = f"{name}:{line}"
        if not row or not any(v.strip() for v in row):
            continue  # a trailing empty line, not a row
        key = f"{name}:{line - 1:06d}"
        if len(row) != width:
            yield Drop(ds, "malformed row", where, f"expected {width} fields, got {len(row)}")
            continue
        if lab is None:
            yield Drop(ds, "unlabeled", where, f"{name} has no emotion column")
            continue
        code = row[lab].strip()
        if not code:
            yield Drop(ds, "unlabeled", where, "empty emotion")
            continue
        split = default_split
        if use is not None:
            usage = row[use].strip()
            split = usage_map.get(usage) or normalise_split(usage)
            if split is None:
                yield Drop(ds, "unknown split", where, f"Usage {usage!r}")
                continue
        if deferred:  # checked where the image is made: a worker, not this process
            pixels: bytes | str = row[px]
        else:
            pixels = parse_pixels(row[px], n)
            if isinstance(pixels, str):
                yield Drop(ds, "bad pixels", where, pixels)
                continue
        yield Sample(
            ds,
            key,
            PixelImage(pixels, size, size, mode, origin=where),
            {head: code},
            split=split,
            where=where,
        )


@dataclass(frozen=True)
class CsvPart:
    """A range of whole rows of one pixels CSV: what a worker needs to read it."""

    dataset: str
    blob: Blob
    name: str
    stem: str
    header: tuple[str, ...]  # the file's header row, for a range that does not start with it
    start: int
    end: int
    lines: int  # physical lines of the file before `start`


def pixels_csv_parts(
    manifest: Manifest, source: Source, root: Path, options: PixelsCsvOptions, rows: int
) -> list[CsvPart] | Uncut:
    """The files' ranges of about `rows` rows: the header is read here (a missing
    pixels column fails here, as it would reading the file), the rest only counted."""
    ds = manifest.id
    parts: list[CsvPart] = []
    for path in _files(ds, root, options):
        blob = blob_for(path)  # first: a file replaced from here on is refused (blob.py)
        with open_csv(path) as fh:
            header = next(csv_rows(fh), [])
        _layout(ds, path.name, path.stem, header, options)
        ranges = row_ranges(blob, rows)
        if ranges is None:
            return Uncut(path.name, uncut_why())
        for r in ranges:
            parts.append(
                CsvPart(ds, blob, path.name, path.stem, tuple(header), r.start, r.end, r.lines)
            )
    return parts


def read_csv_part(part: CsvPart, options: PixelsCsvOptions) -> Iterator[Sample | Drop]:
    """The rows of one range, exactly as `read_pixels_csv` gives them: the range at the
    file's start reads its header itself, the others take the header the driver read."""
    with range_text(part.blob, part.start, part.end) as fh:
        reader = csv_rows(Utf8Lines(fh, part.blob.describe()))
        header = next(reader, []) if part.start == 0 else list(part.header)
        layout = _layout(part.dataset, part.name, part.stem, header, options)
        yield from _rows(part.dataset, layout, reader, part.lines)


register_parts(PixelsCsvOptions, pixels_csv_parts, read_csv_part)
