"""One confinement rule for every path facedata reads or writes on behalf of a dataset.

Archives, label files, manifests and folders handed over with `--from` all come from
strangers, and every one of them can name a path: a member name, an image path in a
label list, a `format.root` glob, a symlink planted by an earlier archive. Checking
the *text* of a path is not enough (a chain of relative links such as `u1 -> .`,
`u2 -> u1/..` looks harmless link by link), so the rule is checked on the final,
resolved path at the moment of the open:

- a name written by a stranger is relative, has no `..`, no NUL and fits the file
  system (`name_problem`), else it is refused before it is joined to anything;
- the resolved path lies inside its root (`inside`);
- reads open a regular file, never a FIFO or a device (`open_regular`), so a planted
  `/dev/zero` or a pipe can neither fill the disk nor hang the process;
- writes create a new file and never follow a link (`create_new`), so a link planted
  by a member, an earlier archive or a nested archive cannot redirect them;
- a published tree keeps only links that resolve inside it (`sweep_links`).
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections.abc import Iterator
from contextvars import ContextVar
from pathlib import Path
from typing import IO, TypeVar

from facedata.errors import UnsafePathError

T = TypeVar("T")

NAME_MAX = 255  # bytes per path component (ext4, xfs, apfs, ntfs)
PATH_MAX = 4096


def name_problem(name: str) -> str | None:
    """Why a relative path written in a file we did not author is unusable, or None.

    Used for archive members, label-file image paths and manifest paths alike, so all
    of them refuse the same things with the same words.
    """
    if not isinstance(name, str):
        return f"expected a path, got {type(name).__name__}"
    if name in ("", "."):
        return "empty path"
    if "\x00" in name:
        return "NUL byte in path"
    norm = name.replace("\\", "/")
    if norm.startswith("/") or (len(norm) > 1 and norm[1] == ":"):
        return f"absolute path {name!r}"
    if ".." in norm.split("/"):  # PurePosixPath(norm).parts, at a tenth of the cost
        return f"path {name!r} climbs out with '..'"
    try:
        raw = os.fsencode(norm)
    except UnicodeError:
        return "path is not encodable on this system"
    if len(raw) > PATH_MAX:
        return f"path is {len(raw):,} bytes long (limit {PATH_MAX:,})"
    if any(len(part) > NAME_MAX for part in raw.split(b"/")):
        return f"a file name in {name[:60]!r}... is over {NAME_MAX} bytes"
    return None


def check_name(name: str, what: str) -> str:
    """`name` if usable, else an UnsafePathError naming `what` it was."""
    problem = name_problem(name)
    if problem:
        raise UnsafePathError(
            f"{what}: {problem}",
            hint="paths written in data files must stay inside their folder: relative, no '..'",
        )
    return name


def is_inside(root: Path, path: Path) -> bool:
    """True when `path`, every link followed, lies in `root` (also resolved)."""
    real_root = os.path.realpath(root)
    try:
        real = os.path.realpath(path)
    except (OSError, ValueError):
        return False
    return real == real_root or real.startswith(real_root.rstrip("/") + "/")


def inside(root: Path, path: Path, what: str = "") -> Path:
    """The resolved `path`, or an UnsafePathError when it leaves `root`."""
    if not is_inside(root, path):
        shown = what or str(path)
        raise UnsafePathError(
            f"{shown} resolves to {os.path.realpath(path)}, outside {root}",
            hint="a link or a '..' leads out of the dataset's folder; it was not read. "
            "Get a clean copy of the dataset",
        )
    return Path(os.path.realpath(path))


_READING_IN: ContextVar[Path | None] = ContextVar("facedata_reading_in", default=None)


@contextlib.contextmanager
def reading_inside(root: Path) -> Iterator[None]:
    """Every `open_regular` in this block without its own root stays inside `root`.

    Readers open label files through shared helpers that do not know the dataset's
    root; the reader dispatch sets it here, so a label file reached through a link
    leading out is refused wherever it is opened.
    """
    token = _READING_IN.set(root if isinstance(root, Path) else Path(root))
    try:
        yield
    finally:
        _READING_IN.reset(token)


def next_inside(root: Path, items: Iterator[T]) -> T | None:
    """`next(items, None)` inside `reading_inside(root)`, at a fraction of its cost:
    a reader's generator runs only while it is advanced, so that is when it is set."""
    token = _READING_IN.set(root)
    try:
        return next(items, None)
    finally:
        _READING_IN.reset(token)


