"""The words facedata is built from, each defined once with what it means.

The label heads, the license tiers, the build purposes, the consent scopes, the
license permissions and the stages a row can be dropped at are named in manifests,
registers, corpus.json, the report, the CLI and the model's terms. Every one of those
reads its names, order, wording and colour from here, so adding a tier or a head is
one entry in this file and no second list can fall out of step with it.

Import-light on purpose (stdlib and typing only): every layer of facedata imports it.
Each `Literal` type is the single spelling of its names; the ordered name tuples are
derived from it, so a pydantic model and a loop over the names cannot disagree.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal, get_args

# --- label heads -----------------------------------------------------------------

Head = Literal["smile", "expression"]
HEADS: tuple[Head, ...] = get_args(Head)  # canonical order: smile first, always there


@dataclass(frozen=True)
class HeadTerm:
    """A label head: what its values mean, and what a model predicting it is.

    `classes` holds the class names where they are fixed (smile: the index is the
    value); None where each corpus chooses them (expression: the recipe's mapping).
    """

    name: Head
    title: str
    classes: tuple[str, ...] | None
    meaning: str
    eu_ai_act: str


SMILE = HeadTerm(
    name="smile",
    title="Smile",
    classes=("no_smile", "smile"),  # index == the stored smile value (0 / 1)
    meaning="a visible expression: the face smiles (1) or does not (0); it says nothing "
    "about what the person feels",
    eu_ai_act=(
        "A smile head detects a readily apparent expression. Recital 18 of the EU AI Act "
        "excludes detecting such expressions (a smile) from emotion recognition unless "
        "they are used to identify or infer emotions: reading a smile as happiness is "
        "that inference."
    ),
)
EXPRESSION = HeadTerm(
    name="expression",
    title="Expression",
    classes=None,
    meaning="an emotion label (happy, sad, ...) that a dataset's annotators gave the face; "
    "a model predicting it infers emotions",
    eu_ai_act=(
        "An expression head infers emotions from faces, which are biometric data: an "
        "emotion recognition system under the EU AI Act (Regulation (EU) 2024/1689, "
        "Art. 3(39)), high-risk under Annex III point 1(c), and prohibited in the "
        "workplace and in education institutions (Art. 5(1)(f)) except for medical or "
        "safety reasons."
    ),
)
HEAD_TERMS: dict[str, HeadTerm] = {h.name: h for h in (SMILE, EXPRESSION)}
SMILE_NAMES: tuple[str, ...] = SMILE.classes or ()
EU_AI_ACT_NOTE = "These are facts with references, not legal advice."


def canonical_heads(heads: Iterable[str]) -> tuple[Head, ...]:
    """The known heads among `heads`, in canonical order (unknown names are left out)."""
    wanted = set(heads)
    return tuple(h for h in HEADS if h in wanted)


# --- build purposes and license tiers ------------------------------------------

Purpose = Literal["research", "commercial"]
PURPOSES: tuple[Purpose, ...] = get_args(Purpose)

Tier = Literal["commercial", "noncommercial", "research-only", "unknown"]
TIERS: tuple[Tier, ...] = get_args(Tier)  # least to most restrictive


@dataclass(frozen=True)
class TierTerm:
    """A license tier: how restrictive it is, which build purposes it admits on its own,
    how a person reads it, and its colour in the report.

    `refusal` completes "license X (tier 'T') ..." when a commercial build refuses a
    source of this tier; None where the tier never refuses one.
    """

    name: Tier
    rank: int  # 0 = least restrictive; the corpus takes its most restrictive input's tier
    allows: frozenset[Purpose]
    meaning: str
    refusal: str | None
    color: str


TIER_TERMS: dict[str, TierTerm] = {
    t.name: t
    for t in (
        TierTerm(
            "commercial",
            0,
            frozenset({"research", "commercial"}),
            "commercial use is allowed",
            None,
            "#59a14f",
        ),
        TierTerm(
            "noncommercial",
            1,
            frozenset({"research"}),
            "non-commercial use only",
            "is non-commercial only",
            "#f28e2b",
        ),
        TierTerm(
            "research-only",
            2,
            frozenset({"research"}),
            "research use only",
            "is for research only",
            "#e15759",
        ),
        # `unknown` admits research use with a warning: that is how these sets are used
        # in academia, and the corpus card says the terms are unclear.
        TierTerm(
            "unknown",
            3,
            frozenset({"research"}),
            "no known license grant: treat as all rights reserved",
            "has no known license grant, so commercial use is refused (fail closed)",
            "#9aa5b1",
        ),
    )
}
UNKNOWN_TIER: Tier = "unknown"
TIER_COLORS: dict[str, str] = {t.name: t.color for t in TIER_TERMS.values()}
TIER_REFUSALS: dict[str, str] = {t.name: t.refusal for t in TIER_TERMS.values() if t.refusal}


def rank(tier: str) -> int:
    """How restrictive `tier` is (0 = least); a name that is no tier is a ValueError."""
    term = TIER_TERMS.get(tier)
    if term is None:
        raise ValueError(f"{tier!r} is not a license tier (one of {', '.join(TIERS)})")
    return term.rank


def most_restrictive(tiers: Iterable[str]) -> str:
    """The most restrictive of `tiers`; none at all is `unknown` (nothing was granted)."""
    tiers = list(tiers)
    return max(tiers, key=rank) if tiers else UNKNOWN_TIER


def allows(tier: str, purpose: str) -> bool:
    """Whether `tier` admits a build with `purpose` on its own; an unknown name admits nothing."""
    term = TIER_TERMS.get(tier)
    return term is not None and purpose in term.allows


# --- license permissions (derivatives, redistribution) ---------------------------

Permission = Literal["allowed", "forbidden", "unknown"]
PERMISSIONS: tuple[Permission, ...] = get_args(Permission)
PERMISSION_WORDING: dict[str, str] = {
    "allowed": "allowed",
    "forbidden": "forbidden",
    "unknown": "unknown (treat as forbidden)",
}

# --- consent scopes ----------------------------------------------------------------

# A new scope is one entry here: its name (as written in a register) and what it
# permits. "research" and "commercial" are build purposes; "publication" permits
# rendering the face for people outside the team.
SCOPES: dict[str, str] = {
    "research": "rows may enter research corpora",
    "commercial": "rows may enter commercial corpora",
    "publication": "the face may be rendered for people outside the team "
    "(report thumbnails, dataset card samples)",
}
PUBLICATION = "publication"  # the scope report thumbnails and card samples need

# --- drop stages -------------------------------------------------------------------


@dataclass(frozen=True)
class StageTerm:
    """A step of the build where rows are dropped, in data-flow order.

    `short` is the CLI summary's word for what the step removed, `removes` the
    report's sentence for it.
    """

    name: str
    short: str
    removes: str


STAGE_TERMS: dict[str, StageTerm] = {
    s.name: s
    for s in (
        StageTerm("reader", "entries dropped by the readers", "entries the readers dropped"),
        StageTerm("consent", "consent", "consent refused or withdrawn"),
        StageTerm("labels", "unmapped labels", "labels not mapped (unknown or dropped codes)"),
        StageTerm("image", "undecodable", "images that cannot be decoded"),
        StageTerm("face", "no face", "no usable face"),
        StageTerm("exact", "exact duplicates", "exact duplicates (same decoded pixels)"),
        StageTerm("near", "near duplicates", "near duplicates (perceptual hash)"),
    )
}
STAGES: tuple[str, ...] = tuple(STAGE_TERMS)
READER_STAGE = "reader"  # rows a reader dropped never reach the funnel's "read" count
