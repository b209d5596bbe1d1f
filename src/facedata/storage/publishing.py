"""Publish a corpus built in a local folder to object storage, atomically.

Object stores cannot rename a folder, so the local build's "write beside, then rename"
becomes "write beside, then point at it": every file goes under a fresh version
prefix, then corpus.json, which names that version's shards, is written in one PUT.
A reader reads corpus.json first and only the objects it names, so it sees the old
corpus or the new one, never a mix; a publish that dies half way leaves the old record
(and so the old corpus) untouched, and its half-written version is swept by a later
publish once it is a day old.

Only after the new record is in is the version it replaced deleted: the one named by
the record read just before the commit. Two publishes at once both finish and the
last record written wins; the version it replaced is deleted, and one lost in the
race (a record written between that read and the commit) is swept later like a
crashed publish. A reader still downloading a version as it is deleted fails its
size and hash checks and reads the new record again.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

from facedata.corpus.record import CorpusError, read_corpus, read_stored, write_stored
from facedata.corpus.shards import CORPUS_JSON, file_sha256
from facedata.storage.layout import VERSIONS, is_version, made, new_version, remote_record, root_of
from facedata.storage.location import Location, StorageError, parse
from facedata.storage.remote import Store, connect

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
) -> str:
    """Publish the corpus folder `local` at `url`; return the version written.

    `upload(store, file, key)` copies one file (a test replaces it to fail midway)."""
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
    previous = current_version(store)
    write_stored(store, remote_record(record, version, files, loc))  # the commit point
    sweep(store, keep=version, replaced=previous)
    return version


def current_version(store: Store) -> str | None:
    """The version the record at the store names now, if it reads as one."""
    try:
        stored = read_stored(store, store.loc.url)
        version = stored[1]["storage"]["version"] if stored else None
    except (StorageError, CorpusError, TypeError, KeyError):
        return None
    return version if isinstance(version, str) and is_version(version) else None


def sweep(store: Store, *, keep: str, replaced: str | None, now: dt.datetime | None = None) -> int:
    """Delete the version `replaced` and unnamed versions older than STALE; never `keep`
    nor the version the record names now. Returns the objects deleted."""
    named = current_version(store)
    cutoff = (now or dt.datetime.now(dt.UTC)) - STALE
    deleted = 0
    for key, _size in store.listing(VERSIONS):
        version = key.split("/")[1]
        if version in (keep, named) or not is_version(version):
            continue  # keys that are not ours are left alone
        if version == replaced or made(version) < cutoff:
            store.delete(key)
            deleted += 1
    return deleted
