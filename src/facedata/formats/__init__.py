"""Readers for every dataset's native layout, reached through `read_source`.

Importing this package registers every reader; the build and `facedata inspect`
only ever call `read_source(manifest, source, root)`.
"""

from __future__ import annotations

from . import (  # noqa: F401  (imported to register the readers)
    affectnet,
    celeba,
    ckplus,
    ferplus,
    genki,
    hfparquet,
    imagefolder,
    lfwcrop,
    pixels_csv,
    rafdb,
    smilesmiled,
    table,
    trainingdatapro,
)
from .local import read_local
from .registry import (
    READERS,
    get_reader,
    markers_for,
    read_source,
    register,
    resolve_root,
    source_options,
)

register("local")(read_local)

__all__ = [
    "READERS",
    "get_reader",
    "markers_for",
    "read_source",
    "register",
    "resolve_root",
    "source_options",
]
