"""Write-then-rename helpers: nothing already on disk is lost or left half-written.

A crash (or kill -9) between the write and the rename leaves only a temp file or
folder beside the target, which the next run recovers or removes.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path


def _umask() -> int:
    """The process umask (reading it means setting it; set it straight back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def ordinary_mode(directory: bool = False) -> int:
    """What `open()` / `mkdir()` would give: 0644 / 0755 under the usual umask.

    `mkstemp` and `mkdtemp` create 0600 / 0700 so nobody reads a file while it is
    being written; once renamed into place it is an ordinary file that the group
    (a shared data folder, a training job under another user) can read.
    """
    return (0o777 if directory else 0o666) & ~_umask()


def atomic_write_bytes(path: Path, data: bytes) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, ordinary_mode())
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def _old_name(target: Path) -> Path:
    return target.parent / f".{target.name}.old"


@contextlib.contextmanager
def atomic_dir(target: Path) -> Iterator[Path]:
    """Yield a fresh temp folder beside `target`; on success it replaces `target`.

    An existing `target` is moved aside to `.NAME.old` first and removed only after the
    new one is in place. If a crash strikes between the two renames, `recover_dir`
    (called at the start of the next run) moves `.NAME.old` back, so at every instant
    a complete corpus exists under one of the two names.
    """
    from facedata.files.locking import exclusive

    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    with exclusive(target):  # another process's partial is not debris to recover
        recover_dir(target)
        tmp = Path(
            tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent)
        )
        try:
            tmp.chmod(ordinary_mode(directory=True))
            yield tmp
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        old = _old_name(target)
        if target.exists():
            os.replace(target, old)
        os.replace(tmp, target)
        shutil.rmtree(old, ignore_errors=True)


def recover_dir(target: Path) -> None:
    """Undo what an interrupted `atomic_dir` left: restore `.NAME.old`, drop partials."""
    target = Path(target)
    old = _old_name(target)
    if old.exists():
        if target.exists():
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(old, target)
    for partial in target.parent.glob(f".{target.name}.*.partial"):
        shutil.rmtree(partial, ignore_errors=True)
