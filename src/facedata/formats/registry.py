"""Reader registry and source dispatch.

A manifest names its reader by string (`format.reader: genki`), so readers register
under those names and the build never imports a layout module directly. Adding a
layout is one module plus one decorator.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from ..errors import ReaderError
from ..manifest import Manifest, Source
from ..sample import Drop, Sample

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
    if not any(ch in pattern for ch in "*?["):
        target = root / pattern
        if target.is_dir():
            return target
        raise ReaderError(
            f"{label}format.root {pattern!r} not found under {root}",
            hint=f"found there: {_listing(root)}",
        )
    matches = sorted(p for p in root.glob(pattern) if p.is_dir() and not (set(p.parts) & _IGNORED))
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


def read_source(
    manifest: Manifest,
    source: Source,
    root: Path,
    admit: Callable[[str | None], tuple[bool, str]] | None = None,
) -> Iterator[Sample | Drop]:
    """Stream one source's samples and drops, whatever its native layout.

    `admit(subject_id) -> (ok, reason)` lets a reader that decodes pixels itself (video
    frames) skip people a build may not use before decoding anything of theirs.
    """
    fmt = manifest.format_for(source)
    reader = get_reader(fmt.reader)
    base = resolve_root(Path(root), fmt.root, manifest.id)
    options = dict(fmt.options)
    if admit is not None:
        options["admit"] = admit
    yield from reader(manifest, source, base, options)
