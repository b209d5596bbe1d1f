"""What this home remembers of the fetch cache's tree listings: each one's file hashes.

The gate's copy index reads every tree listing on the fetch cache (gate/filetwins.py
`cache_trees`), and train, predict and export build it on every command. Downloading
and parsing up to MAX_TREES listings each time costs one GET and one JSON parse per
tree, so the hashes the gate keeps of each listing are remembered here:

    $FACEDATA_HOME/remote/tree-hashes/<sha256 of the cache URL>/<sha256 of the key>.json

one small file per listing, keyed by the listing's key and the version tag the store
reported with the bytes read (S3's ETag). A command LISTs `trees/` once and reads
again only a listing whose tag differs from the one remembered (new or changed); a
store that reports no tag is read every time.

A memo is hostile input too: each file is bounded, must name the same cache, key and
tag, and hold only sha256 strings. One that fails is read again from the store and
written anew; nothing in a memo can stand in for a listing the store changed, so a
memo never drops a copy. Files are written to a temporary name and renamed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Iterable
from pathlib import Path

from facedata.files.digest import is_sha256

FORMAT = "facedata-tree-hashes/1"
FOLDER = ("remote", "tree-hashes")
MAX_HASHES = 2_500_000  # a listing's sampled files (FULL) and its lock's entries, with room
MAX_BYTES = 70 * MAX_HASHES  # a hash is 64 characters, quoted, with a separator
MAX_ENTRIES = 40_000  # files looked at when clearing memos of trees gone from the cache


def folder(url: str) -> Path:
    """The memos of the fetch cache at `url`, in this home."""
    from facedata.paths import home

    return home().joinpath(*FOLDER, hashlib.sha256(url.encode()).hexdigest())


def _path(url: str, key: str) -> Path:
    return folder(url) / f"{hashlib.sha256(key.encode()).hexdigest()}.json"


def recall(url: str, key: str, tag: str | None) -> set[str] | None:
    """The hashes remembered for the listing `key` at version `tag` of the cache at
    `url`; None (read it from the store) when there is no tag, no memo, or a memo that
    is damaged or of another version."""
    if not tag:
        return None
    path = _path(url, key)
    try:
        with path.open("rb") as fh:
            raw = fh.read(MAX_BYTES + 1)
    except OSError:
        return None
    if len(raw) > MAX_BYTES:
        return None
    try:
        data = json.loads(raw.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        return None
    if data.get("url") != url or data.get("key") != key or data.get("tag") != tag:
        return None
    hashes = data.get("hashes")
    if not isinstance(hashes, list) or len(hashes) > MAX_HASHES:
        return None
    if not all(is_sha256(h) for h in hashes):
        return None
    return set(hashes)


def remember(url: str, key: str, tag: str | None, hashes: Iterable[str]) -> None:
    """Keep `hashes` for the listing `key` at version `tag` (nothing without a tag, or
    over the bounds: that listing is read from the store each time). A home that
    cannot be written to only loses the saving."""
    from facedata.files.atomic import atomic_write_bytes

    if not tag:
        return
    kept = sorted(h for h in hashes if is_sha256(h))
    if len(kept) > MAX_HASHES:
        return
    data = {"format": FORMAT, "url": url, "key": key, "tag": tag, "hashes": kept}
    raw = json.dumps(data, separators=(",", ":")).encode()
    if len(raw) > MAX_BYTES:
        return
    with contextlib.suppress(OSError):
        atomic_write_bytes(_path(url, key), raw)


def forget_others(url: str, keys: Iterable[str]) -> None:
    """Remove the memos of listings no longer on the cache at `url` (not in `keys`):
    the folder holds at most one file per listing the cache holds."""
    where = folder(url)
    keep = {_path(url, key).name for key in keys}
    with contextlib.suppress(OSError):
        with_names = list(zip(range(MAX_ENTRIES), where.iterdir(), strict=False))
        for _n, path in with_names:
            if path.name not in keep and path.suffix == ".json":
                with contextlib.suppress(OSError):
                    path.unlink()
