"""The fetch cache on object storage: its layout and the listing of one tree.

A fetched tree (`datasets/<id>/<source>/` of the local cache) is kept on a store as

    PREFIX/objects/sha256/ab/<sha256>     every file of every tree, by content, once
    PREFIX/trees/<dataset>/<source>.json  the tree: its lock record and its file list

The listing is written last, so a tree exists on the store only once it is whole. A
listing is read from a store anyone may have written to: it is bounded in bytes, in
files and in nesting, every relative path is confined (no absolute path, no `..`, no
backslash, no two names that differ only by case), and every sha256 is well formed.
A listing that fails any of this is refused as a whole, never half used.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass
from typing import Any

import facedata.files.jsontext as jsontext
from facedata.fetch.store import SourceLock
from facedata.files.confine import name_problem
from facedata.files.digest import is_sha256
from facedata.storage.location import Location, StorageError

FORMAT = "facedata-cache-tree/1"
MAX_LISTING_BYTES = 256 * 1024 * 1024  # ~2M entries of a long relative path
MAX_FILES = 2_000_000  # the unpack bound is 5M members; one tree this big is already odd
MAX_DEPTH = 8  # the listing's own nesting is 4
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
HINT = "push the tree again with `facedata fetch ID --cache URL` from a cache that verifies"


class ListingError(StorageError):
    """A tree listing on the store that is malformed or unsafe: refused as a whole."""


def object_key(sha256: str) -> str:
    """Where the bytes whose hash is `sha256` live, relative to the cache prefix."""
    return f"objects/sha256/{sha256[:2]}/{sha256}"


def tree_key(dataset: str, source: str) -> str:
    """Where the listing of one tree lives, relative to the cache prefix."""
    for part in (dataset, source):
        if not _ID.fullmatch(part):
            raise ListingError(f"{part!r} is not a dataset or source id", hint="use catalog ids")
    return f"trees/{dataset}/{source}.json"


@dataclass(frozen=True)
class Listing:
    """One tree on the store: what the lock said of its source, and its files."""

    lock: SourceLock
    files: dict[str, tuple[int, str]]  # relative path -> (size, sha256)

    def render(self) -> bytes:
        data = {
            "format": FORMAT,
            "lock": asdict(self.lock),
            "files": {rel: [size, sha] for rel, (size, sha) in sorted(self.files.items())},
        }
        return json.dumps(data, separators=(",", ":"), sort_keys=True).encode()

    @property
    def total(self) -> int:
        return sum(size for size, _ in self.files.values())


def digest(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def parse_listing(raw: bytes, where: Location | str, dataset: str, source: str) -> Listing:
    """The listing in `raw`, checked; a ListingError naming `where` otherwise."""
    shown = where.url if isinstance(where, Location) else where

    def refuse(problem: str) -> ListingError:
        return ListingError(f"the cache listing {shown} is refused: {problem}", hint=HINT)

    if len(raw) > MAX_LISTING_BYTES:
        raise refuse(f"it is over {MAX_LISTING_BYTES:,} bytes")
    try:
        data = jsontext.loads(raw, max_depth=MAX_DEPTH)
    except (ValueError, UnicodeDecodeError) as exc:
        raise refuse(f"not JSON ({type(exc).__name__})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise refuse(f"not a {FORMAT} listing")
    files, lock_data = data.get("files"), data.get("lock")
    if not isinstance(files, dict) or not isinstance(lock_data, dict):
        raise refuse("no `files` or `lock` object")
    if len(files) > MAX_FILES:
        raise refuse(f"it lists {len(files):,} files, over the {MAX_FILES:,} allowed")
    out: dict[str, tuple[int, str]] = {}
    folded: dict[str, str] = {}
    for rel, value in files.items():
        problem = _path_problem(rel)
        if problem:
            raise refuse(problem)
        if not (isinstance(value, list) and len(value) == 2):
            raise refuse(f"the entry of {rel!r} is not [size, sha256]")
        size, sha = value
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise refuse(f"the size of {rel!r} is not a whole number of bytes")
        if not is_sha256(sha):
            raise refuse(f"the sha256 of {rel!r} is not 64 lower-case hex digits")
        twin = folded.setdefault(rel.casefold(), rel)
        if twin != rel:  # one would overwrite the other on a case-insensitive disk
            raise refuse(f"{rel!r} and {twin!r} differ only by case")
        out[rel] = (size, sha)
    _folders_are_not_files(out, refuse)
    lock = _lock(lock_data, refuse)
    if (lock.dataset, lock.source) != (dataset, source):
        raise refuse(f"it describes {lock.dataset} [{lock.source}], not {dataset} [{source}]")
    return Listing(lock, out)


def _path_problem(rel: Any) -> str | None:
    if not isinstance(rel, str):
        return "a file name that is not text"
    if "\\" in rel:
        return f"{rel!r} holds a backslash"
    problem = name_problem(rel)
    if problem:
        return problem
    parts = rel.split("/")
    if any(p in ("", ".") for p in parts):
        return f"{rel!r} is not a plain relative path"
    if any(ord(c) < 32 for c in rel):
        return f"{rel!r} holds a control character"
    return None


def _folders_are_not_files(files: dict[str, tuple[int, str]], refuse: Any) -> None:
    """`a` and `a/b` cannot both be files: the view could not be laid out."""
    folders = {rel.rsplit("/", 1)[0] for rel in files if "/" in rel}
    parents = set()
    for folder in folders:
        parts = folder.split("/")
        parents.update("/".join(parts[: i + 1]) for i in range(len(parts)))
    clash = sorted(parents & set(files))
    if clash:
        raise refuse(f"{clash[0]!r} is listed both as a file and as a folder")


def _lock(data: dict, refuse: Any) -> SourceLock:
    from facedata.fetch.store import LockEntry

    try:
        entries = data.get("files") or []
        if not isinstance(entries, list) or len(entries) > MAX_FILES:
            raise TypeError("files")
        files = [LockEntry(**e) for e in entries]
        lock = SourceLock(**{**data, "files": files})
    except (TypeError, ValueError) as exc:
        raise refuse(f"its lock record is malformed ({type(exc).__name__})") from None
    texts = (lock.dataset, lock.source, lock.kind, lock.origin, lock.fetched_at)
    if not all(isinstance(t, str) for t in texts) or not isinstance(lock.official, bool):
        raise refuse("its lock record is malformed (a field of the wrong type)")
    for e in files:
        if not (
            isinstance(e.name, str)
            and isinstance(e.size, int)
            and isinstance(e.sha256, str)
            and is_sha256(e.sha256)
        ):
            raise refuse("a pinned file of its lock record is malformed")
    return lock
