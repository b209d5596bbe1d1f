"""License policy: every tier, mirrors, clearances, expiry, ND, official-only."""

from __future__ import annotations

import datetime as dt

import pytest

from facedata.errors import ManifestError
from facedata.gate.licensing import Clearance, decide, load_clearances, most_restrictive_tier
from facedata.manifest.schema import Manifest

TODAY = dt.date(2026, 11, 21)


def manifest(tier: str, derivatives: str = "unknown", redistribution: str = "unknown") -> Manifest:
    return Manifest.model_validate(
        {
            "id": "demo",
            "name": "Demo",
            "tasks": ["smile"],
            "license": {
                "id": "LicenseRef-Demo",
                "tier": tier,
                "derivatives": derivatives,
                "redistribution": redistribution,
                "terms_url": "https://example.org/terms",
            },
            "citation": "@misc{demo, title={Demo}}",
            "format": {"reader": "genki"},
            "sources": [
                {
                    "id": "official",
                    "kind": "manual",
                    "official": True,
                    "access": {"level": "agreement", "instructions": "write to us"},
                },
                {"id": "mirror", "kind": "kaggle", "official": False, "kaggle": "someone/demo"},
            ],
        }
    )


@pytest.mark.parametrize(
    ("tier", "research", "commercial"),
    [
        ("commercial", True, True),
        ("noncommercial", True, False),
        ("research-only", True, False),
        ("unknown", True, False),
    ],
)
def test_tiers(tier, research, commercial):
    m = manifest(tier)
    src = m.sources[0]
    assert decide(m, src, "research", today=TODAY).admitted is research
    d = decide(m, src, "commercial", today=TODAY)
    assert d.admitted is commercial
    if not commercial:
        assert tier in d.reason and "https://example.org/terms" in d.reason


def test_unknown_fails_closed_and_says_so():
    d = decide(manifest("unknown"), manifest("unknown").sources[0], "commercial", today=TODAY)
    assert not d.admitted and "fail closed" in d.reason
    assert any(f.startswith("license-unknown") for f in d.flags)


def test_mirror_inherits_original_license():
    m = manifest("research-only")
    mirror = m.sources[1]
    d = decide(m, mirror, "commercial", today=TODAY)
    assert not d.admitted and d.tier == "research-only" and d.license_id == "LicenseRef-Demo"
    assert not d.official and any(f.startswith("unofficial-mirror") for f in d.flags)
    assert decide(m, mirror, "research", today=TODAY).admitted


def test_official_only_refuses_mirrors():
    m = manifest("commercial")
    assert decide(m, m.sources[0], "commercial", today=TODAY, official_only=True).admitted
    d = decide(m, m.sources[1], "commercial", today=TODAY, official_only=True)
    assert not d.admitted and "--official-only" in d.reason


def clearance(**kw) -> Clearance:
    base = {
        "dataset": "demo",
        "cleared_by": "Legal <legal@example.org>",
        "evidence": "signed agreement 2026-001",
        "expires": "2027-01-01",
    }
    return Clearance.model_validate({**base, **kw})


def test_clearance_admits_and_is_recorded():
    m = manifest("research-only")
    d = decide(m, m.sources[0], "commercial", [clearance()], today=TODAY)
    assert d.admitted and d.clearance is not None
    assert "Legal" in d.reason and "signed agreement 2026-001" in d.reason
    assert d.to_dict()["clearance"]["evidence"] == "signed agreement 2026-001"


def test_expired_clearance_refuses_with_date():
    m = manifest("research-only")
    d = decide(m, m.sources[0], "commercial", [clearance(expires="2026-11-20")], today=TODAY)
    assert not d.admitted and "expired on 2026-11-20" in d.reason


def test_clearance_for_other_dataset_or_source_does_not_apply():
    m = manifest("noncommercial")
    assert not decide(m, m.sources[0], "commercial", [clearance(dataset="x")], today=TODAY).admitted
    only_mirror = clearance(source="mirror")
    assert not decide(m, m.sources[0], "commercial", [only_mirror], today=TODAY).admitted
    assert decide(m, m.sources[1], "commercial", [only_mirror], today=TODAY).admitted


def test_no_derivatives_flagged():
    m = manifest("noncommercial", derivatives="forbidden", redistribution="forbidden")
    flags = decide(m, m.sources[0], "research", today=TODAY).flags
    assert any(f.startswith("no-derivatives") for f in flags)
    assert any(f.startswith("no-redistribution") for f in flags)


def test_clearance_file_errors_name_line(tmp_path):
    path = tmp_path / "clearances.yaml"
    path.write_text("clearances:\n  - dataset: demo\n    cleared_by: Legal\n    expires: soon\n")
    with pytest.raises(ManifestError) as info:
        load_clearances(path)
    msg = str(info.value)
    assert "clearances.yaml:" in msg and "evidence" in msg and "expires" in msg


def test_a_clearance_date_written_as_a_number_says_how_to_write_it(tmp_path):
    """`expires: 20991231` is a YAML integer; read as seconds since 1970 it gave a
    time-of-day error. The message names the line and the fix."""
    path = tmp_path / "clearances.yaml"
    path.write_text(
        "clearances:\n  - dataset: demo\n    cleared_by: Legal\n    evidence: contract 12\n"
        "    expires: 20991231\n"
    )
    with pytest.raises(
        ManifestError, match=r"clearances.yaml:5: .*20991231 is a number.*YYYY-MM-DD"
    ):
        load_clearances(path)


def test_most_restrictive_tier():
    assert most_restrictive_tier(["commercial", "noncommercial"]) == "noncommercial"
    assert most_restrictive_tier(["commercial", "unknown", "research-only"]) == "unknown"
    assert most_restrictive_tier(["commercial"]) == "commercial"
