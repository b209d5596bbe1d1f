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
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..errors import ReaderError
from ..manifest import Manifest, Source
from ..sample import Drop, FileImage, Sample
from ._common import csv_rows, label_path, open_csv, rel
from .registry import register

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
FOLDERS = {"FER2013Train": "train", "FER2013Valid": "validation", "FER2013Test": "test"}


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


def _folders(options: dict[str, Any]) -> list[str]:
    return [f"{name}/label.csv" for name in options.get("folders", FOLDERS)][:1]


@register("ferplus", markers=_folders)
def read_ferplus(
    manifest: Manifest, source: Source, root: Path, options: dict[str, Any]
) -> Iterator[Sample | Drop]:
    ds = manifest.id
    folders: dict[str, str] = dict(options.get("folders", FOLDERS))
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
                try:
                    votes = [float(v) for v in row[2:]]
                except ValueError:
                    yield Drop(ds, "malformed row", where, "vote counts are not numbers")
                    continue
                if any(v < 0 or v != v for v in votes):
                    yield Drop(ds, "malformed row", where, "negative vote count")
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
