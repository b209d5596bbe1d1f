"""License decisions are an ordered list of rules: the first with a verdict decides and
says why; a rule added to the list is asked like the others; nothing decided is refused."""

from __future__ import annotations

import datetime as dt

import facedata.gate.rules as license_rules
from facedata.gate.licensing import decide
from facedata.gate.rules import RULES, Case, Verdict
from tests.core.test_licensing import TODAY, manifest


def test_rules_have_distinct_names_and_the_last_always_refuses():
    names = [r.name for r in RULES]
    assert len(names) == len(set(names))
    m = manifest("commercial")
    case = Case(m, m.sources[0], "research", (), TODAY, False, "commercial", None, True, False)
    assert RULES[-1].judge(case) == Verdict(False)


class RefuseShareAlike:
    """What a share-alike rule could look like: refuse commercial use of an SA input."""

    name = "share-alike"

    def judge(self, case: Case) -> Verdict | None:
        sa = case.license_id.endswith("-SA")
        return Verdict(False) if sa and case.purpose == "commercial" else None

    def words(self, case: Case, verdict: Verdict) -> str:
        return f"{case.license_id} is share-alike"


def test_a_rule_placed_before_the_tier_decides_with_its_own_words(monkeypatch):
    m = manifest("commercial")
    m = m.model_copy(update={"license": m.license.model_copy(update={"id": "LicenseRef-X-SA"})})
    before = decide(m, m.sources[0], "commercial", today=TODAY)
    assert before.admitted
    monkeypatch.setattr(license_rules, "RULES", [RefuseShareAlike(), *RULES])
    after = decide(m, m.sources[0], "commercial", today=TODAY)
    assert not after.admitted and after.reason == "LicenseRef-X-SA is share-alike"
    # research is none of its business: the next rules decide as before
    assert decide(m, m.sources[0], "research", today=TODAY).admitted


def test_a_case_no_rule_decides_is_refused(monkeypatch):
    monkeypatch.setattr(license_rules, "RULES", [])
    m = manifest("commercial")
    d = decide(m, m.sources[0], "research", today=dt.date(2026, 1, 1))
    assert not d.admitted and "license LicenseRef-Demo (tier 'commercial')" in d.reason


def test_the_deciding_rule_is_the_first_with_a_verdict():
    m = manifest("noncommercial")
    mirror = m.sources[1]
    case = Case(m, mirror, "commercial", (), TODAY, True, "noncommercial", None, False, False)
    rule, verdict = license_rules.judge(case)
    assert rule.name == "official-only" and not verdict.admitted
