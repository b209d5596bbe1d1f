"""The license rules: an ordered list, each admitting, refusing or passing on one source.

`licensing.decide` puts one source's facts in a `Case` and asks each rule of `RULES`
in turn; the first rule with a verdict decides, and that rule also says why, in
words a person can act on. Policy (`judge`) and prose (`words`) are apart, so a rule
reads as the policy it is.

A new license rule (share-alike, attribution ...) is a class with a `name`, a
`judge` and a `words`, placed in `RULES` where it must come: before `OwnTier` to
refuse what a tier would admit, after it to admit what a tier would refuse. The
last rule always refuses, and if no rule decides the source is refused all the same:
a wrong "yes" is a legal problem, a wrong "no" costs a line in a clearance file.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Protocol

from facedata.vocabulary import TIER_REFUSALS

if TYPE_CHECKING:
    from facedata.gate.licensing import Clearance, Purpose, Twin
    from facedata.manifest.schema import Manifest, Source


@dataclass(frozen=True)
class Case:
    """Everything a rule may look at for one source and one build."""

    manifest: Manifest
    source: Source
    purpose: Purpose
    clearances: tuple[Clearance, ...]
    today: dt.date
    official_only: bool
    tier: str  # the effective tier: the strictest of the manifest's and its twins'
    twin: Twin | None  # the twin whose stricter tier applies, if any
    allowed: bool  # the tier allows the purpose
    own_data: bool  # the source is the user's own recorded data

    @cached_property
    def matching(self) -> list[Clearance]:
        """The clearances that name this source for this purpose, expired or not."""
        return [c for c in self.clearances if c.covers(self.manifest, self.source, self.purpose)]

    @cached_property
    def valid(self) -> list[Clearance]:
        """The matching clearances still in force on the build date."""
        return [c for c in self.matching if c.expires >= self.today]

    # -- phrases the reasons share

    @property
    def license_id(self) -> str:
        return self.manifest.license.id

    @property
    def terms(self) -> str:
        url = self.manifest.license.terms_url
        return f" (terms: {url})" if url else ""

    @property
    def inherited(self) -> str:
        if self.twin is None:
            return ""
        return (
            f"; tier '{self.tier}' inherited from "
            f"{'catalog dataset' if self.twin.in_catalog else 'dataset'} {self.twin.dataset} "
            f"({self.twin.why}), stricter than this manifest's own '{self.manifest.license.tier}'"
        )

    @property
    def consent(self) -> str:
        if not self.own_data:
            return ""
        return (
            f"; each participant is admitted only where the consent register "
            f"({self.source.consent}, relative to its manifest) grants {self.purpose} use on "
            "the build date"
        )


@dataclass(frozen=True)
class Verdict:
    """A rule's decision: admitted or not, and the clearance that admits, if one does."""

    admitted: bool
    clearance: Clearance | None = None


ADMIT = Verdict(True)
REFUSE = Verdict(False)


class Rule(Protocol):
    """One license rule: a verdict on a case, or None to leave it to the next rule."""

    name: str

    def judge(self, case: Case) -> Verdict | None:
        """Admit, refuse, or pass (None)."""
        ...

    def words(self, case: Case, verdict: Verdict) -> str:
        """Why, for the verdict this rule gave."""
        ...


class OfficialOnly:
    """`--official-only` refuses every re-upload before any tier is looked at."""

    name = "official-only"

    def judge(self, case: Case) -> Verdict | None:
        return REFUSE if case.official_only and not case.source.official else None

    def words(self, case: Case, verdict: Verdict) -> str:
        return "unofficial mirror refused by --official-only; fetch the official source"


class OwnTier:
    """The tier allows the purpose. A re-upload can say anything about itself, so
    commercially only an official source passes on its own tier."""

    name = "own-tier"

    def judge(self, case: Case) -> Verdict | None:
        official_enough = case.purpose != "commercial" or case.source.official
        return ADMIT if case.allowed and official_enough else None

    def words(self, case: Case, verdict: Verdict) -> str:
        tier, lic, purpose = case.tier, case.license_id, case.purpose
        if case.own_data:
            lead = f"own recorded data, license tier '{tier}' ({lic}) allows {purpose} use"
        elif tier == "unknown":
            lead = f"license unknown ({lic}): admitted for research only{case.terms}"
        else:
            lead = f"license tier '{tier}' ({lic}) allows {purpose} use"
        return lead + case.inherited + case.consent


class Cleared:
    """A recorded clearance in force admits what the tier does not; the one lasting
    longest is cited."""

    name = "cleared"

    def judge(self, case: Case) -> Verdict | None:
        if not case.valid:
            return None
        return Verdict(True, max(case.valid, key=lambda c: c.expires))

    def words(self, case: Case, verdict: Verdict) -> str:
        c = verdict.clearance
        assert c is not None
        return (
            f"cleared for {case.purpose} use by {c.cleared_by} until {c.expires} "
            f"(evidence: {c.evidence}) despite tier '{case.tier}'{case.inherited}{case.consent}"
        )


class ClearanceExpired:
    """Clearances naming the source exist but all have expired: refused, saying when."""

    name = "clearance-expired"

    def judge(self, case: Case) -> Verdict | None:
        return REFUSE if case.matching else None

    def words(self, case: Case, verdict: Verdict) -> str:
        last = max(case.matching, key=lambda c: c.expires)
        return (
            f"clearance by {last.cleared_by} expired on {last.expires} (build date "
            f"{case.today}, UTC); license tier '{case.tier}' ({case.license_id}) does not allow "
            f"{case.purpose} use{case.terms}{case.inherited}"
        )


class UnofficialCommercial:
    """A re-upload whose tier would allow commercial use still needs a clearance naming it
    (only an unofficial source of a commercial tier gets this far)."""

    name = "unofficial-commercial"

    def judge(self, case: Case) -> Verdict | None:
        return REFUSE if case.allowed else None

    def words(self, case: Case, verdict: Verdict) -> str:
        src, dataset = case.source.id, case.manifest.id
        return (
            f"unofficial source {src!r} states tier '{case.tier}', but a re-upload cannot "
            f"grant commercial use: a commercial build needs a clearance naming it "
            f"(dataset: {dataset}, source: {src}){case.inherited}"
        )


class TierRefuses:
    """The tier does not allow the purpose and nothing cleared it: refused (fail closed)."""

    name = "tier-refuses"

    def judge(self, case: Case) -> Verdict | None:
        return REFUSE

    def words(self, case: Case, verdict: Verdict) -> str:
        what = TIER_REFUSALS.get(case.tier, f"does not allow {case.purpose} use")
        return f"license {case.license_id} (tier '{case.tier}') {what}{case.terms}{case.inherited}"


FAIL_CLOSED = TierRefuses()

# In order: the first rule with a verdict decides.
RULES: list[Rule] = [
    OfficialOnly(),
    OwnTier(),
    Cleared(),
    ClearanceExpired(),
    UnofficialCommercial(),
    FAIL_CLOSED,
]


def judge(case: Case, rules: list[Rule] | None = None) -> tuple[Rule, Verdict]:
    """The first rule of `rules` (RULES by default) with a verdict, and that verdict; a
    case no rule decides is refused."""
    for rule in RULES if rules is None else rules:
        verdict = rule.judge(case)
        if verdict is not None:
            return rule, verdict
    return FAIL_CLOSED, REFUSE


__all__ = ["RULES", "Case", "Rule", "Verdict", "judge"]
