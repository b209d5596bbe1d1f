"""Where a label file's bytes come from, for readers that read it in ranges.

A part of a large label file (a range of its rows) is read by a build's worker, not
by the driver. The worker needs the bytes of one range and nothing else, so a part
names its file as a `Blob`: a size, `read_range(start, end)` and a description for
messages. The local file system is one implementation; an object store is another
that slots in through `blob_for` without a reader changing.

A Blob is small picklable data (a path, never an open file), so it travels in a task.
It also names the bytes the driver cut: a file replaced or rewritten after the cut
(a `fetch --force` while the build runs) is refused by the worker that reads it, never
read at offsets that belong to other bytes.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

import facedata.files.confine as confine
from facedata.errors import ReaderError, UnsafePathError

BUFFER = 1 << 20  # bytes asked of a blob at a time when its range is streamed


@runtime_checkable
class Blob(Protocol):
    """A file's bytes, read by range."""

    @property
    def size(self) -> int: ...

    def read_range(self, start: int, end: int) -> bytes:
        """Bytes [start, end) (fewer only at the end of the file)."""
        ...

    def describe(self) -> str:
        """The file as messages name it (a path, a URL without credentials)."""
        ...


def changed(described: str) -> ReaderError:
    """The one error for a label file whose bytes are not the ones the build cut."""
    return ReaderError(
        f"{described} changed while the build ran (it is not the file the build cut "
        "into ranges: replaced, grown, truncated or rewritten)",
        hint="run the build again once nothing rewrites the file (a fetch of a new "
        "release replaces it)",
    )


@dataclass(frozen=True)
class LocalBlob:
    """A regular file on a file system every worker mounts at the same path.

    Each read opens the file through `confine.open_regular`, so a FIFO or a device
    never blocks a worker, and a read inside a reader's confinement stays inside it.
    The file's size, mtime_ns, inode and device as `blob_for` found them are checked
    on the open file before and after each read: the bytes read are the bytes cut.
    """

    path: str
    size: int
    mtime_ns: int
    inode: int
    device: int

    def _check(self, fh: io.BufferedReader) -> None:
        st = os.fstat(fh.fileno())
        if (st.st_size, st.st_mtime_ns, st.st_ino, st.st_dev) != (
            self.size,
            self.mtime_ns,
            self.inode,
            self.device,
        ):
            raise changed(self.path)

    def read_range(self, start: int, end: int) -> bytes:
        if end <= start:
            return b""
        try:
            with confine.open_regular(None, Path(self.path)) as fh:
                self._check(fh)  # type: ignore[arg-type]
                fh.seek(start)
                data = fh.read(end - start)
                self._check(fh)  # type: ignore[arg-type]
                return data
        except UnsafePathError as exc:
            raise ReaderError(exc.message, hint="check the path and its permissions") from None

    def describe(self) -> str:
        return self.path


BlobResolver = Callable[[str], "Blob | None"]
RESOLVERS: list[BlobResolver] = []  # asked in order before the local file system


def register_blob_resolver(resolver: BlobResolver) -> None:
    """Let another place hold some label files: `resolver(path)` returns the blob for a
    path it knows (the fetch cache on object storage: a file of a driver's view is
    read by every worker from the store), else None."""
    if resolver not in RESOLVERS:
        RESOLVERS.append(resolver)


def blob_for(path: Path | str) -> Blob:
    """The blob for a label file a reader found: the one place that decides how its
    bytes are read (a registered resolver's, else the local file)."""
    p = os.fspath(path)
    for resolver in RESOLVERS:
        found = resolver(p)
        if found is not None:
            return found
    try:
        st = os.stat(p)
    except OSError as exc:
        raise ReaderError(
            f"cannot read {p}: {exc.strerror}", hint="check the path and its permissions"
        ) from None
    return LocalBlob(p, st.st_size, st.st_mtime_ns, st.st_ino, st.st_dev)


class _BlobIO(io.RawIOBase):
    """Bytes [start, end) of a blob as a seekable raw stream (positions are the file's).

    The blob is asked for BUFFER bytes at a time whatever its reader asks for: a text
    wrapper pulls 8 KiB per read, and each `read_range` of a blob costs an open (a
    local file's confinement check resolves its path) or a request (an object store),
    which per 8 KiB was a quarter of a FER row's CPU.
    """

    def __init__(self, blob: Blob, start: int, end: int) -> None:
        self.blob, self.start, self.pos = blob, start, start
        self.end = min(end, blob.size)
        self._held_at, self._held = start, b""  # the last bytes read from the blob

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.pos, io.SEEK_END: self.end}[whence]
        self.pos = max(base + offset, 0)
        return self.pos

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        want = min(len(buffer), self.end - self.pos)
        if want <= 0:
            return 0
        at = self.pos - self._held_at
        if not 0 <= at < len(self._held):
            self._held_at = self.pos
            self._held = self.blob.read_range(self.pos, min(self.pos + max(want, BUFFER), self.end))
            at = 0
        data = self._held[at : at + want]
        buffer[: len(data)] = data
        self.pos += len(data)
        return len(data)


def open_blob(blob: Blob) -> io.BufferedReader:
    """The whole blob as a seekable binary file (what pyarrow's ParquetFile takes)."""
    return io.BufferedReader(_BlobIO(blob, 0, blob.size), BUFFER)


def range_text(blob: Blob, start: int, end: int) -> io.TextIOWrapper:
    """Bytes [start, end) of `blob` as text lines, streamed (a range is never held whole).

    Decoded exactly as `open_csv` decodes the whole file: UTF-8, a BOM skipped only at
    the file's start, line ends kept (newline="") so csv sees what it would have seen.
    """
    raw = io.BufferedReader(_BlobIO(blob, start, end), BUFFER)
    encoding = "utf-8-sig" if start == 0 else "utf-8"
    return io.TextIOWrapper(raw, encoding=encoding, newline="")
