"""What a trainer needs to know about each label head, computed from the counts.

Index maps say which class each integer is; per-split class counts say what is there;
class weights (from the train split, "balanced": N / (K * n_c)) let a loss correct
for imbalance without anyone re-counting. Written into corpus.json at build time and
recomputed whenever rows change (`forget`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from facedata.corpus.row import MISSING, SMILE_NAMES


def class_weights(counts: Sequence[int]) -> list[float]:
    """Balanced weights; a class with no training rows gets 0 (it cannot be learnt)."""
    total = sum(counts)
    present = sum(1 for n in counts if n > 0)
    if not total:
        return [0.0 for _ in counts]
    return [round(total / (present * n), 6) if n else 0.0 for n in counts]


def head_record(names: Sequence[str], by_split: Mapping[str, Mapping[str, int]]) -> dict[str, Any]:
    """One head's entry: names, index map, counts per split (in index order), weights."""
    counts = {
        split: [int(values.get(name, 0)) for name in names] for split, values in by_split.items()
    }
    train = counts.get("train") or [0] * len(names)
    return {
        "names": list(names),
        "index": {name: i for i, name in enumerate(names)},
        "missing": MISSING,
        "counts": counts,
        "weights": class_weights(train),
    }


def heads_record(expressions: Sequence[str], counts: Mapping[str, Any]) -> dict[str, Any]:
    """Both heads' entries from a corpus's `counts` (smile keyed "0"/"1", expression by name)."""
    smile = {
        split: {SMILE_NAMES[int(k)]: n for k, n in values.items() if k in ("0", "1")}
        for split, values in (counts.get("smile") or {}).items()
    }
    return {
        "smile": head_record(SMILE_NAMES, smile),
        "expression": head_record(expressions, counts.get("expression") or {}),
    }
