"""What a fetcher is given and what it gives back, shared by every downloadable kind."""

from __future__ import annotations

from typing import NamedTuple

from facedata.fetch.store import SourceLock
from facedata.fetch.tree import Placement
from facedata.manifest.schema import Manifest, Source


class FetchJob(NamedTuple):
    """One source to obtain (a tuple, so a fetcher unpacks it in one line)."""

    manifest: Manifest
    src: Source
    pinned: SourceLock | None  # what an earlier fetch pinned: the files must match it
    notes: list[str]  # what the person must hear, appended as it happens
    force: bool  # obtain again even what the store already holds


# The tree's placements and the lock record that pins them.
Fetched = tuple[list[Placement], SourceLock]
