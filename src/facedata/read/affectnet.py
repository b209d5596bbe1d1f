"""AffectNet, both official layouts.

affectnet_csv (original release):
  Manually_Annotated_file_lists/{training,validation}.csv
  Manually_Annotated_Images/<subdir>/<hash>.jpg
  columns subDirectory_filePath,face_x,face_y,face_width,face_height,
          facial_landmarks (68 points as x;y;x;y...),expression,valence,arousal
  validation.csv may come without a header, so a header is recognised by its first
  field rather than assumed.
affectnet_npy (later distribution):
  train_set|val_set/images/<id>.jpg and annotations/<id>_{exp,val,aro,lnd}.npy

Codes 8-10 (None, Uncertain, No-Face) are read like any code; the manifest's
`drop` map turns them into counted drops in the remap. No subject ids exist.
Valence/arousal of -2 mark "not annotated" and become None.

A build reads the CSV lists in ranges (`affectnet_csv_parts`), one per worker task:
the driver cuts the lists in their bytes (read/cuts.py) and never opens a row.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from facedata.errors import ReaderError
from facedata.manifest.options import AffectnetCsvOptions, AffectnetNpyOptions
from facedata.manifest.schema import Manifest, Source
from facedata.read._common import (
    CsvRows,
    Utf8Lines,
    csv_rows,
    is_image,
    labelled_image,
    open_csv,
    option_path,
    rel,
    split_option,
)
from facedata.read.blob import Blob, blob_for, range_text
from facedata.read.cuts import row_ranges, uncut_why
from facedata.read.registry import Uncut, register, register_parts
from facedata.read.sample import Drop, FileImage, Sample

COLUMNS = [
    "subDirectory_filePath",
    "face_x",
    "face_y",
    "face_width",
    "face_height",
    "facial_landmarks",
    "expression",
    "valence",
    "arousal",
]


def _affect(value: float) -> float | None:
    return None if value < -1.0 or value > 1.0 else value


def _landmarks(text: str) -> list[float] | None:
    text = text.strip()
    if not text:
        return None
    points = [float(v) for v in text.split(";") if v.strip()]
    if len(points) != 136:
        raise ValueError(f"expected 136 landmark values (68 points), got {len(points)}")
    return points


@register(AffectnetCsvOptions)
def read_affectnet_csv(
    manifest: Manifest, source: Source, root: Path, options: AffectnetCsvOptions
) -> Iterator[Sample | Drop]:
    ds = manifest.id
    images = option_path(root, options.images, "images", "Manually_Annotated_Images", dirs=True)
    lists = options.lists
    folder = option_path(
        root, options.lists_dir, "lists_dir", "Manually_Annotated_file_lists", dirs=True
    )
    for name, split in lists.items():
        path = folder / name
        if not path.is_file():
            raise ReaderError(
                f"{ds}: {path} not found",
                hint=f"format.options.lists names the CSVs to read: {', '.join(lists)}",
            )
        yield from _read_list(ds, root, images, path, split_option(split, f"{ds} lists.{name}"))


def _read_list(
    ds: str, root: Path, images: Path, path: Path, split: str
) -> Iterator[Sample | Drop]:
    with open_csv(path) as fh:
        yield from _list_rows(ds, root, images, path.name, split, csv_rows(fh), 0)


def _list_rows(
    ds: str, root: Path, images: Path, name: str, split: str, reader: CsvRows, lines: int
) -> Iterator[Sample | Drop]:
    """The samples and drops of the rows `reader` gives, `lines` physical lines of the
    list coming before its first (a range of the list: see `read_list_part`)."""
    for row in reader:
        line = lines + reader.line_num
        where = f"{name}:{line}"
        if not row:
            continue
        if line == 1 and row[0].strip() == COLUMNS[0]:
            continue  # training.csv has a header; validation.csv may not
        if len(row) != len(COLUMNS):
            yield Drop(
                ds, "malformed row", where, f"expected {len(COLUMNS)} fields, got {len(row)}"
            )
            continue
        rel_path, fx, fy, fw, fh_, lmk, code, val, aro = (v.strip() for v in row)
        try:
            bbox = [float(fx), float(fy), float(fw), float(fh_)]
            landmarks = _landmarks(lmk)
            valence, arousal = float(val), float(aro)
        except ValueError as exc:
            yield Drop(ds, "bad number", where, str(exc))
            continue
        found = labelled_image(ds, images, rel_path, where, root)
        if isinstance(found, Drop):
            yield found
            continue
        image, key = found
        yield Sample(
            ds,
            key,
            FileImage(image),
            {"expression": code},
            split=split,
            landmarks=landmarks,
            bbox=bbox,
            valence=_affect(valence),
            arousal=_affect(arousal),
            where=where,
        )


@dataclass(frozen=True)
class ListPart:
    """A range of whole rows of one annotation list: what a worker needs to read it."""

    dataset: str
    blob: Blob
    name: str
    root: str  # keys are relative to it
    images: str  # Manually_Annotated_Images/
    split: str
    start: int
    end: int
    lines: int  # physical lines of the list before `start`


def affectnet_csv_parts(
    manifest: Manifest, source: Source, root: Path, options: AffectnetCsvOptions, rows: int
) -> list[ListPart] | Uncut:
    """The lists' ranges of about `rows` rows; the driver only counts bytes (and no
    longer checks a million image files: the workers do, row by row)."""
    ds = manifest.id
    images = option_path(root, options.images, "images", "Manually_Annotated_Images", dirs=True)
    folder = option_path(
        root, options.lists_dir, "lists_dir", "Manually_Annotated_file_lists", dirs=True
    )
    parts: list[ListPart] = []
    for name, split in options.lists.items():
        path = folder / name
        if not path.is_file():
            raise ReaderError(
                f"{ds}: {path} not found",
                hint=f"format.options.lists names the CSVs to read: {', '.join(options.lists)}",
            )
        split = split_option(split, f"{ds} lists.{name}")
        blob = blob_for(path)
        ranges = row_ranges(blob, rows)
        if ranges is None:
            return Uncut(path.name, uncut_why())
        parts += [
            ListPart(ds, blob, path.name, str(root), str(images), split, r.start, r.end, r.lines)
            for r in ranges
        ]
    return parts


def read_list_part(part: ListPart, options: AffectnetCsvOptions) -> Iterator[Sample | Drop]:
    """The rows of one range, exactly as `read_affectnet_csv` gives them."""
    with range_text(part.blob, part.start, part.end) as fh:
        reader = csv_rows(Utf8Lines(fh, part.blob.describe()))
        root, images = Path(part.root), Path(part.images)
        yield from _list_rows(part.dataset, root, images, part.name, part.split, reader, part.lines)


register_parts(AffectnetCsvOptions, affectnet_csv_parts, read_list_part, files=True)


def _npy_scalar(path: Path) -> str:
    """The one value an annotation .npy holds, as text ('1', '0.785')."""
    value = np.load(path, allow_pickle=False)
    return str(value.reshape(-1)[0] if value.size == 1 else value).strip()


def _npy_landmarks(path: Path) -> list[float]:
    """68 points as numbers, or as one 'x;y;...' string as in the CSV release."""
    arr = np.load(path, allow_pickle=False)
    if arr.dtype.kind in "US":
        text = str(arr.reshape(-1)[0]) if arr.size == 1 else ";".join(map(str, arr.reshape(-1)))
        points = _landmarks(text)
        if points is None:
            raise ValueError(f"{path.name}: empty landmarks")
        return points
    flat = arr.astype(np.float64).reshape(-1)
    if flat.size != 136:
        raise ValueError(f"{path.name}: expected 136 values (68 points), got {flat.size}")
    return flat.tolist()


def _code(text: str) -> str:
    """Codes are stored as strings or numbers depending on the copy; '1.0' -> '1'."""
    try:
        f = float(text)
    except ValueError:
        return text
    return str(int(f)) if f.is_integer() else text


@register(AffectnetNpyOptions)
def read_affectnet_npy(
    manifest: Manifest, source: Source, root: Path, options: AffectnetNpyOptions
) -> Iterator[Sample | Drop]:
    ds = manifest.id
    sets = options.sets
    found = [(root / name, split_option(s, f"{ds} sets.{name}")) for name, s in sets.items()]
    if not any(p.is_dir() for p, _ in found):
        raise ReaderError(
            f"{ds}: none of {', '.join(sets)} found under {root}",
            hint="the .npy layout has train_set/ and val_set/, each with images/ and annotations/",
        )
    for folder, split in found:
        if not folder.is_dir():
            continue
        ann = folder / "annotations"
        for image in sorted((folder / "images").iterdir()):
            if not is_image(image):
                continue
            key = rel(image, root)
            stem = image.stem
            exp = ann / f"{stem}_exp.npy"
            if not exp.is_file():
                yield Drop(ds, "missing annotation", key, rel(exp, root))
                continue
            try:
                code = _code(_npy_scalar(exp))
                valence = arousal = None
                if (ann / f"{stem}_val.npy").is_file():
                    valence = _affect(float(_npy_scalar(ann / f"{stem}_val.npy")))
                if (ann / f"{stem}_aro.npy").is_file():
                    arousal = _affect(float(_npy_scalar(ann / f"{stem}_aro.npy")))
                landmarks = None
                lnd = ann / f"{stem}_lnd.npy"
                if lnd.is_file():
                    landmarks = _npy_landmarks(lnd)
            except (ValueError, OSError) as exc:
                yield Drop(ds, "bad annotation", key, str(exc))
                continue
            yield Sample(
                ds,
                key,
                FileImage(image),
                {"expression": code},
                split=split,
                landmarks=landmarks,
                valence=valence,
                arousal=arousal,
                where=rel(exp, root),
            )
