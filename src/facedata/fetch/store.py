"""The cache on disk: content-addressed blobs, unpacked trees, partial downloads, the lock file.

Layout under `home()`::

    blobs/sha256/ab/abcdef...      every raw file obtained, named by its hash (read-only)
    datasets/<id>/<source>/        the unpacked tree a reader walks
    partial/<id>/<source>/         `.part` files of interrupted downloads (resumed next run)
    facedata.lock                  what each fetched source was, exactly (JSON)

Blobs are addressed by content so a re-fetch, a second source with the same archive,
or `verify` all agree on identity without trusting names or URLs. The lock file is
what makes a corpus reproducible: a build records the hashes it read, and a later
fetch must obtain the same bytes.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

from filelock import FileLock, Timeout

import facedata.files.jsontext as jsontext
from facedata.errors import FetchError
from facedata.files.atomic import atomic_write_text
from facedata.paths import home

LOCK_NAME = "facedata.lock"
LOCK_FORMAT = 1
HASH_CHUNK = 4 * 1024 * 1024


def now() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()


@dataclass
class LockEntry:
    """One pinned file of a fetched source.

    `kind` is "file" for a raw file (its bytes live in the blob store) or "tree" for the
    loose files of a folder registered with --from (the sha256 is then a digest over
    their relative paths and hashes, see `tree_digest`).
    """

    name: str
    origin: str
    size: int
    sha256: str
    official: bool
    pinned_at: str
    kind: str = "file"


@dataclass
class SourceLock:
    """What one source of one dataset was when fetched: enough to demand the same bytes."""

    dataset: str
    source: str
    kind: str
    official: bool
    origin: str  # URL, "kaggle:owner/slug", "hf:org/repo", or a local path
    version: str | None  # Kaggle version number or HF commit; None for plain files
    fetched_at: str
    files: list[LockEntry] = field(default_factory=list)

    def entry(self, name: str) -> LockEntry | None:
        return next((e for e in self.files if e.name == name), None)

    @classmethod
    def from_dict(cls, d: dict) -> SourceLock:
        files = [LockEntry(**e) for e in d.get("files", [])]
        return cls(**{**d, "files": files})


# -- paths


def blob_path(sha256: str) -> Path:
    return home() / "blobs" / "sha256" / sha256[:2] / sha256


def tree_dir(dataset: str, source: str) -> Path:
    return home() / "datasets" / dataset / source


def partial_dir(dataset: str, source: str) -> Path:
    return home() / "partial" / dataset / source


def lock_path() -> Path:
    return home() / LOCK_NAME


# -- hashing and blobs


def file_sha256(path: Path) -> tuple[str, int]:
    """sha256 and size of a file, read in large chunks (hashlib releases the GIL)."""
    h = hashlib.sha256()
    size = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(HASH_CHUNK):
            h.update(chunk)
            size += len(chunk)
    return h.hexdigest(), size


def ingest(path: Path, sha256: str) -> Path:
    """Move a verified file into the blob store (rename: atomic, no copy).

    The blob is made read-only because trees hard-link to it: a reader that opened a
    tree file for writing would otherwise corrupt the pinned bytes.
    """
    dest = blob_path(sha256)
    dest.parent.mkdir(parents=True, exist_ok=True)
    if dest.exists():
        path.unlink()
    else:
        os.replace(path, dest)
        dest.chmod(0o444)
    return dest


def ingest_copy(path: Path, sha256: str) -> Path:
    """Put a copy of a file the user owns into the blob store; their file is left alone.

    A copy, not a hard link: the store makes blobs read-only, which must not change
    the permissions of the person's own file.
    """
    dest = blob_path(sha256)
    if dest.exists():
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
    try:
        shutil.copyfile(path, tmp)
        tmp.chmod(0o444)
        os.replace(tmp, dest)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    return dest


def link_or_copy(src: Path, dst: Path) -> None:
    """Place a blob in a tree: a hard link when possible (no extra space), else a copy.

    An existing entry is unlinked first: copying over it could write through a hard
    link into a blob or into the person's own registered file.
    """
    dst.parent.mkdir(parents=True, exist_ok=True)
    if dst.is_symlink() or dst.is_file():
        dst.unlink()
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)


def tree_digest(root: Path, names: list[str]) -> tuple[str, int]:
    """A digest over loose files (relative path + content hash), and their total size."""
    h = hashlib.sha256()
    total = 0
    for name in sorted(names):
        sha, size = file_sha256(root / name)
        h.update(f"{name}\0{sha}\n".encode())
        total += size
    return h.hexdigest(), total


# -- the lock file


def _file_lock() -> FileLock:
    home().mkdir(parents=True, exist_ok=True)
    return FileLock(str(home() / f".{LOCK_NAME}.guard"), timeout=60)


def read_lock() -> dict[str, dict[str, SourceLock]]:
    """Every pinned source, by dataset then source id. A missing file is an empty cache."""
    path = lock_path()
    if not path.exists():
        return {}
    try:
        raw = jsontext.loads(path.read_text(encoding="utf-8"))
        return {
            ds: {src: SourceLock.from_dict(rec) for src, rec in sources.items()}
            for ds, sources in raw.get("datasets", {}).items()
        }
    except (ValueError, TypeError, KeyError, AttributeError) as exc:  # bad JSON or shape
        raise FetchError(
            f"the lock file {path} is unreadable: {exc}",
            hint="it is JSON written by facedata; restore it from a backup, or delete it "
            "to forget every pin (the next fetch re-pins what it downloads)",
        ) from None


def fetched_hashes() -> dict[str, set[str]]:
    """sha256 of every file fetched so far, per dataset (from the lock file): how a
    copy of a dataset's bytes under another id is recognised."""
    return {
        ds: {e.sha256 for lock in sources.values() for e in lock.files}
        for ds, sources in read_lock().items()
    }


def get_source_lock(dataset: str, source: str) -> SourceLock | None:
    return read_lock().get(dataset, {}).get(source)


def put_source_lock(record: SourceLock) -> None:
    """Record one source (read-modify-write under a file lock, written atomically)."""
    with _file_lock():
        data = read_lock()
        data.setdefault(record.dataset, {})[record.source] = record
        out = {
            "format": LOCK_FORMAT,
            "datasets": {
                ds: {src: asdict(rec) for src, rec in sorted(sources.items())}
                for ds, sources in sorted(data.items())
            },
        }
        atomic_write_text(lock_path(), json.dumps(out, indent=2) + "\n")


@contextlib.contextmanager
def source_guard(dataset: str, source: str) -> Iterator[None]:
    """One fetch per source at a time; the OS drops the lock if the process is killed."""
    d = home() / "locks"
    d.mkdir(parents=True, exist_ok=True)
    guard = FileLock(str(d / f"{dataset}.{source}.lock"), timeout=0)
    try:
        guard.acquire()
    except Timeout:
        raise FetchError(
            f"{dataset} [{source}] is being fetched by another process",
            hint="wait for it to finish, then run the command again",
        ) from None
    try:
        yield
    finally:
        guard.release()
