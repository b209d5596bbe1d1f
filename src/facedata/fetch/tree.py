"""Lay out a source's unpacked tree from blobs: the folder readers walk.

The rule readers rely on: the tree mirrors the `files[].name` paths of the source;
an archive is unpacked into the folder where it sits (its bytes stay only in the blob
store); a Kaggle download lands at the tree root. The whole tree is assembled in a
temp folder and renamed into place, so readers never see half a dataset.
"""

from __future__ import annotations

import os
import posixpath
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .. import confine
from ..atomic import atomic_dir
from . import treelist
from .store import link_or_copy, tree_dir
from .unpack import Budget, archive_kind, is_archive_name, unpack

# an archive as obtained (a person's wrapper zip), the download inside it (the
# competition zip) and the archive inside that (fer2013.tar.gz)
NESTED_DEPTH = 3


@dataclass(frozen=True)
class Placement:
    """Put `path` at `name` in the tree, or unpack it into `name`'s folder."""

    name: str
    path: Path
    unpack: bool


def build_tree(
    dataset: str,
    source: str,
    placements: list[Placement],
    *,
    nested: bool = False,
    loose_from: Path | None = None,
    loose: list[str] | None = None,
    check: Callable[[Path], None] | None = None,
) -> Path:
    """Assemble and publish the tree; `nested` also unpacks archives found inside archives.

    Nested unpacking is for downloads that wrap archives (a Kaggle zip holding
    fer2013.tar.gz; a person's zip of that download): up to NESTED_DEPTH archives
    deep, each inner archive removed once unpacked.
    `loose` names files of a registered folder (`loose_from`) placed as they are.

    Every archive of the tree, nested ones included, draws on one unpack budget, and
    links that do not resolve inside the finished tree are removed before it is
    published (`confine.sweep_links`).
    `check` sees the finished tree before it is published; raising discards it.
    """
    target = tree_dir(dataset, source)
    budget = Budget(max_depth=NESTED_DEPTH)
    with atomic_dir(target) as tmp:
        if loose_from is not None and loose:
            copy_folder(loose_from, tmp, loose)
        for p in placements:
            folder = tmp / posixpath.dirname(p.name)
            confine.inside(tmp, folder, p.name)
            if p.unpack:
                members = unpack(p.path, folder, name=p.name, budget=budget)
                if nested:
                    unpack_inner(folder, members, budget)
            else:
                dst = tmp / p.name
                if dst.is_symlink() or dst.exists():
                    dst.unlink()
                link_or_copy(p.path, dst)
        confine.sweep_links(tmp)
        if check is not None:
            check(tmp)
        # what verify re-hashes and a build compares with; written before the tree is
        # published, so a failure here (a full disk) leaves the old tree in place, and
        # a crash between the two leaves a list the old tree fails (refused, never trusted)
        treelist.write(dataset, source, treelist.record(tmp))
    return target


def unpack_inner(
    folder: Path, members: list[str], budget: Budget | None = None, depth: int = 2
) -> None:
    """Unpack archives listed in `members` (relative to `folder`) where they sit,
    and archives inside those; the shared budget bounds bytes, members and depth."""
    budget = budget or Budget(max_depth=NESTED_DEPTH)
    for name in members:
        path = folder / name
        if not is_archive_name(name) or path.is_symlink() or not path.is_file():
            continue
        if archive_kind(path) is None:
            continue
        inner = unpack(path, path.parent, name=name, budget=budget, depth=depth)
        os.unlink(path)
        unpack_inner(path.parent, inner, budget, depth + 1)


def hub_repo(folder: Path) -> Path | None:
    """The Hub cache repository folder when `folder` is one of its `snapshots/<commit>/`
    (huggingface_hub file_download.py: each file there is a link into `<repo>/blobs/`),
    else None. A snapshot's files are read confined to that repository, not to the
    snapshot folder their links leave."""
    repo = folder.parent.parent
    blobs = repo / "blobs"
    if folder.parent.name == "snapshots" and blobs.is_dir() and not blobs.is_symlink():
        return repo
    return None


def copy_folder(src: Path, dst: Path, names: list[str]) -> None:
    """Copy the loose files of a registered folder into the tree.

    Always a copy, never a hard link: a link would share the inode with the person's
    own file, so a later write to the cache (or theirs to the file) would change both.
    Each file is opened as a regular file that resolves inside `src` (a link inside the
    folder may point to another file in it, never out), and written as a new file that
    is not a link.
    """
    checked: set[Path] = set()
    within = hub_repo(src) or src
    for name in names:
        s, d = src / name, dst / name
        with confine.open_regular(within, s) as fh, confine.create_new(dst, d, checked) as out:
            shutil.copyfileobj(fh, out, 1024 * 1024)
