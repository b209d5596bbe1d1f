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

Near duplicates use a 64-bit perceptual hash. Finding the hashes within Hamming
distance d uses the pigeonhole principle with a search radius (multi-index hashing):
split the hash into m bands with m > d/2; two hashes within distance d then differ in
at most one bit in at least one band. A dict per band, probed with the band's key and
its single-bit flips, finds the candidates. With d = 4 that is 3 bands of 21-22 bits:
67 dict lookups per row and almost empty buckets up to millions of rows, so the cost
per row stays flat as the corpus grows (d+1 exact-match bands of 13 bits would hold
N/8192 candidates each, a cost per row growing with N). Among the kept rows within
distance the earliest wins, whatever order the probes find them in.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Literal

from facedata.vocabulary import HEADS

ConflictPolicy = Literal["void", "first"]
POLICIES: dict[str, str] = {
    "void": "neither copy is trusted: the head is set to missing on the kept row",
    "first": "the first copy's label is kept",
}
MAX_EXAMPLES = 20


def _stricter_terms(first: Kept, row: dict[str, Any]) -> dict[str, Any]:
    """The kept row now holds `row`'s labels: it carries the stricter tier of the two and
    both license ids, so a CC BY row holding a CC BY-NC set's label says non-commercial."""
    from facedata.gate.licensing import most_restrictive_tier

    changes: dict[str, Any] = {}
    theirs_id, theirs_tier = row.get("license_id"), row.get("license_tier")
    if theirs_id and first.license_id and theirs_id not in first.license_id.split(" AND "):
        first.license_id = f"{first.license_id} AND {theirs_id}"
        changes["license_id"] = first.license_id
    if theirs_tier and first.license_tier and theirs_tier != first.license_tier:
        try:
            tier = most_restrictive_tier([first.license_tier, theirs_tier])
        except ValueError:  # a tier the policy does not know: nothing granted it
            tier = "unknown"
        if tier != first.license_tier:
            first.license_tier = changes["license_tier"] = tier
    return changes


def _bands(bits: int, parts: int) -> list[tuple[int, int]]:
    size, extra = divmod(bits, parts)
    spans, start = [], 0
    for i in range(parts):
        width = size + (1 if i < extra else 0)
        spans.append((start, width))
        start += width
    return spans


def _band_count(distance: int) -> int:
    """The fewest bands whose pigeonhole radius (distance // bands) is at most one bit."""
    return max(1, (distance + 2) // 2)


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
    license_id: str | None = None
    license_tier: str | None = None

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
    # per band: band key -> one index into _hashes, or a list of them (ascending)
    _index: list[dict[int, int | list[int]]] = field(default_factory=list)

    def __post_init__(self) -> None:
        d = max(self.near_distance, 0)
        self._spans = _bands(64, _band_count(d)) if d else []
        self._index = [{} for _ in self._spans]
        radius = d // len(self._spans) if self._spans else 0
        # the key itself, then (radius 1) each single-bit flip of it
        self._flips = [
            [0] + ([1 << i for i in range(width)] if radius else []) for _, width in self._spans
        ]

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
        best: int | None = None  # the earliest kept row within distance
        apart: tuple[int, str] | None = None  # the earliest one the dataset tells apart
        hashes, limit = self._hashes, self.near_distance
        bands = zip(self._band_keys(phash), self._index, self._flips, strict=True)
        for bkey, index, flips in bands:
            for flip in flips:
                found = index.get(bkey ^ flip)
                if found is None:
                    continue
                for idx in (found,) if isinstance(found, int) else found:
                    if best is not None and idx >= best:
                        break  # ascending: nothing earlier follows
                    if (hashes[idx] ^ phash).bit_count() > limit:
                        continue
                    kept = self._kept[self._owners[idx]]
                    if kept.dataset == dataset and None not in (subject_id, kept.subject_id):
                        if apart is None or idx < apart[0]:
                            apart = (idx, "same" if kept.subject_id == subject_id else "other")
                        continue
                    best = idx
                    break
        if best is not None:
            return Match("near", self._kept[self._owners[best]])
        if apart is not None and apart[1] == "same":
            self.same_subject_kept += 1
        elif apart is not None:
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
                license_id=row.get("license_id"),
                license_tier=row.get("license_tier"),
            )
        )
        self._exact.setdefault(row["sha256"], idx)
        phash = row.get("phash")
        if phash is not None and self.near_distance > 0:
            at = len(self._hashes)
            self._hashes.append(phash)
            self._owners.append(idx)
            for bkey, index in zip(self._band_keys(phash), self._index, strict=True):
                held = index.get(bkey)
                if held is None:
                    index[bkey] = at  # most buckets hold one row: no list for it
                elif isinstance(held, int):
                    index[bkey] = [held, at]
                else:
                    held.append(at)

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
            changes.update(_stricter_terms(first, row))
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
