"""FER+: FER2013 relabelled by ten annotators (microsoft/FERPlus).

Layout, as the repository's `src/generate_training_data.py` writes it from
fer2013.csv and fer2013new.csv, and `src/ferplus.py` reads it:

    FER2013Train/ FER2013Valid/ FER2013Test/
        fer0000000.png ...          48x48 grey
        label.csv                   no header: image name, face box "(x, y, w, h)",
                                    then 10 vote counts in the order
                                    neutral, happiness, surprise, sadness, anger,
                                    disgust, fear, contempt, unknown, NF

The label is the majority by the paper's rule (`_process_data`, mode "majority"):
votes of a single annotator are outliers and removed first; the emotion with the
most remaining votes is the label only if it has more than half of them. A tie
therefore never has a majority and the row is dropped ("no majority"), as the
repository drops it. A majority of `unknown` or `NF` (not a face) becomes that code,
which the manifest's label map drops, as ferplus.py drops it. The raw votes of the
eight emotions go with the sample (extra["votes"]), for the soft-label column.

The repository itself ships the votes as one file, `fer2013new.csv` (header `Usage,
Image name, neutral, ..., NF`, one row per fer2013.csv row, in the same order; an
empty image name marks a row FER+ removed). Many copies are that file beside
fer2013.csv, never run through the script: with the option `labels_csv` the two are
read row by row exactly as generate_training_data.py pairs them, keyed and split
as the script's folders would be, so both shapes give the same corpus. The two
files must agree on every row's Usage and on their length, or the read is refused:
a fer2013.csv of another order or another release would pair votes with the wrong
faces without any other sign.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from facedata.errors import ReaderError
from facedata.manifest.options import FERPLUS_FOLDERS, FerplusOptions
from facedata.manifest.schema import Manifest, Source
from facedata.read._common import csv_rows, find_one, label_path, open_csv, rel
from facedata.read.registry import register
from facedata.read.sample import Drop, FileImage, PixelImage, Sample, parse_pixels

VOTE_NAMES = (
    "neutral",
    "happiness",
    "surprise",
    "sadness",
    "anger",
    "disgust",
    "fear",
    "contempt",
    "unknown",
    "NF",
)
FOLDERS = FERPLUS_FOLDERS


def majority(votes: list[float]) -> str | None:
    """The FER+ majority code for ten vote counts, or None where there is none."""
    kept = [v if v > 1.0 else 0.0 for v in votes]  # a single vote is an outlier
    total = sum(kept)
    if total <= 0:
        return None
    best = max(kept)
    if best <= 0.5 * total:  # ties land here: two equal maxima are never > half
        return None
    return VOTE_NAMES[kept.index(best)]


USAGE_FOLDERS = {
    "Training": "FER2013Train",
    "PublicTest": "FER2013Valid",
    "PrivateTest": "FER2013Test",
}


def _folders(options: FerplusOptions) -> list[str]:
    if options.labels_csv:
        return [options.labels_csv]
    return [f"{name}/label.csv" for name in options.folders][:1]


def _count_rows(path: Path) -> int:
    """Data rows of a CSV whose fields hold no line breaks (both FER files)."""
    lines = 0
    last = b"\n"
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 22):
            lines += chunk.count(b"\n")
            last = chunk[-1:]
    return lines + (last != b"\n") - 1  # a last line without newline; minus the header


def _votes(ds: str, row: list[str], where: str) -> list[float] | Drop:
    """The ten annotators' vote counts of a FER+ label row (both the folders' label.csv
    and fer2013new.csv put them after two leading fields), or the row's drop."""
    try:
        votes = [float(v) for v in row[2:]]
    except ValueError:
        return Drop(ds, "malformed row", where, "vote counts are not numbers")
    if any(v < 0 or v != v for v in votes):
        return Drop(ds, "malformed row", where, "negative vote count")
    return votes


