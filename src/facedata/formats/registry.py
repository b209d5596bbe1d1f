"""Reader registry and source dispatch.

A manifest names its reader by string (`format.reader: genki`), so readers register
under those names and the build never imports a layout module directly. Adding a
layout is one module plus one decorator.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from .. import confine
from ..errors import ReaderError
from ..manifest import Manifest, Source
from ..sample import Drop, FileImage, Sample

Reader = Callable[[Manifest, Source, Path, dict[str, Any]], Iterator[Sample | Drop]]

READERS: dict[str, Reader] = {}

_IGNORED = {"__MACOSX", ".DS_Store"}


def register(name: str) -> Callable[[Reader], Reader]:
    """Make a reader reachable from manifests as `format.reader: <name>`."""

    def deco(fn: Reader) -> Reader:
        if name in READERS and READERS[name] is not fn:
            raise ValueError(f"reader {name!r} registered twice")
        READERS[name] = fn
        return fn

    return deco


def get_reader(name: str) -> Reader:
    try:
        return READERS[name]
    except KeyError:
        raise ReaderError(
            f"unknown reader {name!r}",
            hint=f"format.reader must be one of: {', '.join(sorted(READERS))}",
        ) from None


def _listing(root: Path, limit: int = 12) -> str:
    if not root.is_dir():
        return "(the folder does not exist)"
    names = sorted(p.name + ("/" if p.is_dir() else "") for p in root.iterdir())
    more = f", ... ({len(names) - limit} more)" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more if names else "(empty)"


def resolve_root(root: Path, pattern: str, dataset: str = "") -> Path:
    """The folder a reader works in: `format.root` (a glob) below the unpacked source.

    Globs exist because top-folder names are often unconfirmed (GENKI4K/ vs
    genki4k/, SMILEsmileD-<branch>/). Only folders count: archives are unpacked where
    they sit, so a glob like `*` would otherwise also match the archive itself.
    Ambiguity is an error rather than a guess, because reading the wrong tree
    silently produces a wrong corpus.
    """
    root = Path(root)
    label = f"{dataset}: " if dataset else ""
    if not root.is_dir():
        state = "is a file, not a folder" if root.exists() else "does not exist"
        raise ReaderError(
            f"{label}source folder {root} {state}",
            hint="fetch the dataset first, or pass the unpacked folder with --root "
            "(unpack an archive first, or register it with `facedata fetch ID --from`)",
        )
    if pattern in ("", "."):
        return root
    problem = confine.name_problem(pattern)
    if problem:
        raise ReaderError(
            f"{label}format.root: {problem}",
            hint="format.root names a folder inside the unpacked source",
        )
    if not any(ch in pattern for ch in "*?["):
        target = root / pattern
        if target.is_dir() and confine.is_inside(root, target):
            return target
        raise ReaderError(
            f"{label}format.root {pattern!r} not found under {root}",
            hint=f"found there: {_listing(root)}",
        )
    matches = sorted(
        p
        for p in root.glob(pattern)
        if p.is_dir() and not (set(p.parts) & _IGNORED) and confine.is_inside(root, p)
    )
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise ReaderError(
            f"{label}format.root {pattern!r} matches no folder under {root}",
            hint=f"found there: {_listing(root)}",
        )
    shown = ", ".join(str(m.relative_to(root)) for m in matches[:12])
    raise ReaderError(
        f"{label}format.root {pattern!r} matches {len(matches)} folders under {root}: {shown}",
        hint="make format.root specific enough to match exactly one folder",
    )


def read_source(manifest: Manifest, source: Source, root: Path) -> Iterator[Sample | Drop]:
    """Stream one source's samples and drops, whatever its native layout."""
    fmt = manifest.format_for(source)
    reader = get_reader(fmt.reader)
    base = resolve_root(Path(root), fmt.root, manifest.id)
    stream = reader(manifest, source, base, dict(fmt.options))
    if source.kind == "local":  # own recordings: read where the manifest's author put them
        yield from stream
        return
    yield from confined(manifest.id, Path(root), stream)


def confined(dataset: str, root: Path, stream: Iterator[Sample | Drop]) -> Iterator[Sample | Drop]:
    """Only images that resolve inside the dataset's tree; the rest are counted drops.

    Whatever a reader joined together (a label row's path, a class folder that is a
    link), the file read is judged by where it really is. A kept image is referred to
    by its resolved path, which `FileImage` opens without following links. A reader
    failing on a hostile file (a CSV field over the limit, a name the system refuses)
    ends in a ReaderError instead of a traceback.
    """
    items = iter(stream)
    try:
        while True:
            with confine.reading_inside(root):
                item = next(items, None)
            if item is None:
                return
            if isinstance(item, Sample) and isinstance(item.image, FileImage):
                path = item.image.path
                if not confine.is_inside(root, path):
                    yield Drop(dataset, "outside dataset", item.where or item.key, str(path))
                    continue
                real = os.path.realpath(path)
                if real != os.path.abspath(path):
                    item.image = FileImage(Path(real))
                del real
            yield item
    except csv.Error as exc:
        raise ReaderError(
            f"{dataset}: unreadable CSV under {root}: {exc}",
            hint="a field or line is malformed or far too long; get a clean copy of the file",
        ) from None
    except OSError as exc:
        if exc.errno is None:
            raise
        raise ReaderError(
            f"{dataset}: cannot read {exc.filename or root}: {exc.strerror}",
            hint="a name in the dataset is unusable on this system (too long, or a link loop); "
            "get a clean copy",
        ) from None
