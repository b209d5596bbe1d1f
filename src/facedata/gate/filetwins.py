"""Copies recognised by their image files, not only by their archives.

The gate's copy check (`TwinIndex`) knows each dataset by its manifest's addresses and
by the sha256 of what was fetched for it: the archive, or a digest over a folder given
with `--from`. A copy re-packed, renamed, pushed to the fetch cache under another id,
or given as a folder of the same photos shares none of those, but it shares its image
files. Each fetched tree lists every file's sha256 (the local tree's file list, the
cache's listing), so the gate adds the image files' hashes to each dataset's
identities: a source whose images are another, stricter dataset's images is refused
for that dataset's tier, and a withdrawal follows the people into the copy.

A tree of up to FULL images is known by all of them. A bigger one is known by a
sample taken by value: only the image files whose sha256 begins with SAMPLE, the same
rule for every tree, so a file kept on one side is kept on the other. That bounds
the index (a million images give about 62,000 hashes); a copy is still caught when
either side is complete, and when both are sampled any copy of more than a few dozen
images is (a copy of 100 shares a sampled hash with probability
1 - (15/16)**100 > 0.998). A small copy of a huge dataset (a handful of its photos)
can slip through: say so where it matters.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import Any

from facedata.read._common import IMAGE_EXTENSIONS

SAMPLE = "0"  # the first hex digit of the sha256 of the image files a big tree keeps
FULL = 250_000  # a tree with up to this many images is known by all of them
MAX_TREES = 10_000  # tree listings read from a fetch cache (bounded: the store is hostile)


def sampled(files: Mapping[str, tuple[int, str]]) -> set[str]:
    """The image hashes one tree is known by, from its {relpath: (size, sha256)}: all of
    them up to FULL images, else those beginning with SAMPLE."""
    images = {
        sha
        for rel, (size, sha) in files.items()
        if size > 0 and os.path.splitext(rel)[1].lower() in IMAGE_EXTENSIONS
    }
    if len(images) <= FULL:
        return images
    return {sha for sha in images if sha.startswith(SAMPLE)}


def local_trees(datasets: Iterable[str]) -> dict[str, set[str]]:
    """Sampled image hashes of every tree this home fetched, by dataset."""
    from facedata.fetch import treelist
    from facedata.fetch.store import read_lock

    wanted = set(datasets)
    out: dict[str, set[str]] = {}
    for dataset, sources in read_lock().items():
        if dataset not in wanted:
            continue
        for source in sources:
            listed = treelist.read(dataset, source)
            if listed is None:
                continue
            files = {rel: (f.size, f.sha256) for rel, f in listed[0].items()}
            out.setdefault(dataset, set()).update(sampled(files))
    return out


def cache_trees(loc: Any, datasets: Iterable[str]) -> dict[str, set[str]]:
    """Sampled image hashes and lock hashes of every tree on the fetch cache at `loc`
    whose dataset the catalog knows, by dataset. A listing that fails its checks is
    refused, as when it is built from."""
    from facedata.storage.cachetree import MAX_LISTING_BYTES, parse_listing
    from facedata.storage.location import StorageError
    from facedata.storage.remote import connect

    wanted = set(datasets)
    store = connect(loc)
    out: dict[str, set[str]] = {}
    keys = [k for k, _size in store.listing("trees")]
    if len(keys) > MAX_TREES:
        raise StorageError(
            f"the fetch cache {loc.url} lists {len(keys):,} trees, over the {MAX_TREES:,} read",
            hint="a fetch cache holds one tree per fetched source; clean it by hand",
        )
    for key in sorted(keys):
        parts = key.split("/")
        if len(parts) != 3 or not parts[2].endswith(".json") or parts[1] not in wanted:
            continue
        dataset, source = parts[1], parts[2][: -len(".json")]
        raw = store.read_bytes(key, MAX_LISTING_BYTES)
        if raw is None:
            continue
        listing = parse_listing(raw, f"{loc.url}/{key}", dataset, source)
        found = out.setdefault(dataset, set())
        found.update(sampled(listing.files))
        found.update(e.sha256 for e in listing.lock.files)
    return out


def of_result(result: Any) -> set[str]:
    """Sampled image hashes of the tree a build would read (a local tree or a cache
    view); empty for own data and for a tree without a file list."""
    objects = getattr(result, "objects", None)
    if isinstance(objects, dict):  # a view of the fetch cache
        return sampled(objects)
    source = getattr(result, "source", None)
    dataset = getattr(result, "dataset", None)
    if source is None or not isinstance(dataset, str) or getattr(source, "is_own_data", False):
        return set()
    from facedata.fetch import treelist

    listed = treelist.read(dataset, source.id)
    if listed is None:
        return set()
    return sampled({rel: (f.size, f.sha256) for rel, f in listed[0].items()})


def merged(*parts: Mapping[str, set[str]]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for part in parts:
        for dataset, hashes in part.items():
            out.setdefault(dataset, set()).update(hashes)
    return out
