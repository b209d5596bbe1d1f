"""Lay out a source's unpacked tree from blobs: the folder readers walk.

The rule readers rely on: the tree mirrors the `files[].name` paths of the source;
an archive is unpacked into the folder where it sits (its bytes stay only in the blob
store); a Kaggle download lands at the tree root. The whole tree is assembled in a
temp folder and renamed into place, so readers never see half a dataset.
"""

from __future__ import annotations

import os
import posixpath
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import facedata.files.confine as confine
from facedata.fetch import treelist
from facedata.fetch.store import link_or_copy, tree_dir
from facedata.fetch.unpack import Budget, archive_kind, is_archive_name, unpack
from facedata.files.atomic import atomic_dir

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


def hub_blobs(folder: Path) -> Path | None:
    """The `blobs/` folder of a Hugging Face cache snapshot (`snapshots/<commit>/`).

    huggingface_hub stores a snapshot's files once, under the repository's `blobs/`,
    and links them from `snapshots/<commit>/`: those links, and only those, may lead
    out of such a folder (into that one `blobs/`), so a Hub cache can be passed as is.
    """
    folder = Path(os.path.abspath(folder))
    blobs = folder.parent.parent / "blobs"
    if (
        folder.parent.name == "snapshots"
        and re.fullmatch(r"[0-9a-f]{40}", folder.name)
        and blobs.is_dir()
        and not blobs.is_symlink()
    ):
        return blobs
    return None


def copy_folder(src: Path, dst: Path, names: list[str]) -> None:
    """Copy the loose files of a registered folder into the tree.

    Always a copy, never a hard link: a link would share the inode with the person's
    own file, so a later write to the cache (or theirs to the file) would change both.
    Each file is opened as a regular file that resolves inside `src` (a link inside the
    folder may point to another file in it, never out; a Hub cache snapshot's links
    may point into its own `blobs/`), and written as a new file that is not a link.
    """
    checked: set[Path] = set()
    blobs = hub_blobs(src)
    for name in names:
        s, d = src / name, dst / name
        root = blobs if blobs is not None and confine.is_inside(blobs, s) else src
        with confine.open_regular(root, s) as fh, confine.create_new(dst, d, checked) as out:
            shutil.copyfileobj(fh, out, 1024 * 1024)
