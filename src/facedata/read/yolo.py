"""YOLO detection exports of an expression dataset: one box per face, its class the
expression.

Layout, as Ultralytics and Roboflow write it (ultralytics docs/datasets/detect: the
`data.yaml` with `names`, and `images/` beside `labels/` per split) and as the
Kaggle AffectNet YOLO copy ships it (`YOLO_format/{train,valid,test}/{images,labels}`):

    data.yaml                     names: [Anger, Contempt, ...] (a list, or {0: Anger})
    train/images/x.jpg            the picture
    train/labels/x.txt            one line per box: `class cx cy w h` (normalised)

The class names are read from the delivery's own data.yaml, never assumed: the codes
are names, so the label map maps them by name and refuses any it does not know, and
an export that orders its classes differently still reads right. A label file whose
boxes disagree on the class, an empty one (no face) and an image without a label
file are counted drops.

Options: splits ({folder: split}, default train/valid/val/test), names_file
(default data.yaml).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from facedata.errors import ReaderError
from facedata.manifest.options import YoloOptions
from facedata.manifest.schema import Manifest, Source
from facedata.read._common import find_one, is_image, rel, split_option, text_lines
from facedata.read.registry import register
from facedata.read.sample import Drop, FileImage, Sample

SPLITS = {"train": "train", "valid": "validation", "val": "validation", "test": "test"}


def class_names(path: Path, ds: str) -> list[str]:
    """`names` from a YOLO data.yaml: a list, or a mapping of 0..n-1 to names."""
    from facedata.errors import ManifestError
    from facedata.files.yamlfile import load_yaml

    try:
        data = load_yaml(path).data
    except ManifestError as exc:
        raise ReaderError(f"{ds}: {path.name}: {exc.message}", hint=exc.hint) from None
    names = data.get("names") if isinstance(data, dict) else None
    if isinstance(names, dict) and sorted(map(str, names)) == sorted(
        str(i) for i in range(len(names))
    ):
        names = [names[k] for k in sorted(names, key=lambda k: int(str(k)))]
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise ReaderError(
            f"{ds}: {path.name} has no class `names` list",
            hint="a YOLO export names its classes in data.yaml (names: [..]); without them "
            "the class numbers cannot be labelled",
        )
    return [n.strip() for n in names]


def _markers(options: YoloOptions) -> list[str]:
    return [options.names_file]


@register(YoloOptions, markers=_markers)
def read_yolo(
    manifest: Manifest, source: Source, root: Path, options: YoloOptions
) -> Iterator[Sample | Drop]:
    ds = manifest.id
    head = options.head
    names_file = find_one(root, options.names_file)
    assert names_file is not None
    names = class_names(names_file, ds)
    splits = {
        str(k): split_option(str(v), f"{ds} splits.{k}")
        for k, v in (options.splits or SPLITS).items()
    }
    present = [(root / f, s) for f, s in splits.items() if (root / f / "images").is_dir()]
    if not present:
        raise ReaderError(
            f"{ds}: no {'/, '.join(splits)}/ folder with images/ under {root}",
            hint="a YOLO export holds <split>/images/ and <split>/labels/ beside data.yaml",
        )
    for folder, split in present:
        labels = folder / "labels"
        for path in sorted((folder / "images").rglob("*")):
            if not path.is_file() or not is_image(path):
                continue
            key = rel(path, root)
            label = labels / path.relative_to(folder / "images").with_suffix(".txt")
            if not label.is_file():
                yield Drop(ds, "image without label", key, rel(label, root))
                continue
            classes = set()
            bad = False
            for _, line in text_lines(label):
                tokens = line.split()
                if not tokens:
                    continue
                if not tokens[0].isdigit() or int(tokens[0]) >= len(names):
                    bad = True
                    break
                classes.add(int(tokens[0]))
            where = rel(label, root)
            if bad:
                yield Drop(ds, "malformed row", where, f"class not in 0..{len(names) - 1}")
                continue
            if not classes:
                yield Drop(ds, "no face", where, "label file lists no box")
                continue
            if len(classes) > 1:
                yield Drop(ds, "ambiguous label", where, "boxes of different classes")
                continue
            (code,) = classes
            yield Sample(ds, key, FileImage(path), {head: names[code]}, split=split, where=where)
