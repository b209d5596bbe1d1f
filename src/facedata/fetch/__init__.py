"""Acquisition: download, resume, verify, unpack and pin dataset sources.

`fetch_dataset` obtains a dataset (HTTP, Kaggle, Hugging Face, or a gated source the
person registers with `from_path`); `fetched` says what the cache already holds,
without network, for readers and builds; `verify` re-hashes the cache against the
lock file. See `store` for the layout on disk.
"""

from __future__ import annotations

import importlib
from typing import Any

# name -> the submodule defining it. Imported on first use: `facedata list` asks only
# `fetched`, and the download stack (requests, tarfile, the unpackers) would cost
# every command that reads manifests most of its start-up time.
_WHERE = {
    "FetchResult": "core",
    "Verified": "core",
    "fetch_dataset": "core",
    "fetched": "core",
    "select_sources": "core",
    "verify": "core",
    "LockEntry": "store",
    "SourceLock": "store",
}

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


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        value = getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
