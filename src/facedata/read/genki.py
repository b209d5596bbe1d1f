"""GENKI-4K: files/fileNNNN.jpg and labels.txt (`smile yaw pitch roll`, line N = image N).

The file has no image names: the pairing is by line number, so a blank or missing
line would shift every later label. Each line is therefore checked on its own and a
bad one becomes a Drop at its own index rather than being skipped.
Labels are sorted (all smiles first) and there is no official split, so samples
carry split None and the build assigns splits by hash, never by position.

Keys are relative to the folder holding labels.txt (`files/file0001.jpg`), so the
same image has the same key whether the tar, its extraction or a wrapper was given.
Some mirrors (a Kaggle copy) ship the images sorted into class folders instead,
`files/smile/` and `files/nonsmile/` (also read: `non_smile/`, `non-smile/`), with no
labels.txt and so no pose: that layout is read too, as codes "1" and "0", and the
missing pose is said once.

The GENKI-R2009a release itself (the tree the MPLab page describes) keeps the images in
`GENKI-R2009a/files/` and the subset's lists in `Subsets/GENKI-4K/`:
`GENKI-4K_Labels.txt` (the same `smile yaw pitch roll` lines) and `GENKI-4K_Images.txt`
(line N names the image of label line N). That layout is read too, pairing the two
files line by line; keys stay `files/<name>`, as in the tar.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from facedata.errors import ReaderError
from facedata.manifest.options import GenkiOptions
from facedata.manifest.schema import Manifest, Source
from facedata.read._common import find_one, floats, is_image, labelled_image, rel, text_lines
from facedata.read.registry import register
from facedata.read.sample import Drop, FileImage, Note, Sample

SMILE_DIRS = ("smile", "smiles")
NON_SMILE_DIRS = ("nonsmile", "non_smile", "non-smile", "nonsmiles")


def _class_folders(root: Path) -> tuple[Path, Path] | None:
    """The (smile, non-smile) folders of the class-folder layout, if this is one."""
    for smile in SMILE_DIRS:
        found = find_one(root, smile, dirs=True, required=False)
        if found is None:
            continue
        for non in NON_SMILE_DIRS:
            if (found.parent / non).is_dir():
                return found, found.parent / non
    return None


def _read_folders(ds: str, root: Path, folders: tuple[Path, Path]) -> Iterator[Sample | Note]:
    yield Note(ds, "file_set", "class folders (smile/, nonsmile/)")
    yield Note(
        ds,
        "degraded",
        "no labels.txt in this copy: class folders give the smile label, and there is no head pose",
    )
    for folder, code in zip(folders, ("1", "0"), strict=True):
        for path in sorted(folder.iterdir()):
            if path.is_file() and is_image(path):
                key = rel(path, folders[0].parent)
                yield Sample(ds, key, FileImage(path), {"smile": code}, where=key)


RELEASE_LABELS = "GENKI-4K_Labels.txt"
RELEASE_IMAGES = "GENKI-4K_Images.txt"


def _label_line(ds: str, line: str, where: str) -> tuple[str, tuple[float, ...]] | Drop:
    """One GENKI-4K label line, `smile yaw pitch roll` (the same in the release's
    GENKI-4K_Labels.txt and a mirror's labels.txt), or the line's drop."""
    tokens = line.split()
    if len(tokens) != 4:
        return Drop(ds, "malformed row", where, f"expected 'smile yaw pitch roll', got {line!r}")
    try:
        pose = tuple(floats(tokens[1:]))
    except ValueError:
        return Drop(ds, "bad number", where, f"pose is not numeric: {line!r}")
    return tokens[0], pose


def _read_release(ds: str, labels: Path) -> Iterator[Sample | Drop | Note]:
    """GENKI-R2009a/Subsets/GENKI-4K/{GENKI-4K_Labels.txt, GENKI-4K_Images.txt} with the
    images in GENKI-R2009a/files/ (two levels above the lists)."""
    names_file = labels.parent / RELEASE_IMAGES
    if not names_file.is_file():
        raise ReaderError(
            f"{ds}: {RELEASE_IMAGES} not found beside {labels.name} in {labels.parent}",
            hint="the GENKI-R2009a release pairs the two lists line by line; pass the whole "
            "GENKI-R2009a folder",
        )
    base = labels.parent.parent.parent
    images = base / "files"
    if not images.is_dir():
        raise ReaderError(
            f"{ds}: the release's files/ folder not found at {images}",
            hint="GENKI-R2009a keeps the images in files/ beside Subsets/; pass the whole "
            "GENKI-R2009a folder",
        )
    names = [line.strip() for _, line in text_lines(names_file)]
    rows = list(text_lines(labels))
    yield Note(ds, "file_set", "GENKI-R2009a release (Subsets/GENKI-4K lists)")
    yield Note(ds, "count", str(len(rows)))
    if len(names) != len(rows):
        raise ReaderError(
            f"{ds}: {RELEASE_IMAGES} has {len(names)} lines and {labels.name} {len(rows)}",
            hint="the lists pair line by line: a copy with different counts would shift "
            "every label; get a complete copy of the release",
        )
    for (n, line), name in zip(rows, names, strict=True):
        where = f"{labels.name}:{n}"
        parsed = _label_line(ds, line, where)
        if isinstance(parsed, Drop):
            yield parsed
            continue
        smile, pose = parsed
        found = labelled_image(ds, images, name, where, base)
        if isinstance(found, Drop):
            yield found
            continue
        path, key = found
        yield Sample(ds, key, FileImage(path), {"smile": smile}, pose=pose, where=where)


@register(GenkiOptions)
def read_genki(
    manifest: Manifest, source: Source, root: Path, options: GenkiOptions
) -> Iterator[Sample | Drop | Note]:
    labels = root / options.labels
    if not labels.is_file():
        found = find_one(root, "labels.txt", required=False)
        release = find_one(root, RELEASE_LABELS, required=False) if found is None else None
        if release is not None:
            yield from _read_release(manifest.id, release)
            return
        if found is None:
            folders = _class_folders(root)
            if folders is not None:
                yield from _read_folders(manifest.id, root, folders)
                return
            raise ReaderError(
                f"{manifest.id}: labels.txt not found under {root}",
                hint="GENKI-4K has labels.txt next to files/ (or, in some mirrors, "
                "files/smile/ and files/nonsmile/); check format.root",
            )
        labels = found
    base = labels.parent  # keys are relative to it, however deep the delivery put it
    images = base / options.images
    pattern = options.pattern
    ds = manifest.id
    last = 0
    # one cheap pass over a small file, so a build's ETA knows the real count at once
    yield Note(ds, "count", str(sum(1 for _ in text_lines(labels))))
    for n, line in text_lines(labels):
        where = f"{labels.name}:{n}"
        last = n
        tokens = line.split()
        if not tokens:
            yield Drop(ds, "blank label line", where, "line N labels image N; nothing here")
            continue
        path = images / pattern.format(n=n)
        key = rel(path, base)
        parsed = _label_line(ds, line, where)
        if isinstance(parsed, Drop):
            yield parsed
            continue
        smile, pose = parsed
        if not path.is_file():
            yield Drop(ds, "missing image", where, key)
            continue
        yield Sample(
            ds,
            key,
            FileImage(path),
            {"smile": smile},
            pose=pose,
            where=where,
        )
    # Images beyond the last label line have no label: count them, never drop silently.
    if images.is_dir():
        for path in sorted(images.iterdir()):
            if not is_image(path):
                continue
            stem = path.stem
            digits = stem[len("file") :] if stem.startswith("file") else ""
            if digits.isdigit() and int(digits) > last:
                yield Drop(
                    ds, "image without label", rel(path, base), f"labels.txt has {last} lines"
                )
