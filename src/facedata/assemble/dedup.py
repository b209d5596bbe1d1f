"""Exact and near duplicate detection across every dataset in a build.

The same photo turns up in several public sets (SMILEsmileD lists GENKI images,
FER2013 mirrors overlap) and within one set (SMILEsmileD's byte-identical pairs).
Keeping both inflates counts and leaks test images into training, so the first
copy wins and every other copy is counted.

Near duplicates use a 64-bit perceptual hash. Finding all hashes within Hamming
distance d uses the pigeonhole trick: split the hash into d+1 bands; two hashes
within distance d agree exactly on at least one band, so a dict per band finds the
candidates without comparing against every stored hash.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field


def _bands(bits: int, parts: int) -> list[tuple[int, int]]:
    size, extra = divmod(bits, parts)
    spans, start = [], 0
    for i in range(parts):
        width = size + (1 if i < extra else 0)
        spans.append((start, width))
        start += width
    return spans


@dataclass
class Deduper:
    near_distance: int = 4
    exact: dict[str, str] = field(default_factory=dict)  # sha256 -> first key
    exact_dupes: int = 0
    near_dupes: int = 0
    _hashes: list[int] = field(default_factory=list)
    _owners: list[str] = field(default_factory=list)
    _index: list[dict[int, list[int]]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._spans = _bands(64, self.near_distance + 1)
        self._index = [defaultdict(list) for _ in self._spans]

    def _band_keys(self, h: int) -> list[int]:
        return [(h >> start) & ((1 << width) - 1) for start, width in self._spans]

    def check(self, key: str, sha256: str, phash: int | None) -> tuple[str, str] | None:
        """Register a sample; return (kind, first_key) if it duplicates an earlier one."""
        if sha256 in self.exact:
            self.exact_dupes += 1
            return "exact", self.exact[sha256]
        if phash is not None and self.near_distance > 0:
            for band, bkey in enumerate(self._band_keys(phash)):
                for idx in self._index[band].get(bkey, ()):
                    if (self._hashes[idx] ^ phash).bit_count() <= self.near_distance:
                        self.near_dupes += 1
                        return "near", self._owners[idx]
        self.exact[sha256] = key
        if phash is not None:
            idx = len(self._hashes)
            self._hashes.append(phash)
            self._owners.append(key)
            for band, bkey in enumerate(self._band_keys(phash)):
                self._index[band][bkey].append(idx)
        return None

    def to_dict(self) -> dict:
        return {
            "kept": len(self.exact),
            "exact": self.exact_dupes,
            "near": self.near_dupes,
            "near_distance": self.near_distance,
        }
