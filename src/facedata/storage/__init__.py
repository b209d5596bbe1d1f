"""Corpora on object storage (S3, GCS, any S3-compatible store).

A corpus is built and read in a local folder exactly as ever; this package moves it
to and from a URL. See docs/storage.md. The hooks the commands use:

- `build_target(recipe)`: `build --out URL` builds privately, then publishes;
- `local_corpus(path_or_url, writeback=...)`: report, cite, train (and forget through
  `local_corpora`) work on a staged copy; a changed one is published back;
- `publish(folder, url)`: publish a local corpus folder atomically;
- `redact(text)`: any text with URL credentials and query strings removed;
- `refuse_keyed(value)`: refuse an output option naming a URL that carries keys.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

# name -> module: loaded on first use, so `facedata --help` imports none of it
_WHERE = {
    "Location": "location",
    "StorageError": "location",
    "is_remote": "location",
    "parse": "location",
    "redact": "location",
    "refuse_keyed": "location",
    "shown": "location",
    "build_target": "build",
    "named": "build",
    "publish": "publishing",
    "as_named": "stage",
    "local_corpora": "stage",
    "local_corpus": "stage",
}
__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(name)
    return getattr(import_module(f".{_WHERE[name]}", __name__), name)
