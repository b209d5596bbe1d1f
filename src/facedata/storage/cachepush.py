"""Push a fetched tree from the local cache to the fetch cache on object storage.

Every file is hashed while it is uploaded and compared with the tree's file list (a
tree edited since it was fetched is refused, as a build would refuse it); an object
already on the store with the listed size is not uploaded again, so a re-push or a
second dataset with the same files costs only the hashing. The listing goes up last:
until it is there, the store holds objects but no tree, and no build sees half a push.
Before it go this home's withdrawals for the dataset (see cachewithdrawals).
"""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from facedata.errors import FetchError
from facedata.fetch import treelist
from facedata.fetch.store import file_sha256, get_source_lock, tree_dir
from facedata.storage import cachewithdrawals
from facedata.storage.cachetree import Listing, object_key, tree_key
from facedata.storage.location import Location
from facedata.storage.remote import Store, connect

PARALLEL = 8  # objects looked up or uploaded at once (each a round trip to the store)


@dataclass(frozen=True)
class Pushed:
    """What a push did: objects uploaded, objects the store already held (each distinct
    content counted once), the listing's URL."""

    url: str  # the listing's URL (no secrets)
    uploaded: int
    uploaded_bytes: int
    present: int
    present_bytes: int
    withdrawals: int = 0  # this home's withdrawals for the dataset, on the cache now


class _Hashing:
    """A file object that hashes what is read from it (the upload's own reads)."""

    def __init__(self, fh: IO[bytes]) -> None:
        self.fh, self.hash, self.size = fh, hashlib.sha256(), 0

    def read(self, n: int = -1) -> bytes:
        block = self.fh.read(n)
        self.hash.update(block)
        self.size += len(block)
        return block


def _upload(store: Store, path: Path, rel: str) -> tuple[str, int]:
    """Upload the file at `path` to `rel`, returning the sha256 and size of the bytes sent."""
    with open(path, "rb") as fh:
        reader = _Hashing(fh)
        store.upload_stream(reader, rel)  # type: ignore[arg-type]  # a file-like reader
    return reader.hash.hexdigest(), reader.size


def _changed(dataset: str, source: str, rel: str) -> FetchError:
    return FetchError(
        f"the cached files of {dataset} [{source}] changed since they were fetched: "
        f"{rel} is not the file that was listed",
        hint=f"fetch it again (`facedata fetch {dataset} --force`, or --from the copy you "
        "have), then push",
    )


def push_tree(loc: Location, dataset: str, source: str, store: Store | None = None) -> Pushed:
    """Push the local tree of `dataset` [`source`] (fetched, with its file list) to `loc`."""
    lock = get_source_lock(dataset, source)
    root = tree_dir(dataset, source)
    listed = treelist.read(dataset, source)
    if lock is None or not root.is_dir():
        raise FetchError(
            f"{dataset} [{source}] is not in the local cache", hint=f"`facedata fetch {dataset}`"
        )
    if listed is None or listed[1]:
        why = "has no file list" if listed is None else f"is damaged: {listed[1]}"
        raise FetchError(
            f"{dataset} [{source}] {why}; only a tree whose files are listed can be pushed",
            hint=f"fetch it again with `facedata fetch {dataset} --force` (or --from PATH)",
        )
    files, _ = listed
    problem = treelist.differences(root, files, full=False)
    if problem:
        raise FetchError(
            f"the cached files of {dataset} [{source}] changed since they were fetched: {problem}",
            hint=f"fetch them again with `facedata fetch {dataset} --force`, then push",
        )
    store = store or connect(loc)
    # one object per distinct content (a file listed twice is pushed once, checked twice)
    by_sha: dict[str, list[str]] = {}
    for rel, state in sorted(files.items()):
        by_sha.setdefault(state.sha256, []).append(rel)

    def one(sha: str) -> tuple[bool, int]:
        """Push (or find) one object; True when it was uploaded."""
        rels = by_sha[sha]
        size = files[rels[0]].size
        key = object_key(sha)
        sent = not store.holds(key, sha, size, root / rels[0])
        if sent:
            got = _upload(store, root / rels[0], key)
            if got != (sha, size):
                store.delete(key)  # never leave bytes under a hash they do not have
                raise _changed(dataset, source, rels[0])
        for rel in rels[1:] if sent else rels:  # the tree still holds the listed bytes
            if file_sha256(root / rel) != (sha, size):
                raise _changed(dataset, source, rel)
        return sent, size

    uploaded = uploaded_bytes = present = present_bytes = 0
    with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
        for sent, size in pool.map(one, sorted(by_sha)):
            if sent:
                uploaded, uploaded_bytes = uploaded + 1, uploaded_bytes + size
            else:
                present, present_bytes = present + 1, present_bytes + size
    # before the listing: no build on another home sees the tree without them
    withdrawn = cachewithdrawals.write(store, dataset, cachewithdrawals.of_ledger(dataset))
    listing = Listing(lock, {rel: (s.size, s.sha256) for rel, s in files.items()})
    rel = tree_key(dataset, source)
    store.write_bytes(rel, listing.render())  # last: the tree exists only now
    return Pushed(
        f"{loc.url}/{rel}", uploaded, uploaded_bytes, present, present_bytes, len(withdrawn)
    )
