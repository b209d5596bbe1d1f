"""Clearances that say nothing, impossible dates, unknown names, and the detector's terms."""

from __future__ import annotations

import pytest

from .conftest import DETECTOR_CLEARANCE, corpus, subjects


def flat(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize(
    ("who", "evidence", "field"),
    [(" ", "PO-1", "cleared_by"), ("Legal", " ", "evidence"), ('""', "PO-1", "cleared_by")],
)
def test_blank_cleared_by_or_evidence_is_rejected(team, who, evidence, field):
    clear = team.clearances(
        f"  - dataset: own-data\n    cleared_by: {who!s}\n    evidence: {evidence!s}\n"
        "    expires: 2099-01-01\n" + DETECTOR_CLEARANCE
    )
    if who == " ":
        clear.write_text(clear.read_text().replace("cleared_by:  \n", 'cleared_by: " "\n'))
    if evidence == " ":
        clear.write_text(clear.read_text().replace("evidence:  \n", 'evidence: " "\n'))
    team.edit_manifest(tier="noncommercial")
    res = team.build("c", "--commercial", "--clearances", str(clear))
    assert res.code == 1
    err = flat(res.err)
    assert f"{clear}:" in err and field in err and not team.out("c").exists()


def test_impossible_expiry_date_is_a_file_line_error(team):
    clear = team.clearances(
        "  - dataset: own-data\n    cleared_by: Legal\n    evidence: PO-1\n"
        "    expires: 2027-02-30\n"
    )
    res = team.build("c", "--commercial", "--clearances", str(clear))
    assert res.code == 1
    assert f"{clear}:5:" in flat(res.err) and "2027-02-30" in res.err
    assert "Traceback" not in res.err


def test_impossible_signature_date_in_a_yaml_register_is_a_file_line_error(team):
    register = team.rec / "consent.yaml"
    register.write_text(
        "subjects:\n"
        "  - subject_id: P001\n    scopes: [research]\n    signed: 2026-01-10\n"
        "  - subject_id: P002\n    scopes: [research]\n    signed: 2026-02-30\n"
    )
    text = team.manifest.read_text().replace("consent.csv", "consent.yaml")
    team.manifest.write_text(text)
    res = team.build("r")
    assert res.code == 1
    assert "recordings/consent.yaml:7:" in flat(res.err) and "2026-02-30" in res.err


def test_clearance_for_an_unknown_dataset_suggests_the_right_one(team):
    clear = team.clearances(
        "  - dataset: own-data\n    cleared_by: Legal\n    evidence: PO-1\n"
        "    expires: 2099-01-01\n"
        "  - dataset: genki-4k\n    cleared_by: Legal\n    evidence: PO-2\n"
        "    expires: 2099-01-01\n"
    )
    res = team.build("c", "--commercial", "--clearances", str(clear))
    assert res.code == 1
    err = flat(res.err)
    assert f"{clear}:6:" in err and "'genki-4k'" in err and "did you mean genki4k" in err


def test_clearance_for_an_unrequested_dataset_is_reported(team):
    clear = team.clearances(
        DETECTOR_CLEARANCE + "  - dataset: genki4k\n    cleared_by: Legal\n    evidence: PO-2\n"
        "    expires: 2099-01-01\n"
    )
    res = team.build("c", "--commercial", "--clearances", str(clear))
    assert res.code == 0, res.err
    assert "clearance for 'genki4k' is not used" in flat(res.out)
    assert corpus(team.out("c"))["warnings"]


def test_commercial_build_with_research_only_detector_weights_is_refused(team):
    res = team.build("c", "--commercial")
    assert res.code == 1
    err = flat(res.err)
    assert "refuses the face detector retinaface-mnet025" in err
    assert "WIDER FACE" in err and "non-commercial research" in err
    assert "detector: retinaface-mnet025" in err  # the hint says how to clear it
    assert not team.out("c").exists()
    # an expired detector clearance does not count
    old = team.clearances(DETECTOR_CLEARANCE.replace("2099-12-31", "2020-01-01"))
    res = team.build("c", "--commercial", "--clearances", str(old))
    assert res.code == 1 and "expired on 2020-01-01" in flat(res.err)

    clear = team.clearances(DETECTOR_CLEARANCE)
    res = team.build("c", "--commercial", "--clearances", str(clear))
    assert res.code == 0, res.err
    out = flat(res.out)
    assert "detector retinaface-mnet025: admitted" in out and "WIDER FACE" in out
    c = corpus(team.out("c"))
    decision = c["detector_decision"]
    assert decision["admitted"] and decision["clearance"]["cleared_by"] == "Legal team"
    assert decision["terms"]["commercial_use"] is False
    card = (team.out("c") / "README.md").read_text()
    assert "Detector retinaface-mnet025 (commercial build): admitted" in card
    assert "WIDER FACE" in card and "WF-2026-2" in card
    assert subjects(team.out("c")) == {"P001", "P003"}
    # research builds need no detector clearance
    assert team.build("r").code == 0
