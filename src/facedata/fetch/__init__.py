"""Acquisition: download, resume, verify, unpack and pin dataset sources.

`fetch_dataset` obtains a dataset (HTTP, Kaggle, Hugging Face, or a gated source the
person registers with `from_path`); `fetched` says what the cache already holds,
without network, for readers and builds; `verify` re-hashes the cache against the
lock file. See `store` for the layout on disk.
"""

from __future__ import annotations

from .core import FetchResult, Verified, fetch_dataset, fetched, select_sources, verify
from .store import LockEntry, SourceLock

__all__ = [
    "FetchResult",
    "LockEntry",
    "SourceLock",
    "Verified",
    "fetch_dataset",
    "fetched",
    "select_sources",
    "verify",
]
