"""One writer at a time for each folder facedata replaces whole (a corpus, a tree).

A build and a `forget` on the same corpus, or two builds into one `--out`, would
each recover the other's temp folder as debris and delete it mid-write. The lock
is a file beside the target (not inside it: the target itself is swapped by a
rename), held with flock, so the OS releases it when the process dies, even by
kill -9. The second process refuses at once with a clear error rather than waiting
an unknown time behind a build that may run for hours. The file is removed on
release; a process that locked a file just unlinked by its holder notices (the
inode changed) and tries again, so two processes never both believe they hold it.

Re-entrant within a process: a build holds its corpus lock, and the `atomic_dir`
it calls takes the same lock again.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from pathlib import Path

from facedata.errors import BusyError, FacedataError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: filelock's msvcrt lock, file kept
    fcntl = None  # type: ignore[assignment]

_held: dict[str, list] = {}  # lock path -> [handle, depth]
_guard = threading.Lock()


def lock_path(target: Path) -> Path:
    target = Path(os.path.abspath(target))
    return target.parent / f".{target.name}.lock"


def _busy(target: Path, path: Path, what: str, holder: str) -> BusyError:
    who = f" (process {holder})" if holder else ""
    return BusyError(
        f"{target} is being changed by another facedata process{who}",
        hint=f"wait for the other build or forget to finish, then run this {what} again "
        f"(the lock {path} is released when that process ends)",
    )


def _unwritable(target: Path, exc: OSError) -> FacedataError:
    problem = f"{exc.strerror or exc}" + (f" ({exc.filename})" if exc.filename else "")
    blocker = next((p for p in Path(os.path.abspath(target)).parents if p.is_file()), None)
    if blocker is not None:
        problem = f"{blocker} is a file, not a folder"
    return FacedataError(
        f"cannot write {target}: {problem}",
        hint="pick a folder path whose parents are folders you can write to",
    )


def _acquire(target: Path, path: Path, what: str) -> object:
    if fcntl is None:  # pragma: no cover
        from filelock import FileLock, Timeout

        lock = FileLock(str(path), timeout=0)
        try:
            lock.acquire()
        except Timeout:
            raise _busy(target, path, what, "") from None
        return lock
    for _ in range(20):
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
            os.close(fd)
            raise _busy(target, path, what, holder) from None
        try:
            same = os.stat(path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            os.ftruncate(fd, 0)
            os.pwrite(fd, str(os.getpid()).encode(), 0)
            return fd
        os.close(fd)  # the holder removed it as we opened it: lock the new one
    raise _busy(target, path, what, "")


def _release(path: Path, handle: object) -> None:
    if isinstance(handle, int):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        os.close(handle)  # closing drops the flock
    else:  # pragma: no cover
        handle.release()  # type: ignore[attr-defined]


@contextlib.contextmanager
def exclusive(target: Path, what: str = "command") -> Iterator[None]:
    """Hold the lock on `target` for the block, or raise BusyError if another process has it."""
    path = lock_path(target)
    key = str(path)
    with _guard:
        entry = _held.get(key)
        if entry is not None and entry[2] == os.getpid():
            entry[1] += 1
        else:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                handle = _acquire(Path(target), path, what)
            except OSError as exc:  # the first write beside the target: say where, not how
                raise _unwritable(Path(target), exc) from None
            _held[key] = [handle, 1, os.getpid()]
    try:
        yield
    finally:
        with _guard:
            entry = _held[key]
            entry[1] -= 1
            if entry[1] == 0:
                del _held[key]
                _release(path, entry[0])
