"""The consent register's declared schema: nothing it does not say can admit anyone."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pytest

from facedata.consent.register import consent_schema_text, load_register
from facedata.errors import ManifestError

from .conftest import DETECTOR_CLEARANCE, LONG_AGO, UTC_TODAY, drops, subjects

DOCS = Path(__file__).resolve().parents[2] / "docs"
DAY = dt.date(2026, 11, 21)
HEADER = "subject_id,scopes,signed,withdrawn"


def _reg(tmp_path: Path, text: str, name: str = "consent.csv"):
    path = tmp_path / name
    path.write_text(text)
    return load_register(path)


def test_the_published_schema_is_generated_from_the_code():
    committed = (DOCS / "consent-schema.json").read_text(encoding="utf-8")
    assert committed == consent_schema_text(), "run `python -m facedata.consent.register docs`"
    schema = json.loads(committed)["$defs"]["ConsentRow"]
    for col in ("expires", "date_of_birth", "minor", "guardian_consent", "guardian_signed"):
        assert col in schema["properties"]
    assert schema["additionalProperties"] is False


@pytest.mark.parametrize("column", ["expiry", "expires_on", "Minor", "guardian", "age"])
def test_an_undeclared_column_is_a_file_line_error(tmp_path, column):
    with pytest.raises(ManifestError) as err:
        _reg(tmp_path, f"{HEADER},{column}\nP001,commercial,2026-01-10,,x\n")
    assert f"{tmp_path / 'consent.csv'}:1" in err.value.message
    assert column in err.value.message


def test_an_undeclared_yaml_key_is_an_error_at_its_row(tmp_path):
    with pytest.raises(ManifestError) as err:
        _reg(
            tmp_path,
            "subjects:\n"
            "  - {subject_id: P001, scopes: [commercial], signed: 2026-01-10}\n"
            "  - {subject_id: P002, scopes: [commercial], signed: 2026-01-10,\n"
            "     expiry: 2026-02-01}\n",
            "consent.yaml",
        )
    assert "consent.yaml:3" in err.value.message and "expiry" in err.value.message


def test_values_past_the_header_are_an_error(tmp_path):
    with pytest.raises(ManifestError, match="more values than the header"):
        _reg(tmp_path, f"{HEADER}\nP001,commercial,2026-01-10,,2026-02-01\n")


def test_x_columns_and_notes_are_free(tmp_path):
    reg = _reg(tmp_path, f"{HEADER},notes,x-site\nP001,commercial,2026-01-10,,ok,Seoul\n")
    assert reg.decide("P001", "commercial", DAY) == (True, "consent: commercial granted")


@pytest.mark.parametrize(
    ("extra_cols", "values", "reason"),
    [
        ("expires", "2026-06-30", "consent: expired"),
        ("expires", "2026-11-21", "consent: expired"),  # ends on the build day
        ("minor", "yes", "consent: minor without guardian consent"),
        ("minor,guardian_consent", "true,yes", "consent: minor without guardian consent"),
        (
            "minor,guardian_consent,guardian_signed",
            "1,no,2026-01-10",
            "consent: inconsistent guardian consent",
        ),
        (
            "minor,guardian_consent,guardian_signed",
            "yes,yes,2027-01-01",
            "consent: guardian consent not yet signed",
        ),
        ("date_of_birth", "2015-03-01", "consent: minor without guardian consent"),
        ("date_of_birth,minor", "2015-03-01,no", "consent: inconsistent age status"),
        ("date_of_birth,minor", "1990-03-01,yes", "consent: inconsistent age status"),
        ("date_of_birth", "2026-05-01", "consent: inconsistent age status"),  # born after signing
        ("minor", "perhaps", "consent: unparseable record"),
        ("expires", "soon", "consent: unparseable record"),
    ],
)
def test_conditions_refuse(tmp_path, extra_cols, values, reason):
    reg = _reg(tmp_path, f"{HEADER},{extra_cols}\nP001,commercial,2026-01-10,,{values}\n")
    assert reg.decide("P001", "commercial", DAY) == (False, reason)


@pytest.mark.parametrize(
    ("extra_cols", "values"),
    [
        ("expires", "2027-01-01"),
        ("minor,guardian_consent,guardian_signed", "yes,yes,2026-01-10"),
        ("date_of_birth,guardian_consent,guardian_signed", "2015-03-01,yes,2026-01-10"),
        ("date_of_birth,minor", "1990-03-01,no"),
        ("date_of_birth", "2008-11-21"),  # 18 on the build day
    ],
)
def test_conditions_met_admit(tmp_path, extra_cols, values):
    reg = _reg(tmp_path, f"{HEADER},{extra_cols}\nP001,commercial,2026-01-10,,{values}\n")
    assert reg.decide("P001", "commercial", DAY)[0]


def test_yaml_and_csv_obey_one_schema(tmp_path):
    csv_reg = _reg(
        tmp_path,
        f"{HEADER},expires,minor,guardian_consent,guardian_signed\n"
        "P001,commercial;publication,2026-01-10,,2027-01-01,yes,yes,2026-01-10\n",
    )
    yaml_reg = _reg(
        tmp_path,
        "subjects:\n"
        "  - subject_id: P001\n"
        "    scopes: [commercial, publication]\n"
        "    signed: 2026-01-10\n"
        "    expires: 2027-01-01\n"
        "    minor: true\n"
        "    guardian_consent: true\n"
        "    guardian_signed: 2026-01-10\n",
        "consent.yaml",
    )
    assert csv_reg.records["P001"] == yaml_reg.records["P001"]


def test_a_minor_and_an_expired_consent_stay_out_of_a_commercial_corpus(team):
    (team.rec / "consent.csv").write_text(
        "subject_id,scopes,signed,withdrawn,expires,minor\n"
        f"P001,research;commercial,{LONG_AGO},,,yes\n"
        f"P002,research,{LONG_AGO},,,\n"
        f"P003,research;commercial,{LONG_AGO},,{UTC_TODAY.isoformat()},\n"
    )
    clear = team.clearances(DETECTOR_CLEARANCE)
    res = team.build("c", "--commercial", "--clearances", str(clear))
    assert res.code != 0 or subjects(team.out("c")) == set()
    if res.code == 0:
        d = drops(team.out("c"))
        assert d["own-data: consent: minor without guardian consent"] == 2
        assert d["own-data: consent: expired"] == 1
    assert team.frames() == set()  # nothing of the minor decoded


def test_an_unknown_column_stops_the_build_with_file_and_line(team):
    (team.rec / "consent.csv").write_text(
        f"{HEADER},expiry\nP001,research;commercial,{LONG_AGO},,2026-02-01\n"
    )
    res = team.build("r")
    assert res.code != 0
    assert "consent.csv:1" in res.err and "expiry" in res.err
    assert "Traceback" not in res.err
    assert not team.out("r").exists()


def test_a_column_named_twice_is_an_error(tmp_path):
    # csv would keep the second, empty `expires` and admit an expired consent
    with pytest.raises(ManifestError, match="more than once"):
        _reg(tmp_path, f"{HEADER},expires,expires\nP001,commercial,2026-01-10,,2026-02-01,\n")


def test_an_unknown_top_level_yaml_key_is_an_error(tmp_path):
    with pytest.raises(ManifestError) as err:
        _reg(
            tmp_path,
            "defaults:\n  expires: 2026-02-01\n"
            "subjects:\n  - {subject_id: P001, scopes: [commercial], signed: 2026-01-10}\n",
            "consent.yaml",
        )
    assert re.search(r"consent.yaml:[12]: unknown key .defaults.", err.value.message)
    reg = _reg(
        tmp_path,
        "x-owner: research office\n"
        "subjects:\n  - {subject_id: P001, scopes: [commercial], signed: 2026-01-10}\n",
        "consent.yaml",
    )
    assert reg.decide("P001", "commercial", DAY)[0]


def test_a_value_under_a_nameless_column_stops_the_build(team):
    # a trailing comma in the header: the withdrawal date below it was read by no one
    (team.rec / "consent.csv").write_text(
        f"{HEADER},\nP001,research;commercial,{LONG_AGO},,2026-02-01\n"
        f"P003,research;commercial,{LONG_AGO},,\n"
    )
    res = team.build("r")
    assert res.code != 0 and "consent.csv:1" in res.err and "without a name" in res.err
    assert "Traceback" not in res.err and not team.out("r").exists()


def test_a_short_row_refuses_its_participant(team):
    # P001's row stops before `expires`: a truncated line, not a consent without expiry
    (team.rec / "consent.csv").write_text(
        f"{HEADER},expires\nP001,research;commercial,{LONG_AGO}\n"
        f"P003,research;commercial,{LONG_AGO},,2099-01-01\n"
    )
    res = team.build("r")
    assert res.code == 0, res.err
    assert subjects(team.out("r")) == {"P003"}
    assert drops(team.out("r"))["own-data: consent: unparseable record"] == 2  # two frames


@pytest.mark.parametrize("other", ["p001", "P001 ", " p001"])
def test_ids_that_differ_only_in_case_or_spaces_refuse_both(team, other):
    # one person listed twice with conflicting values: neither row is trusted
    (team.rec / "consent.csv").write_text(
        f"{HEADER}\nP001,research;commercial,{LONG_AGO},\n"
        f"{other},research;commercial,{LONG_AGO},2026-02-01\n"
        f"P003,research;commercial,{LONG_AGO},\n"
    )
    res = team.build("r")
    assert res.code == 0, res.err
    assert subjects(team.out("r")) == {"P003"}


def test_a_misspelt_scope_leaves_its_person_out_and_the_build_says_where(team):
    # fail closed, but never silently: the note names the file, the line and the fix
    (team.rec / "consent.csv").write_text(
        f"{HEADER}\nP001,reserch;commercial,{LONG_AGO},\nP003,research;commercial,{LONG_AGO},\n"
    )
    res = team.build("r")
    assert res.code == 0, res.err
    assert subjects(team.out("r")) == {"P003"}
    shown = res.out + res.err
    assert (
        "consent.csv:2: unknown scope(s) ['reserch']" in shown and "left out until fixed" in shown
    )
    notes = json.loads((team.out("r") / "corpus.json").read_text())["datasets"]
    assert any("consent.csv:2" in n for d in notes for n in d.get("notes") or [])
