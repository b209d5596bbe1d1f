"""Readers for every dataset's native layout, reached through `read_source`.

The first use of a name below imports and registers every reader; the build and `facedata inspect`
only ever call `read_source(manifest, source, root)`.
"""

from __future__ import annotations

import importlib
from typing import Any

_READERS = (
    "affectnet",
    "celeba",
    "ckplus",
    "ferplus",
    "genki",
    "hfparquet",
    "imagefolder",
    "lfwcrop",
    "pixels_csv",
    "rafdb",
    "smilesmiled",
    "table",
    "trainingdatapro",
    "yolo",
)

__all__ = [
    "READERS",
    "get_reader",
    "markers_for",
    "read_source",
    "register",
    "resolve_root",
    "source_options",
]


def _load() -> None:
    """Import every reader (registering it) and publish the registry's names here.

    Deferred to first use: `facedata list`, `info` and manifest validation import
    `formats.options` only, and the readers' imports (numpy, PIL, pyarrow) would cost
    them most of their start-up time.
    """
    for name in _READERS:
        importlib.import_module(f"{__name__}.{name}")
    from . import registry
    from .local import read_local

    if "local" not in registry.READERS:
        registry.register("local")(read_local)
    globals().update({name: getattr(registry, name) for name in __all__})


def __getattr__(name: str) -> Any:
    if name in __all__:
        _load()
        return globals()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
