"""Class-folder layouts: `[<split>/]<class>/<image>`.

Covers mirrors that converted a dataset to folders: msambare/fer2013
(`train|test/<angry..>/`), the AffectNet mirrors (`Train|Test/<anger..>/`, the
alphabetical 8-class order) and chazzer's smiling-or-not (`smile/ non_smile/ test/`).

Options:
  splits: {folder: split}  split folders below root; absent = class folders at root
  head: expression | smile  which head the folder name is a code for
  extensions: [.jpg, ...]
  unlabeled: [folder, ...]  class-level folders with no label (chazzer `test/`):
                            their images are counted as drops, not read
  subject: <regex>          the person id from the file name, the regex's first group
                            (CK+48 `S010_004_00000017.png` -> S010): a build can then
                            split by person; a name it does not match has no subject

The key is the whole relative path: FER2013 folder copies reuse a file name in
several class folders, so the file name alone is not unique.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from facedata.errors import ReaderError
from facedata.manifest.options import ImageFolderOptions
from facedata.manifest.schema import Manifest, Source
from facedata.read._common import IMAGE_EXTENSIONS, is_image, normalise_split, rel, split_option
from facedata.read.registry import register
from facedata.read.sample import Drop, FileImage, Sample


def _images(folder: Path, extensions: frozenset[str]) -> Iterator[Path]:
    for path in sorted(folder.rglob("*")):
        if path.is_file() and is_image(path, extensions):
            yield path


def _class_dirs(folder: Path) -> list[Path]:
    return sorted(
        p for p in folder.iterdir() if p.is_dir() and not p.name.startswith((".", "__MACOSX"))
    )


def _split_folders(options: ImageFolderOptions) -> list[str]:
    """The split folders tell this tree apart from a wrapper around it (`archive (3)/`)."""
    return list(options.splits or {})


def _subject_pattern(ds: str, value: object) -> re.Pattern[str] | None:
    if value is None:
        return None
    try:
        pattern = re.compile(str(value))
    except re.error as exc:
        raise ReaderError(f"{ds}: format.options.subject is not a regex: {exc}") from None
    if pattern.groups < 1:
        raise ReaderError(
            f"{ds}: format.options.subject needs one group, the person id",
            hint=r"e.g. subject: '^(S\d+)_'",
        )
    return pattern


@register(ImageFolderOptions, markers=_split_folders)
def read_imagefolder(
    manifest: Manifest, source: Source, root: Path, options: ImageFolderOptions
) -> Iterator[Sample | Drop]:
    ds = manifest.id
    head = options.head
    chosen = IMAGE_EXTENSIONS if options.extensions is None else options.extensions
    extensions = frozenset(e.lower() for e in chosen)
    unlabeled = set(options.unlabeled)
    subject = _subject_pattern(ds, options.subject)
    splits = options.splits
    if splits:
        tops = [
            (root / folder, split_option(s, f"{ds} splits.{folder}"))
            for folder, s in splits.items()
        ]
        missing = [str(p.name) for p, _ in tops if not p.is_dir()]
        if missing:
            present = ", ".join(p.name for p in _class_dirs(root)) or "(none)"
            raise ReaderError(
                f"{ds}: split folder(s) {', '.join(missing)} not found under {root}",
                hint=f"folders there: {present}; if the split folders sit deeper, set format.root "
                "to their parent, otherwise fix format.options.splits",
            )
    else:
        tops = [(root, None)]
    for top, split in tops:
        classes = _class_dirs(top)
        if not classes:
            raise ReaderError(f"{ds}: no class folders under {top}")
        for folder in classes:
            if folder.name in unlabeled:
                for path in _images(folder, extensions):
                    yield Drop(ds, "unlabeled", rel(path, root), f"{folder.name}/ has no label")
                continue
            for path in _images(folder, extensions):
                key = rel(path, root)
                found = subject.match(path.name) if subject else None
                yield Sample(
                    ds,
                    key,
                    FileImage(path),
                    {head: folder.name},
                    split=split if splits else normalise_split(None),
                    subject_id=found.group(1) if found else None,
                    where=key,
                )
