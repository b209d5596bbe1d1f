"""Exact and near duplicate detection across every dataset in a build, without ever
destroying a label.

The same photo turns up in several public sets (SMILEsmileD lists GENKI images,
FER2013 mirrors overlap) and within one set (SMILEsmileD's byte-identical pairs).
Keeping both inflates counts and leaks test images into training, so the first copy
is kept and every other copy is removed and counted. But a copy is not worthless:

- its labels are merged into the kept row: smile from one source, expression from
  the other, and the row says so (`merged_from`);
- where the copies disagree on a head, the build's policy decides: `void` (default:
  neither copy is trusted, the head becomes missing) or `first` (the kept copy's label
  stands); the row lists the head in `label_conflict` and corpus.json counts it;
- near duplicates of one subject in one dataset are not duplicates at all: a CK+
  neutral first frame and its peak frame, or video frames a second apart, are
  near-identical faces that differ in exactly the label that matters. The
  subject-disjoint split already keeps them out of each other's splits. Nor are
  near-identical faces of two subjects the dataset tells apart: a perceptual hash
  of a small aligned face can collide for two people, and the dataset knows better.

Near duplicates use a 64-bit perceptual hash. Finding all hashes within Hamming
distance d uses the pigeonhole trick: split the hash into d+1 bands; two hashes
within distance d agree exactly on at least one band, so a dict per band finds the
candidates without comparing against every stored hash.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any, Literal

ConflictPolicy = Literal["void", "first"]
POLICIES: dict[str, str] = {
    "void": "neither copy is trusted: the head is set to missing on the kept row",
    "first": "the first copy's label is kept",
}
HEADS = ("smile", "expression")
MAX_EXAMPLES = 20


def _bands(bits: int, parts: int) -> list[tuple[int, int]]:
    size, extra = divmod(bits, parts)
    spans, start = [], 0
    for i in range(parts):
        width = size + (1 if i < extra else 0)
        spans.append((start, width))
        start += width
    return spans


@dataclass(slots=True)
class Kept:
    """What dedup remembers of a written row: enough to merge into it later.

    One per written row, so it stays small: labels as plain slots, the merge lists
    empty tuples until a duplicate actually changes the row.
    """

    ident: str  # dataset/key
    dataset: str
    subject_id: str | None
    split: str
    smile: int | None
    expression: str | None
    smile_derived: bool
    merged_from: tuple[str, ...] = ()
    conflicts: tuple[str, ...] = ()

    @property
    def labels(self) -> dict[str, Any]:
        return {h: getattr(self, h) for h in (*HEADS, "smile_derived")}


@dataclass(frozen=True)
class Match:
    kind: Literal["exact", "near"]
    first: Kept


@dataclass
class Deduper:
    near_distance: int = 4
    policy: ConflictPolicy = "void"
    exact_dupes: int = 0
    near_dupes: int = 0
    same_subject_kept: int = 0
    other_subject_kept: int = 0
    merged: Counter = field(default_factory=Counter)
    conflicts: Counter = field(default_factory=Counter)
    examples: list[dict[str, Any]] = field(default_factory=list)
    _exact: dict[str, int] = field(default_factory=dict)  # sha256 -> index into _kept
    _kept: list[Kept] = field(default_factory=list)
    _hashes: list[int] = field(default_factory=list)
    _owners: list[int] = field(default_factory=list)
    _index: list[dict[int, list[int]]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._spans = _bands(64, self.near_distance + 1)
        self._index = [defaultdict(list) for _ in self._spans]

    def _band_keys(self, h: int) -> list[int]:
        return [(h >> start) & ((1 << width) - 1) for start, width in self._spans]

    def find(
        self, sha256: str, phash: int | None, dataset: str, subject_id: str | None
    ) -> Match | None:
        """The kept row this one duplicates, or None (also for one subject's near frames)."""
        if sha256 in self._exact:
            return Match("exact", self._kept[self._exact[sha256]])
        if phash is None or self.near_distance <= 0:
            return None
        told_apart = None  # why a near match was not a duplicate
        for band, bkey in enumerate(self._band_keys(phash)):
            for idx in self._index[band].get(bkey, ()):
                if (self._hashes[idx] ^ phash).bit_count() > self.near_distance:
                    continue
                kept = self._kept[self._owners[idx]]
                if kept.dataset == dataset and None not in (subject_id, kept.subject_id):
                    told_apart = told_apart or (
                        "same" if kept.subject_id == subject_id else "other"
                    )
                    continue
                return Match("near", kept)
        if told_apart == "same":
            self.same_subject_kept += 1
        elif told_apart == "other":
            self.other_subject_kept += 1
        return None

    def add(self, row: dict[str, Any]) -> None:
        """Register a row that is being written (its split already assigned)."""
        idx = len(self._kept)
        self._kept.append(
            Kept(
                ident=f"{row['dataset']}/{row['key']}",
                dataset=row["dataset"],
                subject_id=row.get("subject_id"),
                split=row["split"],
                smile=row.get("smile"),
                expression=row.get("expression"),
                smile_derived=bool(row.get("smile_derived")),
            )
        )
        self._exact.setdefault(row["sha256"], idx)
        phash = row.get("phash")
        if phash is not None and self.near_distance > 0:
            self._hashes.append(phash)
            self._owners.append(idx)
            for band, bkey in enumerate(self._band_keys(phash)):
                self._index[band][bkey].append(len(self._hashes) - 1)

    def _example(self, kind: str, head: str, first: Kept, ident: str, values: list) -> None:
        if len(self.examples) < MAX_EXAMPLES:
            self.examples.append(
                {
                    "kind": kind,
                    "head": head,
                    "kept": first.ident,
                    "duplicate": ident,
                    "values": values,
                }
            )

    def merge(self, match: Match, row: dict[str, Any]) -> dict[str, Any]:
        """Count the duplicate `row` and fold its labels into the kept row.

        Returns the kept row's changed columns (labels by name), empty when nothing
        changed; the caller patches the written row with them.
        """
        if match.kind == "exact":
            self.exact_dupes += 1
        else:
            self.near_dupes += 1
        first, ident = match.first, f"{row['dataset']}/{row['key']}"
        changes: dict[str, Any] = {}
        for head in HEADS:
            theirs, ours = row.get(head), getattr(first, head)
            if theirs is None:
                continue
            if head in first.conflicts:
                self.conflicts[head] += 1
                continue
            if ours is None:
                setattr(first, head, theirs)
                changes[head] = theirs
                if head == "smile" and row.get("smile_derived"):
                    first.smile_derived = changes["smile_derived"] = True
                self.merged[head] += 1
                self._example("merge", head, first, ident, [ours, theirs])
            elif ours != theirs:
                self.conflicts[head] += 1
                first.conflicts = (*first.conflicts, head)
                changes["label_conflict"] = list(first.conflicts)
                self._example("conflict", head, first, ident, [ours, theirs])
                if self.policy == "void":
                    setattr(first, head, None)
                    changes[head] = None
                    if head == "smile":
                        first.smile_derived = changes["smile_derived"] = False
        if changes:
            first.merged_from = (*first.merged_from, ident)
            changes["merged_from"] = list(first.merged_from)
        return changes

    def to_dict(self) -> dict[str, Any]:
        return {
            "kept": len(self._kept),
            "exact": self.exact_dupes,
            "near": self.near_dupes,
            "near_distance": self.near_distance,
            "same_subject_kept": self.same_subject_kept,
            "other_subject_kept": self.other_subject_kept,
            "merged": dict(self.merged),
            "conflicts": dict(self.conflicts),
            "conflict_policy": f"{self.policy}: {POLICIES[self.policy]}",
            "examples": self.examples,
        }
