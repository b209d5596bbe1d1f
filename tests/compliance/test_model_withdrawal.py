"""No model learns from a person who withdrew, whatever a corpus.json claims or
whichever home trains on a copy made before the `forget`."""

from __future__ import annotations

import json
import shutil

import pytest

from tests.helpers.extras import needs

from .conftest import DETECTOR_CLEARANCE, LONG_AGO

pytestmark = needs("torch")

FAST = ("--epochs", "1", "--batch-size", "8", "--width", "4", "--threads", "1")


def _copy_then_forget(team) -> None:
    assert team.build("r").code == 0
    shutil.copytree(team.out("r"), team.out("copy"))  # made before the erasure
    assert team.cli("forget", "--subject", "P001").code == 0


def _train(team, corpus: str):
    return team.cli("train", str(team.out(corpus)), "--out", str(team.root / "m"), *FAST)


def test_a_copy_claiming_a_later_date_is_refused(team):
    _copy_then_forget(team)
    path = team.out("copy") / "corpus.json"
    meta = json.loads(path.read_text())
    meta["created"] = "2099-01-01T00:00:00+00:00"  # "built after the withdrawal"
    path.write_text(json.dumps(meta))
    res = _train(team, "copy")
    assert res.code != 0 and "P001" in res.err and "Traceback" not in res.err
    assert not (team.root / "m" / "model.pt").exists()


def test_a_copy_trained_under_another_home_is_refused(team, monkeypatch):
    _copy_then_forget(team)
    # another machine: no ledger, but the withdrawals file beside the register
    monkeypatch.setenv("FACEDATA_HOME", str(team.root / "home2"))
    res = _train(team, "copy")
    assert res.code != 0 and "P001" in res.err
    # the erased original trains there
    assert _train(team, "r").code == 0


def test_a_later_signature_admits_a_later_corpus(team):
    _copy_then_forget(team)
    assert _train(team, "copy").code != 0
    # a re-consent signed after the withdrawal: a signature dated tomorrow is not yet
    # valid, so the withdrawal is moved back in time instead
    ledger = (team.home / "erasure-log.jsonl").read_text().splitlines()
    entry = json.loads(ledger[-1])
    entry["when"] = f"{LONG_AGO}T00:00:00+00:00"
    (team.home / "erasure-log.jsonl").write_text(json.dumps(entry) + "\n")
    (team.rec / "withdrawals.jsonl").unlink()
    team.consent(
        "P001,research;commercial,2026-02-01,\n"
        f"P002,research,{LONG_AGO},\nP003,research;commercial,{LONG_AGO},\n"
    )
    assert team.build("again").code == 0
    res = _train(team, "again")
    assert res.code == 0, res.err


@pytest.mark.parametrize(
    "row",
    [
        f"P001,research;commercial,{LONG_AGO},2026-02-01",  # withdrawn in the register
        f"P001,research,{LONG_AGO},",  # the corpus is commercial, consent now research only
    ],
)
def test_a_consent_ended_in_the_register_stops_training(team, row):
    clear = team.clearances(DETECTOR_CLEARANCE)
    assert team.build("c", "--commercial", "--clearances", str(clear)).code == 0
    # the register changed after the build; no `forget` was run
    team.consent(f"{row}\nP002,research,{LONG_AGO},\nP003,research;commercial,{LONG_AGO},\n")
    res = _train(team, "c")
    assert res.code != 0 and "P001" in res.err and "Traceback" not in res.err


def test_a_corpus_stripped_of_its_register_is_checked_against_the_catalogs(team):
    assert team.build("r").code == 0
    path = team.out("r") / "corpus.json"
    meta = json.loads(path.read_text())
    meta["consent"] = {}  # received from elsewhere: it claims nothing about consent
    for record in meta["datasets"]:
        record["inputs"] = [i for i in record["inputs"] if i.get("role") != "consent register"]
    path.write_text(json.dumps(meta))
    team.consent(
        f"P001,research;commercial,{LONG_AGO},2026-02-01\n"
        f"P002,research,{LONG_AGO},\nP003,research;commercial,{LONG_AGO},\n"
    )
    res = _train(team, "r")
    assert res.code != 0 and "P001" in res.err and "Traceback" not in res.err
