"""Consent register: every case decides as a careful person would, failing closed."""

from __future__ import annotations

import datetime as dt

import pytest

from facedata.consent.register import load_register
from facedata.errors import ManifestError

BUILD_DAY = dt.date(2026, 11, 21)

REGISTER = """\
subject_id,scopes,signed,withdrawn
P001,research;commercial,2026-01-10,
P002,research,2026-01-11,
P003,research;commercial;publication,2026-01-12,2026-06-01
P004,research;commercial,2026-01-13,2027-03-01
P005,research;commercial,13/01/2026,
P006,research;marketing,2026-01-14,
P007,commercial,2027-01-01,
P008,research;commercial,2026-02-01,
P008,research,2026-02-02,
"""


@pytest.fixture
def register(tmp_path):
    path = tmp_path / "consent.csv"
    path.write_text(REGISTER)
    return load_register(path)


@pytest.mark.parametrize(
    ("subject", "purpose", "admitted", "reason"),
    [
        ("P001", "commercial", True, "consent: commercial granted"),
        ("P001", "research", True, "consent: research granted"),
        ("P002", "commercial", False, "consent: no commercial scope"),
        ("P002", "research", True, "consent: research granted"),
        ("P003", "research", False, "consent: withdrawn"),  # withdrawn before the build
        ("P004", "commercial", True, "consent: commercial granted"),  # withdraws later
        ("P005", "commercial", False, "consent: unparseable record"),  # malformed date
        ("P006", "research", False, "consent: unparseable record"),  # unknown scope
        ("P007", "commercial", False, "consent: not yet signed"),
        ("P008", "research", False, "consent: unparseable record"),  # listed twice
        ("P999", "research", False, "consent: no record"),  # missing row
        (None, "research", False, "consent: no subject id"),
    ],
)
def test_decisions(register, subject, purpose, admitted, reason):
    assert register.decide(subject, purpose, BUILD_DAY) == (admitted, reason)


def test_withdrawal_after_build_applies_from_that_day(register):
    assert register.decide("P004", "commercial", dt.date(2027, 3, 1)) == (
        False,
        "consent: withdrawn",
    )


def test_malformed_rows_name_file_and_line(register):
    assert "consent.csv:6" in register.malformed["P005"]
    assert "not a date" in register.malformed["P005"]
    assert "marketing" in register.malformed["P006"]


def test_yaml_register(tmp_path):
    path = tmp_path / "consent.yaml"
    path.write_text(
        "subjects:\n"
        "  - {subject_id: P001, scopes: [research, commercial], signed: 2026-01-10}\n"
        "  - {subject_id: P002, scopes: [research], signed: 2026-01-10, withdrawn: 2026-05-01}\n"
    )
    reg = load_register(path)
    assert reg.decide("P001", "commercial", BUILD_DAY)[0]
    assert reg.decide("P002", "research", BUILD_DAY) == (False, "consent: withdrawn")


def test_identifying_columns_refused(tmp_path):
    path = tmp_path / "consent.csv"
    path.write_text("subject_id,name,scopes,signed\nP001,Jane Doe,research,2026-01-01\n")
    with pytest.raises(ManifestError, match="identifying column"):
        load_register(path)


def test_missing_register_is_clear(tmp_path):
    with pytest.raises(ManifestError, match="not found"):
        load_register(tmp_path / "nope.csv")


def test_a_register_that_is_a_fifo_or_device_is_named_as_such(tmp_path):
    """A pipe or a link to /dev/zero where the register should be: never read (it would
    hang or never end), and not reported as missing either."""
    import os

    os.mkfifo(tmp_path / "consent.csv")
    with pytest.raises(ManifestError, match="consent.csv is a FIFO"):
        load_register(tmp_path / "consent.csv")
    (tmp_path / "zero.csv").symlink_to("/dev/zero")
    with pytest.raises(ManifestError, match="zero.csv is a character device"):
        load_register(tmp_path / "zero.csv")