def _read_labels_csv(
    ds: str, root: Path, labels_csv: str, options: FerplusOptions
) -> Iterator[Sample | Drop]:
    """fer2013new.csv paired row by row with fer2013.csv (generate_training_data.py)."""
    votes_path = find_one(root, labels_csv)
    assert votes_path is not None
    pixels_name = options.pixels_csv
    pixels_path = find_one(root, pixels_name, required=False)
    if pixels_path is None:
        raise ReaderError(
            f"{ds}: {votes_path.name} holds FER+'s votes only; {pixels_name} (the faces) "
            f"was not found under {root}",
            hint=f"put FER2013's {pixels_name} (from `facedata fetch fer2013` or the Kaggle "
            f"competition's fer2013.tar.gz) beside {votes_path.name} and pass that folder",
        )
    n_votes, n_pixels = _count_rows(votes_path), _count_rows(pixels_path)
    if n_votes != n_pixels:
        raise ReaderError(
            f"{ds}: {votes_path.name} has {n_votes} rows but {pixels_path.name} has "
            f"{n_pixels}: they are paired row by row, so they must be the same length",
            hint=f"use the complete fer2013.csv of the FER2013 competition ({n_votes} rows "
            "expected), not train.csv, test.csv or another release",
        )
    size = 48
    deferred = options.defer_pixels
    with open_csv(votes_path) as vfh, open_csv(pixels_path) as pfh:
        votes_rows, pixel_rows = csv_rows(vfh), csv_rows(pfh)
        vhead = [h.strip().lower() for h in next(votes_rows, [])]
        phead = [h.strip().lower() for h in next(pixel_rows, [])]
        if vhead[:2] != ["usage", "image name"] or len(vhead) != 12:
            raise ReaderError(
                f"{ds}: {votes_path.name}:1: header {vhead}, expected Usage, Image name and "
                "ten vote columns",
                hint="pass microsoft/FERPlus's fer2013new.csv as the repository ships it",
            )
        if "pixels" not in phead or "usage" not in phead:
            raise ReaderError(
                f"{ds}: {pixels_path.name}:1: header {phead}, expected emotion,pixels,Usage",
                hint="pair fer2013new.csv with FER2013's fer2013.csv",
            )
        px, use = phead.index("pixels"), phead.index("usage")
        for vrow, prow in zip(votes_rows, pixel_rows, strict=False):
            where = f"{votes_path.name}:{votes_rows.line_num}"
            usage = vrow[0].strip() if vrow else ""
            theirs = prow[use].strip() if len(prow) > use else ""
            if usage != theirs:
                raise ReaderError(
                    f"{ds}: {where} says Usage {usage!r} but {pixels_path.name}:"
                    f"{pixel_rows.line_num} says {theirs!r}: the files are not in the same order",
                    hint="pair fer2013new.csv with the original fer2013.csv of the FER2013 "
                    "competition, unsorted and unfiltered",
                )
            if len(vrow) != 12:
                yield Drop(ds, "malformed row", where, f"{len(vrow)} fields, expected 12")
                continue
            name = vrow[1].strip()
            if not name:
                yield Drop(ds, "removed by FER+", where, "no image name: not kept by FER+")
                continue
            folder = USAGE_FOLDERS.get(usage)
            if folder is None:
                yield Drop(ds, "unknown split", where, f"Usage {usage!r}")
                continue
            votes = _votes(ds, vrow, where)
            if isinstance(votes, Drop):
                yield votes
                continue
            code = majority(votes)
            if code is None:
                yield Drop(ds, "no majority", where, "no emotion has over half the votes")
                continue
            pixels: bytes | str = prow[px]
            if not deferred:
                pixels = parse_pixels(prow[px], size * size)
                if isinstance(pixels, str):
                    yield Drop(ds, "bad pixels", where, pixels)
                    continue
            yield Sample(
                ds,
                f"{folder}/{name}",
                PixelImage(pixels, size, size, "L", origin=where),
                {"expression": code},
                split=FOLDERS[folder],
                extra={"votes": dict(zip(VOTE_NAMES[:8], votes[:8], strict=True))},
                where=where,
            )


@register(FerplusOptions, markers=_folders)
def read_ferplus(
    manifest: Manifest, source: Source, root: Path, options: FerplusOptions
) -> Iterator[Sample | Drop]:
    ds = manifest.id
    if options.labels_csv:
        yield from _read_labels_csv(ds, root, options.labels_csv, options)
        return
    folders = options.folders
    present = [(root / name, split) for name, split in folders.items() if (root / name).is_dir()]
    if not present:
        raise ReaderError(
            f"{ds}: none of {', '.join(f + '/' for f in folders)} found under {root}",
            hint="FER+ is the output of microsoft/FERPlus generate_training_data.py: pass the "
            "folder that holds FER2013Train/, FER2013Valid/ and FER2013Test/",
        )
    for folder, split in present:
        labels = folder / "label.csv"
        if not labels.is_file():
            raise ReaderError(
                f"{ds}: {folder.name}/label.csv not found under {root}",
                hint="each FER2013* folder holds its images and the label.csv "
                "generate_training_data.py copies from the FERPlus repository's data/",
            )
        with open_csv(labels) as lines:
            rows = csv_rows(lines)
            for row in rows:
                where = f"{rel(labels, root)}:{rows.line_num}"
                if not row or not row[0].strip():
                    continue
                if len(row) != 12:
                    yield Drop(ds, "malformed row", where, f"{len(row)} fields, expected 12")
                    continue
                votes = _votes(ds, row, where)
                if isinstance(votes, Drop):
                    yield votes
                    continue
                path = label_path(folder, row[0].strip())
                if isinstance(path, str):
                    yield Drop(ds, "unsafe path", where, path)
                    continue
                if not path.is_file():
                    yield Drop(ds, "missing image", where, row[0])
                    continue
                code = majority(votes)
                if code is None:
                    yield Drop(ds, "no majority", where, "no emotion has over half the votes")
                    continue
                yield Sample(
                    ds,
                    rel(path, root),
                    FileImage(path),
                    {"expression": code},
                    split=split,
                    extra={"votes": dict(zip(VOTE_NAMES[:8], votes[:8], strict=True))},
                    where=where,
                )