def _open_checked(real: Path, shown: Path, resolve_link: bool) -> tuple[int, os.stat_result]:
    """A read descriptor on `real` and its fstat, if it is a regular file.

    O_NONBLOCK keeps a FIFO from blocking the open itself; the fstat on the opened
    descriptor is what decides, so the file checked is the file read. A final link is
    refused, or with `resolve_link` followed once by resolving `shown`. Errors name
    `shown` (the path as the caller knows it).
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0)
    try:
        try:
            fd = os.open(real, flags)
        except OSError as exc:
            if not (resolve_link and exc.errno == errno.ELOOP):
                raise
            fd = os.open(os.path.realpath(shown), flags)  # a link after all: follow it once
    except OSError as exc:
        raise UnsafePathError(
            f"cannot read {shown}: {exc.strerror}", hint="check the path and its permissions"
        ) from None
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        raise UnsafePathError(
            f"{shown} is not a regular file ({kind_of(st.st_mode)})",
            hint="only regular files and folders are read; remove pipes, devices and links to them",
        )
    return fd, st


def read_regular(path: Path, limit: int) -> bytes:
    """The bytes of the already resolved `path` (at most `limit` + 1, so the caller can
    tell "over the limit"), under open_regular's rules.

    File descriptors and one read instead of a buffered file object: an image file
    is read once per row, and the object's set-up cost as much as the read.
    """
    fd, st = _open_checked(path, path, resolve_link=True)
    try:
        want = min(st.st_size, limit) + 1
        parts = [os.read(fd, want)]
        while parts[-1] and (got := sum(map(len, parts))) < want:  # a file still growing
            parts.append(os.read(fd, want - got))
        return b"".join(parts) if len(parts) > 1 else parts[0]
    finally:
        os.close(fd)


def open_regular(root: Path | None, path: Path, *, resolved: bool = False) -> IO[bytes]:
    """Open `path` for reading only if it is a regular file (inside `root` when given,
    else inside the root of an enclosing `reading_inside`).

    `resolved`: the caller has usually resolved `path` already (a reader's
    confinement did, per image): it is opened as it is, and resolved only when it
    turns out to be a link.
    """
    root = root if root is not None else _READING_IN.get()
    if root is not None:
        real = inside(root, path)
    else:
        real = path if resolved else Path(os.path.realpath(path))
    fd, _ = _open_checked(real, path, resolve_link=resolved)
    if hasattr(os, "set_blocking"):
        os.set_blocking(fd, True)
    return os.fdopen(fd, "rb")


def kind_of(mode: int) -> str:
    for test, word in (
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISDIR, "a folder"),
        (stat.S_ISLNK, "a link"),
    ):
        if test(mode):
            return word
    return "not a plain file"


def regular_problem(path: Path) -> str | None:
    """Why `path` (links followed) is not a regular file or folder, or None."""
    try:
        st = os.stat(path)
    except OSError as exc:
        return f"cannot be read ({exc.strerror})"
    if stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode):
        return None
    return f"is {kind_of(st.st_mode)}"


def create_new(root: Path, path: Path, checked: set[Path] | None = None) -> IO[bytes]:
    """Create `path` for writing: a new file, inside `root`, never through a link.

    O_EXCL fails on anything already there (a link included), O_NOFOLLOW refuses a
    final link, and the parent folder is resolved first so no folder on the way is a
    link leading out. `checked` remembers parents already resolved (an archive of
    200,000 files in a few folders resolves each folder once).
    """
    parent = path.parent
    if checked is None or parent not in checked:
        parent.mkdir(parents=True, exist_ok=True)
        inside(root, parent, str(path))
        if checked is not None:
            checked.add(parent)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(path, flags, 0o644)
    return os.fdopen(fd, "wb")


def walk_links(root: Path) -> Iterator[Path]:
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = Path(dirpath, name)
            if p.is_symlink():
                yield p


def sweep_links(root: Path) -> list[str]:
    """Remove every link under `root` that does not resolve inside it; return their names.

    Checked on the finished tree, where each link is resolved through the others: a
    chain that looks harmless link by link is judged by where it really ends.
    """
    removed = []
    for link in list(walk_links(root)):
        if not is_inside(root, link) or not os.path.exists(link):
            removed.append(link.relative_to(root).as_posix())
            os.unlink(link)
    return removed
