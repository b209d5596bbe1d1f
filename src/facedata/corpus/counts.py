"""Counting rows the way corpus.json reports them, for a build and for `forget`.

One counter, so a corpus counted while it is written and recounted from its shards
after an erasure gives the same shape and the same numbers.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from facedata.corpus.row import codec_of
from facedata.vocabulary import HEADS

# the columns `RowCounter.add` reads
COUNT_COLUMNS = (
    "split",
    "dataset",
    *HEADS,
    "align_status",
    "label_by_convention",
    "landmarks_error",
    "source_bbox",
    "label_conflict",
    "merged_from",
)


@dataclass
class RowCounter:
    """Per-split, per-head, per-dataset, per-status and per-flag row counts."""

    total: int = 0
    splits: Counter = field(default_factory=Counter)
    smile: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    expression: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    datasets: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    align_status: Counter = field(default_factory=Counter)
    flags: Counter = field(default_factory=Counter)

    def add(self, row: dict[str, Any]) -> None:
        """Count a row whose labels are by name (smile 0/1, expression name, None)."""
        split = row["split"]
        self.total += 1
        self.splits[split] += 1
        self.datasets[row["dataset"]][split] += 1
        self.align_status[row["align_status"]] += 1
        for head in HEADS:
            self.label(split, head, row.get(head), +1)
        for flag in ("label_by_convention", "landmarks_error", "source_bbox", "label_conflict"):
            if row.get(flag):
                self.flags[flag] += 1
        if row.get("merged_from"):
            self.flags["merged"] += 1

    def label(self, split: str, head: str, value: Any, delta: int) -> None:
        if value is None:
            return
        counter = (self.smile if head == "smile" else self.expression)[split]
        counter[str(value)] += delta
        if counter[str(value)] <= 0:
            del counter[str(value)]

    def to_dict(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "splits": dict(self.splits),
            "smile": {k: dict(v) for k, v in self.smile.items() if v},
            "expression": {k: dict(v) for k, v in self.expression.items() if v},
            "datasets": {k: dict(v) for k, v in self.datasets.items()},
            "align_status": dict(self.align_status),
            "flags": dict(self.flags),
        }


def count_shards(paths: list[Path]) -> RowCounter:
    """Recount a corpus from its shards, one batch of label columns at a time."""
    counter = RowCounter()
    for path in paths:
        pf = pq.ParquetFile(path)
        codec = codec_of(pf.schema_arrow)
        present = [c for c in COUNT_COLUMNS if c in pf.schema_arrow.names]
        for batch in pf.iter_batches(batch_size=4096, columns=present):
            for row in batch.to_pylist():
                for head in HEADS:
                    value = row.get(head)
                    if isinstance(value, int):  # a class index (older corpora: a name)
                        row[head] = codec.decode(head, value)
                counter.add(row)
    return counter
