"""Readers for every dataset's native layout, reached through `read_source`.

The first use of a name below imports and registers every reader; the build and `facedata inspect`
only ever call `read_source(manifest, source, root)`.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

__all__ = [
    "READERS",
    "get_reader",
    "markers_for",
    "read_part",
    "read_source",
    "register",
    "resolve_root",
    "source_options",
    "source_parts",
]


def _load() -> None:
    """Import every reader module here (each registers itself) and publish the
    registry's names.

    Every module of this package not starting with `_` holds readers, so a new layout
    is found by being here. Deferred to first use: `facedata list`, `info` and
    manifest validation need only the options models (facedata.manifest.options), and
    the readers' imports (numpy, PIL, pyarrow) would cost them most of their start-up.
    """
    for info in pkgutil.iter_modules(__path__):
        if not info.name.startswith("_") and info.name != "registry":
            importlib.import_module(f"{__name__}.{info.name}")
    from facedata.read import registry

    globals().update({name: getattr(registry, name) for name in __all__})


def __getattr__(name: str) -> Any:
    if name in __all__:
        _load()
        return globals()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
