"""Objects of the fetch cache, read where they are needed: by a build's workers (image
files, zip archives) and by the driver (the label files of a tree's view).

Every object is checked against the size and sha256 its listing gives before a byte
of it is used: the store may have been written by anyone. A worker keeps one client
per store and process (credentials from the usual places on its node); an object
needed as a file (an archive, a label file) is copied once into this node's own
content-addressed folder, `$FACEDATA_HOME/remote/objects/`, through a temp file that
is renamed into place only once verified. A copy already there is hashed before this
process first uses it (a damaged one is downloaded again).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from facedata.errors import ImageError, InputsLostError
from facedata.paths import home
from facedata.read.sample import MAX_IMAGE_BYTES
from facedata.storage.location import StorageError, parse, redact
from facedata.storage.remote import CHUNK, HINT, MISSING, Store, connect

_STORES: dict[str, Store] = {}  # address -> store, one client per process


class ObjectImageError(ImageError):
    """An image on the cache that cannot be used: a counted failure of its row."""

    reason = "unreadable image"


class ObjectMismatch(StorageError):
    """An object whose bytes are not the ones its listing names."""


class ObjectMissing(StorageError):
    """An object the listing names that the store does not hold: that file's failure."""


class StoreUnreachable(StorageError, InputsLostError):
    """The fetch cache cannot be reached or refuses access (connection, DNS, timeout,
    credentials, 403, 5xx): the build stops, naming the store; no row is blamed."""


@contextlib.contextmanager
def reading(shown: str, store: Store) -> Iterator[None]:
    """Sort a store's read failure: a missing object is that file's (ObjectMissing);
    anything else means the store itself is lost (StoreUnreachable). Both redacted."""
    try:
        yield
    except StorageError:
        raise
    except FileNotFoundError as exc:  # pyarrow's "no such object"
        raise ObjectMissing(
            f"{shown} is not on the cache: {redact(str(exc))}", hint=_PUSH
        ) from None
    except Exception as exc:  # noqa: BLE001 - boto3's and pyarrow's errors, all redacted
        code = str(((getattr(exc, "response", None) or {}).get("Error") or {}).get("Code", ""))
        if code in MISSING:
            raise ObjectMissing(f"{shown} is not on the cache", hint=_PUSH) from None
        raise StoreUnreachable(
            f"the fetch cache {store.loc.url} cannot be read ({shown}): {redact(str(exc))}",
            hint=f"the build stopped; check that the store is up and reachable from every "
            f"node, then build again ({HINT})",
        ) from None


_PUSH = "the cache was changed or damaged; push the tree again"


def store_for(address: str) -> Store:
    """The store at `address` (a cache URL with its endpoint), connected once per process."""
    store = _STORES.get(address)
    if store is None:
        loc = parse(address)
        if loc is None:
            raise StorageError(f"{redact(address)} is not an object-storage URL")
        store = _STORES[address] = connect(loc)
    return store


def _get(store: Store, key: str, size: int, sha256: str, shown: str) -> bytes:
    """The object's bytes, at most `size` of them read, checked against `sha256`."""
    with reading(shown, store), store._reader(key) as fh:
        data = fh.read(size + 1)
    if len(data) != size or hashlib.sha256(data).hexdigest() != sha256:
        raise ObjectMismatch(
            f"{shown} on the cache is not the file its listing names "
            f"({len(data):,} bytes read, {size:,} listed; sha256 differs)",
            hint="the cache was changed or damaged; push the tree again",
        )
    return data


def read_object(address: str, key: str, size: int, sha256: str, shown: str) -> bytes:
    """An image's bytes from the cache, for a worker; every failure an ObjectImageError."""
    if size > MAX_IMAGE_BYTES:
        raise ObjectImageError(
            f"{shown} is over {MAX_IMAGE_BYTES:,} bytes: not a face photo",
            hint="the file is refused; check the dataset's contents",
        )
    try:
        return _get(store_for(address), key, size, sha256, shown)
    except StoreUnreachable:
        raise
    except StorageError as exc:
        raise ObjectImageError(exc.message, hint=exc.hint) from None


