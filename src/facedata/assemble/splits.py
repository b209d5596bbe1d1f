"""Split assignment: the source's own split, else by subject, else by image hash.

Hash-based assignment is deterministic (same corpus, same splits on every rebuild)
and needs no global state, so it streams. Assigning by subject keeps every image of
a person in one split, which is what makes a test score mean anything.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass, field

from facedata.corpus import SPLITS


def _unit(text: str, seed: int) -> float:
    digest = hashlib.blake2b(f"{seed}:{text}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def assign_split(
    dataset: str,
    own_split: str | None,
    subject_id: str | None,
    sha256: str,
    ratios: tuple[float, float, float],
    seed: int = 0,
) -> str:
    if own_split in SPLITS:
        return own_split
    token = f"{dataset}/subject/{subject_id}" if subject_id else f"image/{sha256}"
    u = _unit(token, seed)
    edge = 0.0
    for name, ratio in zip(SPLITS, ratios, strict=True):
        edge += ratio
        if u < edge:
            return name
    return SPLITS[-1]


@dataclass
class LeakCheck:
    """Subjects seen in more than one split (image leaks are prevented by dedup)."""

    _subjects: dict[tuple[str, str], set[str]] = field(default_factory=lambda: defaultdict(set))

    def add(self, dataset: str, subject_id: str | None, split: str) -> None:
        if subject_id:
            self._subjects[(dataset, subject_id)].add(split)

    def leaks(self) -> list[dict]:
        return [
            {"dataset": ds, "subject_id": subj, "splits": sorted(splits)}
            for (ds, subj), splits in sorted(self._subjects.items())
            if len(splits) > 1
        ]
