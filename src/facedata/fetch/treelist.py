"""The file list of each unpacked cache entry: path, size and sha256 of every file.

`verify` re-hashed the downloaded blobs, but a build reads the unpacked tree: a
labels file edited in the cache (every label flipped) left the blobs intact and
verify said ok. Each published tree now has a list of its files, written when the
tree is built, beside it (`.SOURCE.files.json`, outside the tree the readers walk):

- `verify` re-hashes every file against it and reports added, removed and changed
  files; a tree that fails is marked damaged in the list;
- `build` (through `fetched`) compares sizes and modification times, cheaply (a
  file whose time changed is hashed, so a cache copied without its times is read),
  and refuses a tree that changed or that verify marked damaged, until it is fetched
  again (`facedata fetch ID --force`).

A tree without a list (fetched by an older facedata) is read as before.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import facedata.files.jsontext as jsontext
from facedata.errors import FetchError
from facedata.fetch.store import file_sha256, tree_dir
from facedata.files.atomic import atomic_write_text

FORMAT = "facedata-tree/1"


@dataclass(frozen=True)
class FileState:
    size: int
    sha256: str
    mtime_ns: int


def listing_path(dataset: str, source: str) -> Path:
    tree = tree_dir(dataset, source)
    return tree.with_name(f".{tree.name}.files.json")


def _files(root: Path) -> dict[str, os.stat_result]:
    """Regular files below `root`, links not followed (the links a tree keeps resolve
    inside it, so their targets are listed themselves)."""
    out: dict[str, os.stat_result] = {}
    stack = [""]  # relative folders still to list; scandir's entries carry their lstat
    while stack:
        rel = stack.pop()
        with os.scandir(os.path.join(root, rel) if rel else root) as entries:
            for entry in entries:
                name = f"{rel}/{entry.name}" if rel else entry.name
                st = entry.stat(follow_symlinks=False)
                if stat.S_ISDIR(st.st_mode):
                    stack.append(name)
                elif stat.S_ISREG(st.st_mode):
                    out[name] = st
    return out


def record(root: Path) -> dict[str, FileState]:
    """Hash every file of the tree at `root` (before it is published)."""
    return {
        rel: FileState(st.st_size, file_sha256(root / rel)[0], st.st_mtime_ns)
        for rel, st in sorted(_files(root).items())
    }


def write(dataset: str, source: str, files: dict[str, FileState], damaged: str = "") -> None:
    data: dict[str, Any] = {
        "format": FORMAT,
        "files": {k: [v.size, v.sha256, v.mtime_ns] for k, v in files.items()},
    }
    if damaged:
        data["damaged"] = damaged
    atomic_write_text(listing_path(dataset, source), json.dumps(data, separators=(",", ":")))


def read(dataset: str, source: str) -> tuple[dict[str, FileState], str] | None:
    """The recorded files and the damage verify found ("" when none), or None when the
    tree has no list. An unreadable list is itself damage."""
    path = listing_path(dataset, source)
    if not path.is_file():
        return None
    try:
        data = jsontext.loads(path.read_text(encoding="utf-8"))
        files = {
            str(k): FileState(int(v[0]), str(v[1]), int(v[2])) for k, v in data["files"].items()
        }
        return files, str(data.get("damaged") or "")
    except (OSError, ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
        return {}, f"its file list {path} is unreadable ({type(exc).__name__})"


def _summary(kind: str, names: list[str]) -> str:
    shown = ", ".join(names[:3]) + (", ..." if len(names) > 3 else "")
    return f"{len(names)} {kind} ({shown})"


def differences(
    root: Path, files: dict[str, FileState], full: bool, retimed: set[str] | None = None
) -> str:
    """What differs between the tree at `root` and its list ("" when nothing): files
    added, removed, or changed (by sha256 with `full`; else by size, and a file whose
    time changed is hashed, so a cache copied without its times is not refused; such
    files are added to `retimed`)."""
    now = _files(root)
    added = sorted(set(now) - set(files))
    removed = sorted(set(files) - set(now))
    changed = []
    for rel in sorted(set(now) & set(files)):
        want, st = files[rel], now[rel]
        if st.st_size != want.size:
            changed.append(rel)
        elif full or st.st_mtime_ns != want.mtime_ns:
            if file_sha256(root / rel)[0] != want.sha256:
                changed.append(rel)
            elif st.st_mtime_ns != want.mtime_ns and retimed is not None:
                retimed.add(rel)
    parts = [
        _summary(kind, names)
        for kind, names in (("changed", changed), ("added", added), ("removed", removed))
        if names
    ]
    return "; ".join(parts)


def refuse_if_changed(dataset: str, source: str, root: Path) -> None:
    """The cheap check a build makes before reading a cached tree."""
    listed = read(dataset, source)
    if listed is None:
        return
    files, damaged = listed
    retimed: set[str] = set()
    problem = damaged or differences(root, files, full=False, retimed=retimed)
    if retimed and not problem:  # same bytes, new times (a copied cache): remember them
        now = _files(root)
        files = {
            k: FileState(v.size, v.sha256, now[k].st_mtime_ns) if k in retimed else v
            for k, v in files.items()
        }
        with contextlib.suppress(OSError):  # a read-only cache is still readable
            write(dataset, source, files)
    if problem:
        raise FetchError(
            f"the cached files of {dataset} [{source}] changed since they were fetched: {problem}",
            hint=f"they are not the bytes that were verified; fetch them again with "
            f"`facedata fetch {dataset} --force` (or --from the copy you have)",
        )


def verify_tree(dataset: str, source: str, root: Path) -> tuple[bool, str] | None:
    """Re-hash the tree against its list; a failure is recorded, so builds refuse the
    tree until it is fetched again. None when the tree has no list."""
    listed = read(dataset, source)
    if listed is None:
        return None
    files, damaged = listed
    problem = differences(root, files, full=True) or damaged
    if problem and not damaged:
        with contextlib.suppress(OSError):  # a read-only cache: reported, not recorded
            write(dataset, source, files, damaged=problem)
    return (not problem, problem)
