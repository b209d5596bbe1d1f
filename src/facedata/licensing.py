"""The license policy: for each source, may it enter a build with this purpose?

Commercial builds fail closed: only a source whose tier is `commercial` passes on its
own; everything else (unknown included) needs an explicit, recorded, unexpired
clearance. A wrong "yes" here is a legal problem for whoever ships the model, a
wrong "no" costs a line in a clearance file, so every doubt resolves to "no".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .manifest import Manifest, Source
from .yamlfile import describe_validation_error, load_yaml

Purpose = Literal["research", "commercial"]

# What each tier allows. `unknown` admits research use with a warning: that is how
# these sets are used in academia, and the corpus card says the terms are unclear.
_ALLOWS: dict[str, set[str]] = {
    "commercial": {"research", "commercial"},
    "noncommercial": {"research"},
    "research-only": {"research"},
    "unknown": {"research"},
}
_RESTRICTIVENESS = ["commercial", "noncommercial", "research-only", "unknown"]


class Clearance(BaseModel):
    """A person's recorded decision that a source may be used despite its tier."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    dataset: str
    source: str | None = Field(None, description="a source id; omitted = every source")
    purpose: Purpose = "commercial"
    cleared_by: str = Field(min_length=1)
    evidence: str = Field(min_length=1, description="signed agreement, invoice, licence id ...")
    expires: dt.date
    notes: str = ""

    def covers(self, manifest: Manifest, source: Source, purpose: Purpose) -> bool:
        return (
            self.dataset == manifest.id
            and self.source in (None, source.id)
            and (self.purpose == purpose or self.purpose == "commercial")
        )


class ClearanceFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    clearances: list[Clearance] = Field(default_factory=list)


def load_clearances(path: Path | None) -> list[Clearance]:
    """Read a clearance file (YAML: `clearances: [...]`); errors name file and line."""
    if path is None:
        return []
    doc = load_yaml(path)
    try:
        return ClearanceFile.model_validate(doc.data or {}).clearances
    except ValidationError as exc:
        raise describe_validation_error(doc, exc, "clearance file") from None


@dataclass(frozen=True)
class Decision:
    """Whether one source may enter a build, and why, in words a person can act on."""

    dataset: str
    source: str
    official: bool
    purpose: Purpose
    admitted: bool
    reason: str
    tier: str
    license_id: str
    terms_url: str | None
    clearance: Clearance | None = None
    flags: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict:
        return {
            "dataset": self.dataset,
            "source": self.source,
            "official": self.official,
            "purpose": self.purpose,
            "admitted": self.admitted,
            "reason": self.reason,
            "tier": self.tier,
            "license_id": self.license_id,
            "terms_url": self.terms_url,
            "clearance": self.clearance.model_dump(mode="json") if self.clearance else None,
            "flags": list(self.flags),
        }


def _flags(manifest: Manifest, source: Source) -> tuple[str, ...]:
    lic = manifest.license
    flags = []
    if not source.official:
        flags.append("unofficial-mirror: the original license applies to this re-upload")
    if lic.derivatives == "forbidden":
        flags.append("no-derivatives: an aligned, remapped copy may not be shared")
    if lic.redistribution == "forbidden":
        flags.append("no-redistribution: the corpus may not be shared outside your site")
    if lic.tier == "unknown":
        flags.append("license-unknown: no grant found; treat as all rights reserved")
    return tuple(flags)


