"""Publish a corpus built in a local folder to object storage, atomically.

Object stores cannot rename a folder, so the local build's "write beside, then rename"
becomes "write beside, then point at it": every file goes under a fresh version
prefix, then corpus.json, which names that version's shards, is written in one PUT.
A reader reads corpus.json first and only the objects it names, so it sees the old
corpus or the new one, never a mix; a publish that dies half way leaves the old record
(and so the old corpus) untouched, and its half-written version is swept by a later
publish once it is a day old (by the next erasure, whatever its age). A sweep deletes
only a corpus's own versions: never a key that is not a well-formed version, nor a
corpus nested under the prefix.

Only after the new record is in is the version it replaced deleted: the one named by
the record read just before the commit. A publish given a `base` commits only over
that record (or, with NEW, only where there is none), so a build or an erasure never
overwrites a record written after it started (`storage.build` catches up and tries
again); one without a base is the last write. A version lost in a race is swept later
like a crashed publish. An erasure sweeps unnamed versions whatever their age, so it
may delete a version another publish is still uploading: a publish therefore checks,
once its record is in, that every object it named is there, and uploads again any
that is not (a sweep never deletes the version a record names). A reader still
downloading a version as it is deleted fails its size and hash checks and reads the
new record again.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

from facedata.corpus.record import CorpusError, read_corpus, read_stored, write_stored
from facedata.corpus.shards import CORPUS_JSON, file_sha256
from facedata.storage.layout import VERSIONS, is_version, made, new_version, remote_record, root_of
from facedata.storage.location import Location, StorageError, parse
from facedata.storage.remote import Conflict, Store, connect

STALE = dt.timedelta(days=1)  # an unnamed version this old is a crashed or lost publish


def corpus_files(local: Path) -> list[Path]:
    """Every regular file of the corpus folder except its record; links are never
    followed (a corpus received from someone else may link anywhere)."""
    found = []
    for item in sorted(Path(local).rglob("*")):
        rel = item.relative_to(local)
        if rel.as_posix() == CORPUS_JSON or any(p.startswith(".") for p in rel.parts):
            continue  # the record goes last; dot-files are locks and temp files
        if item.is_symlink() or not item.is_file():
            continue
        found.append(item)
    return found


def publish(
    local: Path,
    url: str | Path | Location,
    *,
    upload: Callable[[Store, Path, str], None] | None = None,
    base: str | None = None,
    purge: bool = False,
    left: list[str] | None = None,
) -> str:
    """Publish the corpus folder `local` at `url`; return the version written.

    `upload(store, file, key)` copies one file (a test replaces it to fail midway).
    `base`: the digest of the record `local` was made from; the commit then happens
    only if the store still holds that record (else Conflict, and nothing replaced):
    a change derived from one version never overwrites a newer one.
    `purge`: also delete every unnamed version whatever its age (an erasure: a
    half-written version may hold the subject's rows). `left` collects the old
    versions that could not be deleted (a write-once bucket)."""
    loc = url if isinstance(url, Location) else parse(url)
    if loc is None:
        raise StorageError(f"{url} is not an object-storage URL", hint="e.g. s3://bucket/corpus")
    local = Path(local)
    record = read_corpus(local).to_dict()
    store = connect(loc)
    put = upload or (lambda s, src, rel: s.upload(src, rel))
    version = new_version()
    root = root_of(version)
    shard_paths = {s["path"] for s in record.get("shards") or []}
    files = []
    for item in corpus_files(local):
        rel = item.relative_to(local).as_posix()
        put(store, item, f"{root}/{rel}")
        if rel not in shard_paths:
            files.append({"path": rel, "bytes": item.stat().st_size, "sha256": file_sha256(item)})
    missing = shard_paths - {f.relative_to(local).as_posix() for f in corpus_files(local)}
    if missing:
        raise StorageError(
            f"{local} lacks shards its record names: {', '.join(sorted(missing))}",
            hint="nothing was published; rebuild the corpus, then publish it again",
        )
    previous, previous_keys = _named_now(store)
    try:
        write_stored(store, remote_record(record, version, files, loc), base)  # the commit point
    except Conflict:
        sweep(store, keep=previous or "", replaced=version)  # this version is never named
        raise
    _restore(store, local, root, put)
    sweep(
        store,
        keep=version,
        replaced=previous,
        named_keys=previous_keys,
        stale=dt.timedelta(0) if purge else STALE,
        left=left,
    )
    return version


def _restore(store: Store, local: Path, root: str, put: Callable[[Store, Path, str], None]) -> None:
    """Upload again any object of the version just committed that a concurrent sweep
    (an erasure's, which deletes unnamed versions whatever their age) removed before
    the record named it."""
    there = {key for key, _size in store.listing(root)}
    for item in corpus_files(local):
        key = f"{root}/{item.relative_to(local).as_posix()}"
        if key not in there:
            put(store, item, key)


def _named_now(store: Store) -> tuple[str | None, set[str] | None]:
    """The version the record names now, and every key under it the record names."""
    version = current_version(store)
    if version is None:
        return None, None
    try:
        stored = read_stored(store, store.loc.url)
        data = stored[1] if stored else {}
        keys = {s["path"] for s in data.get("shards") or [] if isinstance(s, dict)}
        root = root_of(version)
        keys |= {f"{root}/{f['path']}" for f in data["storage"].get("files") or []}
    except (StorageError, CorpusError, TypeError, KeyError, AttributeError):
        return version, set()  # unreadable: nothing is provably its own
    return version, {k for k in keys if isinstance(k, str)}


def current_version(store: Store) -> str | None:
    """The version the record at the store names now, if it reads as one."""
    try:
        stored = read_stored(store, store.loc.url)
        version = stored[1]["storage"]["version"] if stored else None
    except (StorageError, CorpusError, TypeError, KeyError):
        return None
    return version if isinstance(version, str) and is_version(version) else None


def _own(rels: list[str]) -> bool:
    """Could these keys (relative to a version folder) be a version facedata wrote? One
    holding a record or versions of its own is another corpus nested under this
    prefix (s3://b/c/v/NAME), never ours to delete."""
    return all(
        r.rsplit("/", 1)[-1] != CORPUS_JSON and not r.startswith(f"{VERSIONS}/") for r in rels
    )


def sweep(
    store: Store,
    *,
    keep: str,
    replaced: str | None,
    named_keys: set[str] | None = None,
    now: dt.datetime | None = None,
    stale: dt.timedelta = STALE,
    left: list[str] | None = None,
) -> int:
    """Delete the version `replaced` (only the keys its record named, `named_keys`,
    when given) and unnamed versions older than `stale`; never `keep` nor the version
    the record names now, nor anything that is not a well-formed version facedata
    wrote. Deleting is best-effort: versions that could not be deleted are added to
    `left`. Returns the objects deleted."""
    named = current_version(store)
    cutoff = (now or dt.datetime.now(dt.UTC)) - stale
    versions: dict[str, list[str]] = {}
    for key, _size in store.listing(VERSIONS):
        parts = key.split("/", 2)
        if len(parts) == 3:
            versions.setdefault(parts[1], []).append(parts[2])
    deleted = 0
    for version, rels in sorted(versions.items()):
        when = made(version) if is_version(version) else None
        if version in (keep, named) or when is None or not _own(rels):
            continue  # keys that are not ours are left alone
        if version != replaced and current_version(store) == version:
            continue  # named since the listing: a publish that committed meanwhile
        if version == replaced:
            doomed = [
                r for r in rels if named_keys is None or f"{root_of(version)}/{r}" in named_keys
            ]
        elif when < cutoff:
            doomed = rels
        else:
            continue
        for rel in doomed:
            try:
                store.delete(f"{root_of(version)}/{rel}")
                deleted += 1
            except StorageError:
                if left is not None and version not in left:
                    left.append(version)
    return deleted
