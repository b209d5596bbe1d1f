"""The remap: a source's own codes -> the two unified heads, with every drop counted.

The manifest's label map is the only place codes are interpreted. A head is filled
only where the source annotates it; smile is derived from an expression only when a
build asks for it (the taxonomy's `smile_derivation`, or a manifest smile map marked
`derived`) and such rows say so, because a "happy" face is not a visible smile.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from facedata.label.taxonomy import Taxonomy
from facedata.manifest.schema import HeadMap, LabelSpec
from facedata.read.sample import Drop, Sample
from facedata.vocabulary import HEADS


@dataclass(frozen=True, slots=True)
class Labelled:
    """A sample's unified labels; None means "this source does not say"."""

    smile: int | None
    expression: str | None
    smile_derived: bool
    source_label: str  # verbatim codes, e.g. "expression=3"
    expression_votes: list[float] | None = None  # vote shares in the taxonomy's order

    def as_row(self) -> dict[str, Any]:
        return {
            "smile": self.smile,
            "expression": self.expression,
            "expression_votes": self.expression_votes,
            "smile_derived": self.smile_derived,
            "source_label": self.source_label,
        }

    def counted(self) -> dict[str, str]:
        """head -> value for the heads this row fills (derived smile counted apart)."""
        out: dict[str, str] = {}
        if self.smile is not None:
            out["smile_derived" if self.smile_derived else "smile"] = str(self.smile)
        if self.expression is not None:
            out["expression"] = self.expression
        return out


def source_label(codes: dict[str, str]) -> str:
    order = [h for h in HEADS if h in codes] + sorted(set(codes) - set(HEADS))
    return ";".join(f"{h}={codes[h]}" for h in order)


def _where(sample: Sample) -> str:
    return sample.where or sample.key


def vote_shares(
    votes: Any, spec: HeadMap | None, expressions: list[str] | tuple[str, ...]
) -> list[float] | None:
    """A reader's per-code vote counts (extra["votes"]) as shares per expression.

    Codes go through the manifest's expression map like a label does, so the order is
    the taxonomy's; codes the map does not know or drops (FER+ unknown, not-a-face)
    are left out, and the rest sum to 1. None where there are no usable votes.
    """
    if spec is None or not isinstance(votes, dict):
        return None
    counts = [0.0] * len(expressions)
    index = {name: i for i, name in enumerate(expressions)}
    for code, n in votes.items():
        name = spec.codes.get(str(code).strip())
        if name is None or str(name) not in index:
            continue
        try:
            value = float(n)
        except (TypeError, ValueError):
            return None
        if not value >= 0:  # negative or NaN: not votes
            return None
        counts[index[str(name)]] += value
    total = sum(counts)
    return [c / total for c in counts] if total > 0 else None


def remap(
    sample: Sample, labels: LabelSpec, taxonomy: Taxonomy, derive_smile: bool = False
) -> Labelled | Drop:
    """Map one sample's codes through the manifest, or say why it is left out.

    An unknown code drops the whole sample: it usually means the label map and the
    data disagree, and guessing would poison the corpus. A code the manifest lists
    under `drop` (AffectNet 8-10) empties only its head; the sample goes only when no
    head is left.
    """
    values: dict[str, Any] = {}
    dropped: list[str] = []
    derived = False
    for head in HEADS:
        spec: HeadMap | None = getattr(labels, head)
        code = sample.codes.get(head)
        if spec is None or code is None:
            continue
        if spec.derived and not derive_smile:
            continue  # a smile map built from emotions applies only when asked for
        code = code.strip()
        if code in spec.drop:
            dropped.append(f"{head} {code}: {spec.drop[code]}")
            continue
        if code not in spec.codes:
            return Drop(
                sample.dataset,
                f"unmapped {head} code {code!r}",
                _where(sample),
                f"{sample.key}: the manifest's labels.{head}.codes has no {code!r}",
            )
        values[head] = spec.codes[code]
        derived = derived or spec.derived
    if derive_smile and values.get("smile") is None and values.get("expression") is not None:
        smile = taxonomy.smile_derivation.get(str(values["expression"]))
        if smile is not None:
            values["smile"] = smile
            derived = True
    if not values:
        reason = dropped[0] if dropped else "no label"
        return Drop(
            sample.dataset, reason, _where(sample), f"{sample.key}: {source_label(sample.codes)}"
        )
    smile = values.get("smile")
    votes = (sample.extra or {}).get("votes")
    shares = None
    if votes is not None and "expression" in values:
        shares = vote_shares(votes, labels.expression, taxonomy.expressions)
    return Labelled(
        smile=int(smile) if smile is not None else None,
        expression=str(values["expression"]) if "expression" in values else None,
        smile_derived=derived and smile is not None,
        source_label=source_label(sample.codes),
        expression_votes=shares,
    )


class DropCounter:
    """Counts drops by (dataset, reason) and keeps a few `where`s per reason to look at."""

    def __init__(self, examples: int = 3) -> None:
        self.examples = examples
        self.counts: Counter[tuple[str, str]] = Counter()
        self.where: dict[tuple[str, str], list[str]] = {}

    def add(self, drop: Drop) -> None:
        key = (drop.dataset, drop.reason)
        self.counts[key] += 1
        seen = self.where.setdefault(key, [])
        if len(seen) < self.examples:
            seen.append(drop.where)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def by_reason(self, dataset: str | None = None) -> dict[str, int]:
        return {r: n for (d, r), n in self.counts.items() if dataset is None or d == dataset}

    def rows(self) -> list[tuple[str, str, int, list[str]]]:
        """(dataset, reason, count, example wheres), largest first."""
        ordered = sorted(self.counts.items(), key=lambda kv: (-kv[1], kv[0]))
        return [(d, r, n, list(self.where[(d, r)])) for (d, r), n in ordered]

    def to_dict(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "drops": [
                {"dataset": d, "reason": r, "count": n, "examples": ex}
                for d, r, n, ex in self.rows()
            ],
        }
