"""One error family, so the CLI can show a clean message instead of a traceback.

Every error carries a `hint`: what the person should do next. Bad input is the
common case for a data tool, and a message that only says what went wrong leaves
people guessing.
"""

from __future__ import annotations

import errno
import os


class FacedataError(Exception):
    """Base of every error the CLI reports without a traceback."""

    exit_code = 1

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\n  hint: {self.hint}"


class ManifestError(FacedataError):
    """A manifest (or taxonomy, clearance, recipe) file is malformed."""


class UnknownDatasetError(FacedataError):
    """An id that no manifest defines."""


class PolicyError(FacedataError):
    """The license policy refuses what was asked."""


class FetchError(FacedataError):
    """A download, verification or unpack step failed."""


class AccessRequiredError(FetchError):
    """The source is gated: a person must obtain it and register it with --from."""

    exit_code = 2


class NoNetworkError(FetchError):
    """A host could not be reached at all (its name does not resolve): likely offline."""


class IntegrityError(FetchError):
    """Bytes on disk or on the wire do not match the expected hash."""


class UnsafeArchiveError(FetchError):
    """An archive tried to write outside its target or exceeded a limit."""


class UnsafePathError(FacedataError):
    """A path would leave the folder it must stay in (a link, `..`, an absolute path)."""


class BusyError(FacedataError):
    """Another facedata process holds the lock on what this one wants to change."""


class ReaderError(FacedataError):
    """A dataset's files do not match the layout its reader expects."""


class ImageError(FacedataError):
    """An image cannot be decoded or is refused (bomb, zero size, ...)."""


class BuildError(FacedataError):
    """A corpus build cannot proceed."""


class InputsLostError(BuildError):
    """The build's inputs cannot be reached at all (a store gone, credentials refused):
    it stops the build; never counted as one row's failure, as a missing file is."""


class DiskError(FacedataError):
    """The disk or the environment refused an operation: full, read-only, a file where a
    folder must be, a path too long. Says which path and what to do."""


def _shown(path: object) -> str:
    text = os.fsdecode(path) if isinstance(path, (str, bytes, os.PathLike)) else str(path)
    return text if len(text) <= 160 else f"{text[:80]}...{text[-60:]} ({len(text):,} characters)"


_HINTS = {
    errno.ENOSPC: "the disk is full: free space there (or point FACEDATA_HOME, or --out, at a "
    "larger disk), then run the command again; nothing half-written was kept",
    errno.EDQUOT: "the disk quota is used up: free space or use another disk, then run again",
    errno.EROFS: "that file system is read-only: set FACEDATA_HOME (or --out) to a folder you "
    "can write, then run again",
    errno.EACCES: "you may not write there: fix its permissions, or set FACEDATA_HOME (or "
    "--out) to a folder you can write",
    errno.EPERM: "the operation is not permitted there: fix its permissions, or set "
    "FACEDATA_HOME (or --out) to a folder you can write",
    errno.ENOTDIR: "a part of that path is a file, not a folder: if FACEDATA_HOME (or --out) "
    "names a file, point it at a folder",
    errno.EEXIST: "a file is in the way where a folder must be: if FACEDATA_HOME (or --out) "
    "names a file, point it at a folder",
    errno.ENAMETOOLONG: "the path is longer than the system allows: move the files to a "
    "shorter path (or link them from one) and pass that",
    errno.EMFILE: "too many files are open: raise the limit (ulimit -n) and run again",
    errno.ENFILE: "the system has too many files open: close other programs and run again",
    errno.EIO: "the disk reported an input/output error: check the disk, then run again",
}


def disk_error(exc: OSError, where: object = None, doing: str = "use") -> DiskError:
    """A DiskError for `exc`, naming its path (else `where`, the folder being written)."""
    path, doing = (exc.filename, "use") if exc.filename is not None else (where, doing)
    reason = exc.strerror or str(exc) or type(exc).__name__
    subject = f" {_shown(path)}" if path is not None else ""
    hint = _HINTS.get(exc.errno or -1, "check the path and its permissions, then run again")
    return DiskError(f"cannot {doing}{subject}: {reason}", hint=hint)