def local_path(sha256: str) -> Path:
    return home() / "remote" / "objects" / sha256[:2] / sha256


# copies this process wrote or hashed itself: a copy found on disk may have been left
# damaged (a disk, another program, a process killed at the wrong moment), so it is
# trusted only once hashed here, once per process
_VERIFIED: set[Path] = set()


def _sound_copy(dest: Path, size: int, sha256: str) -> bool:
    """Whether `dest` holds the object: its size always, its sha256 once per process."""
    try:
        if dest.stat().st_size != size:
            return False
        if dest in _VERIFIED:
            return True
        digest = hashlib.sha256()
        with open(dest, "rb") as fh:
            while block := fh.read(CHUNK):
                digest.update(block)
    except OSError:
        return False
    if digest.hexdigest() != sha256:
        return False
    _VERIFIED.add(dest)
    return True


def local_object(store: Store, key: str, size: int, sha256: str, shown: str) -> Path:
    """The object as a file of this node's object folder, downloaded and verified once
    per process; a damaged copy is replaced from the store (refused if it cannot be)."""
    dest = local_path(sha256)
    if _sound_copy(dest, size, sha256):
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{sha256[:16]}.", suffix=".part", dir=dest.parent)
    tmp = Path(tmp_name)
    try:
        digest, done = hashlib.sha256(), 0
        with os.fdopen(fd, "wb") as out, reading(shown, store), store._reader(key) as fh:
            while block := fh.read(min(CHUNK, size - done + 1)):
                done += len(block)
                if done > size:
                    break
                digest.update(block)
                out.write(block)
        if done != size or digest.hexdigest() != sha256:
            raise ObjectMismatch(
                f"{shown} on the cache is not the file its listing names "
                f"({'over ' if done > size else ''}{done:,} bytes read, {size:,} listed; "
                "sha256 differs)",
                hint="the cache was changed or damaged; push the tree again",
            )
        tmp.chmod(0o444)
        os.replace(tmp, dest)
        _VERIFIED.add(dest)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    return dest


def read_member(address: str, key: str, size: int, sha256: str, member: str, shown: str) -> bytes:
    """One member of a zip archive on the cache, for a worker."""
    try:
        archive = local_object(store_for(address), key, size, sha256, shown)
        with zipfile.ZipFile(archive) as zf:
            info = zf.getinfo(member)
            if info.file_size > MAX_IMAGE_BYTES:
                raise ObjectImageError(
                    f"{shown} is over {MAX_IMAGE_BYTES:,} bytes: not a face photo",
                    hint="the member is refused; check the dataset's contents",
                )
            return zf.read(info)
    except StoreUnreachable:
        raise
    except StorageError as exc:
        raise ObjectImageError(exc.message, hint=exc.hint) from None
    except (OSError, KeyError, zipfile.BadZipFile) as exc:
        raise ObjectImageError(f"{shown}: {exc}", hint="the archive is unreadable") from None


@dataclass(frozen=True)
class ObjectBlob:
    """A label file of the fetch cache, read by range by whichever node runs the range
    (read/blob.py): the object is copied once into that node's object folder, checked
    against its listed size and sha256 as a whole (a range alone could not be), and
    read there. A changed or missing object stops the build, naming it."""

    store: str  # the cache's address for workers (URL, endpoint; no credential)
    key: str
    size: int
    sha256: str
    relpath: str

    def read_range(self, start: int, end: int) -> bytes:
        if end <= start:
            return b""
        store = store_for(self.store)
        path = local_object(store, self.key, self.size, self.sha256, self.describe())
        with open(path, "rb") as fh:
            fh.seek(start)
            return fh.read(end - start)

    def describe(self) -> str:
        return f"{self.store.partition('?')[0]}:{self.relpath}"
