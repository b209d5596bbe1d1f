"""One error family, so the CLI can show a clean message instead of a traceback.

Every error carries a `hint`: what the person should do next. Bad input is the
common case for a data tool, and a message that only says what went wrong leaves
people guessing.
"""

from __future__ import annotations


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
