"""Copies recognised by their image files, not only by their archives.

The gate's copy check (`TwinIndex`) knows each dataset by its manifest's addresses and
by the sha256 of what was fetched for it: the archive, or a digest over a folder given
with `--from`. A copy re-packed, renamed, pushed to the fetch cache under another id,
or given as a folder of the same photos shares none of those, but it shares its image
files. Each fetched tree lists every file's sha256 (the local tree's file list, the
cache's listing), so the gate adds the files' hashes to each dataset's identities: a
source whose files are another, stricter dataset's files is refused for that
dataset's tier, and a withdrawal follows the people into the copy.

A file counts by its bytes, not its name: every image file, and every other file of at
least MIN_BYTES (a label CSV carrying photos as pixels, images renamed `.bin`), except
names that unrelated datasets share word for word (LICENSE, README, *.md, ...; see
`counts`). A zip of the same files is unpacked into the same tree, so it is caught;
a text file re-encoded (CRLF line ends) has other bytes and is not.

Every tree on a fetch cache is read, not only the catalog's datasets: a tree this
catalog has no manifest for, whose files a source shares, is a copy of unknown terms
(the gate fails closed on it) and its id is one more name for withdrawals to follow.

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
MIN_BYTES = 1024  # a file that is not an image counts from this size (tiny files are alike)
_BOILERPLATE = ("license", "licence", "copying", "readme", "citation", "notice")
_BOILERPLATE_PARTS = {"__macosx", ".ds_store"}


def counts(rel: str, size: int) -> bool:
    """Whether the file at `rel` (of `size` bytes) identifies the tree it is in: an image,
    or any other file of MIN_BYTES or more whose name is not boilerplate that unrelated
    datasets share (a license text, a README, a git or macOS leftover)."""
    if size <= 0:
        return False
    parts = [p.lower() for p in rel.replace("\\", "/").split("/")]
    name = parts[-1]
    if _BOILERPLATE_PARTS & set(parts) or any(p.startswith(".git") for p in parts):
        return False
    if name.startswith(_BOILERPLATE) or name.endswith(".md"):
        return False
    return size >= MIN_BYTES or os.path.splitext(name)[1] in IMAGE_EXTENSIONS


def sampled(files: Mapping[str, tuple[int, str]]) -> set[str]:
    """The file hashes one tree is known by, from its {relpath: (size, sha256)}: of the
    files that count (see `counts`), all up to FULL, else those beginning with SAMPLE."""
    images = {sha for rel, (size, sha) in files.items() if counts(rel, size)}
    if len(images) <= FULL:
        return images
    return {sha for sha in images if sha.startswith(SAMPLE)}


def local_trees(datasets: Iterable[str]) -> dict[str, set[str]]:
    """Sampled file hashes of every tree this home fetched, by dataset."""
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


def cache_trees(
    loc: Any, datasets: Iterable[str]
) -> tuple[dict[str, set[str]], dict[str, dict[str, set[str]]]]:
    """Sampled file hashes and lock hashes of every tree on the fetch cache at `loc`:
    those of datasets the catalog knows, by dataset; and those of every other dataset,
    by dataset and tree URL (a copy of unknown terms). A listing that fails its checks
    is refused, as when it is built from.

    One LIST of `trees/`; a listing whose version tag matches what this home remembers
    of it (gate/treememo.py) is not read again, so repeated commands cost one request."""
    from facedata.gate import treememo
    from facedata.storage.cachetree import MAX_LISTING_BYTES, parse_listing
    from facedata.storage.location import StorageError
    from facedata.storage.remote import connect

    wanted = set(datasets)
    store = connect(loc)
    known: dict[str, set[str]] = {}
    unknown: dict[str, dict[str, set[str]]] = {}
    listed = {k: tag for k, _size, tag in store.tagged_listing("trees")}
    if len(listed) > MAX_TREES:
        raise StorageError(
            f"the fetch cache {loc.url} lists {len(listed):,} trees, over the {MAX_TREES:,} read",
            hint="a fetch cache holds one tree per fetched source; clean it by hand",
        )
    for key in sorted(listed):
        parts = key.split("/")
        if len(parts) != 3 or not parts[2].endswith(".json"):
            continue
        dataset, source = parts[1], parts[2][: -len(".json")]
        where = f"{loc.url}/{key}"
        hashes = treememo.recall(loc.url, key, listed[key])
        if hashes is None:
            got = store.read_tagged(key, MAX_LISTING_BYTES)
            if got is None:
                continue  # deleted since the listing
            raw, tag = got
            listing = parse_listing(raw, where, dataset, source)
            hashes = sampled(listing.files) | {e.sha256 for e in listing.lock.files}
            treememo.remember(loc.url, key, tag, hashes)
        if dataset in wanted:
            found = known.setdefault(dataset, set())
        else:
            found = unknown.setdefault(dataset, {}).setdefault(where, set())
        found.update(hashes)
    treememo.forget_others(loc.url, listed)
    return known, unknown


def of_result(result: Any) -> set[str]:
    """Sampled file hashes of the tree a build would read (a local tree or a cache
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


def identities(
    known: Iterable[str], remote: Any
) -> tuple[dict[str, set[str]], dict[str, dict[str, set[str]]]]:
    """What the gate knows each dataset's bytes by: for the ids in `known` (the catalog's),
    the sha256 of what was fetched and a sample of its image files' hashes, here and on
    the fetch cache at `remote` (None: no cache); and every other tree on the cache, by
    dataset and tree URL (a copy of unknown terms)."""
    from facedata.fetch.store import fetched_hashes

    wanted = list(known)
    on_cache, strangers = cache_trees(remote, wanted) if remote is not None else ({}, {})
    found = merged(
        {ds: set(h) for ds, h in fetched_hashes().items()},
        local_trees(wanted),
        on_cache,
    )
    return found, strangers


def twin_index(
    catalog: Iterable[Any], remote: Any
) -> tuple[Any, dict[str, set[str]], dict[str, dict[str, set[str]]]]:
    """The gate's copy index (`TwinIndex`) over `catalog`, this home's trees and every
    tree on the fetch cache at `remote`, with the identities it was made of (see
    `identities`): one definition of "the same bytes under another id" for the build
    (which admits) and for train, predict and export (which check a corpus or model
    built earlier)."""
    from facedata.gate.licensing import TwinIndex

    manifests = list(catalog)
    found, strangers = identities([m.id for m in manifests], remote)
    return TwinIndex(manifests, found, strangers), found, strangers


def copies_of(datasets: Iterable[str], remote: Any) -> dict[str, set[str]]:
    """For each id in `datasets` (a corpus's or a model's), the other ids of the same
    bytes, found as the gate finds a source's copies (`TwinIndex.copies`): a withdrawal
    filed under one of them holds for the rows that came from the dataset, even when the
    corpus was built before that copy reached the cache.

    An id this home's catalog does not know (a corpus or model from another home) is
    matched by its trees' file hashes alone, here and on the cache."""
    from facedata.errors import FacedataError
    from facedata.fetch.store import read_lock
    from facedata.manifest.catalog import Catalog

    wanted = sorted(set(datasets))
    try:
        catalog: Any = list(Catalog.load())
    except FacedataError:
        catalog = []  # a broken manifest folder: the trees' hashes still count
    twins, found, strangers = twin_index(catalog, remote)
    by_id = {m.id: m for m in catalog}
    # trees fetched here under ids the catalog lacks count too (a copy made elsewhere)
    found = merged(found, local_trees(set(read_lock()) - set(by_id)))
    trees = merged(found, {ds: set().union(*by.values()) for ds, by in strangers.items()})
    out: dict[str, set[str]] = {}
    for ds in wanted:
        mine = trees.get(ds, set())
        same = {other for other, hashes in trees.items() if other != ds and hashes & mine}
        manifest = by_id.get(ds)
        if manifest is not None:  # and by its manifest's addresses, as the gate does
            for source in manifest.sources:
                same |= twins.copies(manifest, source, sorted(found.get(ds, set())))
        out[ds] = same - {ds}
    return out