def decide(
    manifest: Manifest,
    source: Source,
    purpose: Purpose,
    clearances: list[Clearance] = (),  # type: ignore[assignment]
    *,
    today: dt.date | None = None,
    official_only: bool = False,
) -> Decision:
    """The policy for one source. Pure: same inputs, same decision (tests rely on it)."""
    today = today or dt.date.today()
    lic = manifest.license
    base = {
        "dataset": manifest.id,
        "source": source.id,
        "official": source.official,
        "purpose": purpose,
        "tier": lic.tier,
        "license_id": lic.id,
        "terms_url": lic.terms_url,
        "flags": _flags(manifest, source),
    }
    terms = f" (terms: {lic.terms_url})" if lic.terms_url else ""
    if official_only and not source.official:
        return Decision(
            **base,
            admitted=False,
            reason="unofficial mirror refused by --official-only; fetch the official source",
        )
    if source.kind == "local":
        return Decision(
            **base,
            admitted=True,
            reason=(
                f"own recorded data: each participant is admitted only where the consent "
                f"register ({source.consent}) grants {purpose} use on the build date"
            ),
        )
    if purpose in _ALLOWS.get(lic.tier, set()):
        reason = f"license tier '{lic.tier}' ({lic.id}) allows {purpose} use"
        if lic.tier == "unknown":
            reason = f"license unknown ({lic.id}): admitted for research only{terms}"
        return Decision(**base, admitted=True, reason=reason)

    matching = [c for c in clearances if c.covers(manifest, source, purpose)]
    valid = [c for c in matching if c.expires >= today]
    if valid:
        best = max(valid, key=lambda c: c.expires)
        return Decision(
            **base,
            admitted=True,
            clearance=best,
            reason=(
                f"cleared for {purpose} use by {best.cleared_by} until {best.expires} "
                f"(evidence: {best.evidence}) despite tier '{lic.tier}'"
            ),
        )
    if matching:
        last = max(matching, key=lambda c: c.expires)
        return Decision(
            **base,
            admitted=False,
            reason=(
                f"clearance by {last.cleared_by} expired on {last.expires}; "
                f"license tier '{lic.tier}' ({lic.id}) does not allow {purpose} use{terms}"
            ),
        )
    what = {
        "unknown": "has no known license grant, so commercial use is refused (fail closed)",
        "noncommercial": "is non-commercial only",
        "research-only": "is for research only",
    }.get(lic.tier, f"does not allow {purpose} use")
    return Decision(
        **base,
        admitted=False,
        reason=f"license {lic.id} (tier '{lic.tier}') {what}{terms}",
    )


def most_restrictive_tier(tiers: list[str]) -> str:
    """The corpus's own tier: its most restrictive input decides."""
    return max(tiers, key=_RESTRICTIVENESS.index) if tiers else "unknown"


@dataclass(frozen=True)
class CorpusTerms:
    """A corpus's own terms: the most restrictive of its inputs, in words a person can act on."""

    tier: str
    statement: str
    noncommercial: bool
    no_derivatives: bool
    no_redistribution: bool
    unknown: bool

    def to_dict(self) -> dict:
        return {
            "tier": self.tier,
            "statement": self.statement,
            "derivatives": "forbidden" if self.no_derivatives else "see inputs",
            "redistribution": "forbidden" if self.no_redistribution else "see inputs",
        }


def corpus_terms(inputs: Iterable[tuple[str, str, str]], purpose: str) -> CorpusTerms:
    """Terms of a corpus from its inputs' (tier, derivatives, redistribution)."""
    inputs = list(inputs)
    tier = most_restrictive_tier([t for t, _, _ in inputs])
    no_deriv = any(d == "forbidden" for _, d, _ in inputs)
    no_redist = any(r == "forbidden" for _, _, r in inputs)
    noncommercial = purpose != "commercial" or tier != "commercial"
    parts = []
    if noncommercial:
        parts.append("For non-commercial research only.")
    if no_redist:
        parts.append("Not for redistribution: the terms of at least one input forbid it.")
    if no_deriv:
        parts.append("Derivatives (this aligned, remapped copy included) may not be shared.")
    if tier == "unknown":
        parts.append("At least one input has no known license grant.")
    parts.append("Each input's own terms apply; see LICENSES/.")
    return CorpusTerms(tier, " ".join(parts), noncommercial, no_deriv, no_redist, tier == "unknown")


def commercial_admits(manifest: Manifest, clearances: list[Clearance] = ()) -> bool:  # type: ignore[assignment]
    """Would a commercial build admit any source of this dataset?"""
    return any(decide(manifest, s, "commercial", clearances).admitted for s in manifest.sources)
