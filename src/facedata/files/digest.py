"""The sha256 of a file, read in chunks: one reader for shards, model files and weights.

Every place that pins bytes (corpus shards, model cards, detector weights) must hash
them the same way, or a pin written by one is refused by another.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

CHUNK = 1 << 20  # bytes per read: large enough that hashlib releases the GIL
_HEX64 = re.compile(r"[0-9a-f]{64}")


def file_sha256(path: Path, chunk: int = CHUNK) -> str:
    """Hex sha256 of the file's bytes, without holding the whole file in memory."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def is_sha256(value: object) -> bool:
    """Whether `value` is a sha256 as facedata writes one (64 lowercase hex digits):
    listings, records and memos are written by anyone, so each hash read is checked."""
    return isinstance(value, str) and _HEX64.fullmatch(value) is not None
