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
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

from facedata.errors import ReaderError
from facedata.manifest.options import PixelsCsvOptions
from facedata.manifest.schema import Manifest, Source
from facedata.read._common import csv_rows, find_one, normalise_split, open_csv, split_option
from facedata.read.registry import register
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
    names = options.files or [options.file]
    if not all(names):
        raise ReaderError(
            f"{ds}: pixels_csv needs format.options.file (e.g. fer2013.csv) or files (a list)"
        )
    for name in names:
        assert name is not None
        yield from _read_one(ds, _csv_file(root, name, ds), options)


def _read_one(ds: str, path: Path, options: PixelsCsvOptions) -> Iterator[Sample | Drop]:
    size = options.size
    deferred = options.defer_pixels
    mode = options.mode
    n = size * size * len(mode)
    head = options.head
    default_split: str | None = options.split
    if default_split:
        default_split = split_option(default_split, f"{ds} format.options.split")
    else:
        default_split = normalise_split(path.stem)
    usage_map = {k: split_option(v, f"{ds} usage.{k}") for k, v in options.usage.items()}
    with open_csv(path) as fh:
        reader = csv_rows(fh)
        header = [h.strip() for h in next(reader, [])]
        cols = {h.lower(): i for i, h in enumerate(header)}
        if "pixels" not in cols:
            raise ReaderError(
                f"{path.name}:1: no `pixels` column in header {header}",
                hint="expected e.g. emotion,pixels,Usage",
            )
        px, lab, use = cols["pixels"], cols.get("emotion"), cols.get("usage")
        width = len(header)
        for row in reader:
            where = f"{path.name}:{reader.line_num}"
            if not row or not any(v.strip() for v in row):
                continue  # a trailing empty line, not a row
            key = f"{path.name}:{reader.line_num - 1:06d}"
            if len(row) != width:
                yield Drop(ds, "malformed row", where, f"expected {width} fields, got {len(row)}")
                continue
            if lab is None:
                yield Drop(ds, "unlabeled", where, f"{path.name} has no emotion column")
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
