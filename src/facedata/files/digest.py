"""The sha256 of a file, read in chunks: one reader for shards, model files and weights.

Every place that pins bytes (corpus shards, model cards, detector weights) must hash
them the same way, or a pin written by one is refused by another.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

CHUNK = 1 << 20  # bytes per read: large enough that hashlib releases the GIL


def file_sha256(path: Path, chunk: int = CHUNK) -> str:
    """Hex sha256 of the file's bytes, without holding the whole file in memory."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()
