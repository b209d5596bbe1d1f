"""RAF-DB `basic/`: EmoLabel/list_patition_label.txt (sic) + Image/ + Annotation/.

Labels are 1-based (1 Surprise ... 7 Neutral) and read verbatim. Names come from
the label file (train ids have 5 digits, test ids 4), never rebuilt from numbers.
Split is the name prefix. Manual 5-point landmarks and boxes are in original-image
coordinates, so they are attached only when reading Image/original/; the aligned
100x100 images (option `images: aligned`) get neither. RAF-DB has no subject ids.
A copy with only Image/aligned/ (the `raf-basic/` folder research code loads, e.g.
EmoLabel/ + Image/aligned/*_aligned.jpg) is read aligned, and says so once.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from facedata.errors import ReaderError
from facedata.manifest.options import RafdbOptions
from facedata.manifest.schema import Manifest, Source
from facedata.read._common import find_one, floats, label_path, rel, text_lines
from facedata.read.registry import register
from facedata.read.sample import Drop, FileImage, Note, Sample

LABEL_FILES = ("list_patition_label.txt", "list_partition_label.txt")
SPLITS = {"train": "train", "test": "test"}


def _label_file(root: Path) -> Path:
    for name in LABEL_FILES:
        found = find_one(root, name, required=False)
        if found is not None:
            return found
    raise ReaderError(
        f"list_patition_label.txt not found under {root}",
        hint="RAF-DB spells it 'patition' (EmoLabel/list_patition_label.txt)",
    )


def _manual(path: Path) -> tuple[list[float], dict[str, int]]:
    """5 landmark lines (x y, tabs or spaces), then gender, race, age group."""
    lines = [line.split() for _, line in text_lines(path) if line.strip()]
    if len(lines) < 5 or any(len(t) != 2 for t in lines[:5]):
        raise ValueError(f"{path.name}: expected 5 'x y' lines first")
    points = [v for t in lines[:5] for v in floats(t)]
    attrs = {}
    for name, tokens in zip(("gender", "race", "age_group"), lines[5:8], strict=False):
        attrs[name] = int(tokens[0])
    return points, attrs


def _bbox(path: Path) -> list[float]:
    tokens = next((line.split() for _, line in text_lines(path) if line.strip()), [])
    if len(tokens) != 4:
        raise ValueError(f"{path.name}: expected 'x_min y_min x_max y_max'")
    x0, y0, x1, y1 = floats(tokens)
    return [x0, y0, x1 - x0, y1 - y0]


# what tells basic/'s content apart, wherever it was saved (see registry.SIGNATURES)
SIGNATURE = ["EmoLabel/list_patition_label.txt"]


@register(RafdbOptions, signature=SIGNATURE)
def read_rafdb(
    manifest: Manifest, source: Source, root: Path, options: RafdbOptions
) -> Iterator[Sample | Drop | Note]:
    ds = manifest.id
    labels = _label_file(root)
    variant = options.images
    images = find_one(root, variant, dirs=True, required=variant == "aligned")
    if images is None:  # aligned-only copies (raf-basic/ in research code): read those
        images = find_one(root, "aligned", dirs=True, required=False)
        if images is None:
            raise ReaderError(
                f"{ds}: neither Image/original/ nor Image/aligned/ found under {root}",
                hint="unpack basic/Image/original.zip (or aligned.zip) in place, or pass the "
                "folder that holds them",
            )
        variant = "aligned"
        yield Note(
            ds,
            "degraded",
            "no Image/original/ in this copy: the aligned 100x100 faces are read, without "
            "the manual landmarks (faces are detected)",
        )
    manual = find_one(root, "manual", dirs=True, required=False) if variant == "original" else None
    boxes = (
        find_one(root, "boundingbox", dirs=True, required=False) if variant == "original" else None
    )
    seen: set[str] = set()
    for n, line in text_lines(labels):
        where = f"{labels.name}:{n}"
        tokens = line.split()
        if not tokens:
            continue
        if len(tokens) != 2:
            yield Drop(ds, "malformed row", where, f"expected '<image> <label>', got {line!r}")
            continue
        name, code = tokens
        if name in seen:
            yield Drop(ds, "duplicate entry", where, name)
            continue
        seen.add(name)
        stem = Path(name).stem
        file = f"{stem}_aligned.jpg" if variant == "aligned" else name
        path = label_path(images, file)
        if isinstance(path, str):
            yield Drop(ds, "unsafe path", where, path)
            continue
        if not path.is_file():
            yield Drop(
                ds, "missing image", where, rel(path, root) if path.is_relative_to(root) else file
            )
            continue
        landmarks = bbox = None
        extra: dict[str, Any] = {}
        try:
            if manual is not None and (manual / f"{stem}_manu_attri.txt").is_file():
                landmarks, extra = _manual(manual / f"{stem}_manu_attri.txt")
            if boxes is not None and (boxes / f"{stem}_boundingbox.txt").is_file():
                bbox = _bbox(boxes / f"{stem}_boundingbox.txt")
        except ValueError as exc:
            yield Drop(ds, "bad annotation", where, str(exc))
            continue
        yield Sample(
            ds,
            rel(path, root),
            FileImage(path),
            {"expression": code},
            split=SPLITS.get(stem.split("_", 1)[0]),
            landmarks=landmarks,
            bbox=bbox,
            extra=extra,
            where=where,
        )
