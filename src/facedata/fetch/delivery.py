"""Which of a source's files a delivered tree holds, and which file set it completes.

People receive the same dataset in several shapes: the archive as downloaded, its
extraction, both side by side, under a top folder of any name. Fetch (to accept or
refuse a delivery) and the readers (to pick what to read) must agree on what
"present" means, so both ask here.

A manifest file counts as present when the tree holds it at its own path, or a file
of the same name anywhere below (a wrapper folder moved it), or, for an archive,
the path it `unpacks_to` (it was delivered already extracted).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from facedata.manifest.schema import FileSet, FileSpec, Source

_JUNK = {"__MACOSX", ".DS_Store"}
MAX_DEPTH = 4  # a wrapper or two above the dataset's own nesting


class TreeIndex:
    """The shallowest file and folder of each name below a root, from one bounded walk.

    Every lookup of a delivery check is answered from one listing, so checking a
    200,000-image tree costs about one `os.walk`, not one per manifest file.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        # name -> (depth, the folder holding it); strings keep 200,000 entries cheap
        self.files: dict[str, tuple[int, str]] = {}
        self.dirs: dict[str, tuple[int, str]] = {}
        base = str(root).count(os.sep)
        for dirpath, dirnames, filenames in os.walk(root):
            depth = dirpath.count(os.sep) - base
            dirnames[:] = sorted(d for d in dirnames if d not in _JUNK and not d.startswith("."))
            if depth >= MAX_DEPTH:
                dirnames[:] = []
            here = (depth, dirpath)
            for table, names in ((self.dirs, dirnames), (self.files, filenames)):
                for name in names:
                    seen = table.get(name)
                    if seen is None or here < seen:  # shallowest, then first by path
                        table[name] = here

    def below(self, name: str, dirs: bool) -> Path | None:
        """The shallowest entry called `name` (its last part), or None."""
        last = Path(name).name
        hit = (self.dirs if dirs else self.files).get(last)
        return None if hit is None else Path(hit[1], last)


def locate(root: Path, spec: FileSpec, index: TreeIndex | None = None) -> Path | None:
    """Where `spec` (or its extraction) is in the tree, or None."""
    direct = root / spec.name
    if direct.is_file():
        return direct
    index = index or TreeIndex(root)
    found = index.below(spec.name, dirs=False)
    if found is not None:
        return found
    inside = [spec.unpacks_to] if isinstance(spec.unpacks_to, str) else spec.unpacks_to or []
    for name in inside:
        direct = root / name
        if direct.exists():
            return direct
        inner = name.rstrip("/")
        hit = index.below(inner, dirs=True) or index.below(inner, dirs=False)
        if hit is not None:
            return hit
    return None


def present(root: Path, src: Source, claimed: set[str] | None = None) -> set[str]:
    """Names of the source's files found in the tree (or `claimed` by the caller)."""
    claimed = claimed or set()
    index: TreeIndex | None = None
    found = set()
    for f in src.files:
        if f.name in claimed or (root / f.name).is_file():
            found.add(f.name)
            continue
        index = index or TreeIndex(root)
        if locate(root, f, index) is not None:
            found.add(f.name)
    return found


@dataclass(frozen=True)
class Completeness:
    """What a tree lacks of a source's delivery, and which alternative it completes."""

    missing: list[str]  # required files absent
    file_set: FileSet | None  # the first complete alternative, if the source has any
    found: set[str]
    needs_set: bool  # the source lists alternatives, so one must be complete

    @property
    def ok(self) -> bool:
        return not self.missing and (self.file_set is not None or not self.needs_set)


def completeness(
    root: Path, src: Source, required: list[FileSpec], claimed: set[str] | None = None
) -> Completeness:
    found = present(root, src, claimed)
    missing = [f.name for f in required if f.name not in found]
    chosen = next((fs for fs in src.file_sets if all(n in found for n in fs.files)), None)
    return Completeness(missing, chosen, found, bool(src.file_sets))


def describe_sets(src: Source) -> str:
    return "; or ".join(" + ".join(fs.files) for fs in src.file_sets)
