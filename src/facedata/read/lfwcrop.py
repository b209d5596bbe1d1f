"""Mendeley smile lists (SMILE_list.txt / NON-SMILE_list.txt) over LFWcrop faces.

The lists hold LFW names ending in `.jpg`, but LFWcrop ships `<Name>_<NNNN>.ppm`, so
the extension is swapped. The lists are CRLF and contain junk lines (`listt.txt`,
the list's own name, a line holding one space); each is counted as a drop so the
totals add up to the file. The code is the list's file stem.

The subject id is the LFW person name: the two lists are split by alphabet
(NON-SMILE runs A..Jacques, SMILE James..Z), so the class is confounded with
identity, and only subject-aware splits and reports can expose that.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from facedata.errors import ReaderError
from facedata.manifest.options import LfwcropOptions
from facedata.manifest.schema import Manifest, Source
from facedata.read._common import find_one, labelled_image, option_path, text_lines
from facedata.read.registry import register
from facedata.read.sample import Drop, FileImage, Sample

LISTS = ("SMILE_list.txt", "NON-SMILE_list.txt")


def _faces_dir(root: Path, options: LfwcropOptions) -> Path:
    if options.faces:
        return option_path(root, options.faces, "faces", "faces", dirs=True)
    for variant in ("lfwcrop_color", "lfwcrop_grey"):
        top = find_one(root, variant, dirs=True, required=False)
        if top is not None and (top / "faces").is_dir():
            return top / "faces"
    raise ReaderError(
        f"LFWcrop faces not found under {root}",
        hint="unpack lfwcrop_color.zip (lfwcrop_color/faces/*.ppm) next to the lists",
    )


def _subject(stem: str) -> str:
    name, _, number = stem.rpartition("_")
    return name if number.isdigit() and name else stem


@register(LfwcropOptions)
def read_lfwcrop_lists(
    manifest: Manifest, source: Source, root: Path, options: LfwcropOptions
) -> Iterator[Sample | Drop]:
    ds = manifest.id
    faces = _faces_dir(root, options)
    ext = options.extension
    chosen = (options.list_0, options.list_1)
    lists = [option_path(root, chosen[i], f"list_{i}", name) for i, name in enumerate(LISTS)]
    seen: dict[str, str] = {}  # image name -> list code, to catch a name in both lists
    conflicts = set()
    entries: list[tuple[str, str, str]] = []
    for path in lists:
        code = path.stem
        for n, line in text_lines(path):
            where = f"{path.name}:{n}"
            name = line.strip()
            if not name.lower().endswith(".jpg") or name in LISTS:
                yield Drop(ds, "junk line", where, repr(line))
                continue
            if name in seen and seen[name] != code:
                conflicts.add(name)
            seen.setdefault(name, code)
            entries.append((name, code, where))
    emitted: set[str] = set()
    for name, code, where in entries:
        if name in emitted:
            yield Drop(ds, "duplicate entry", where, f"{name} listed twice")
            continue
        emitted.add(name)
        if name in conflicts:
            yield Drop(ds, "conflicting duplicate", where, f"{name} is in both lists")
            continue
        stem = name[: -len(".jpg")]
        found = labelled_image(ds, faces, f"{stem}{ext}", where, root)
        if isinstance(found, Drop):
            yield found
            continue
        image, key = found
        yield Sample(
            ds, key, FileImage(image), {"smile": code}, subject_id=_subject(stem), where=where
        )
