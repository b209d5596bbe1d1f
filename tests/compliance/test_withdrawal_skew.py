"""A withdrawal dated before the corpus was built (another machine's clock, or one that
reached this home late) still makes a rebuild of that corpus erase the person: "up to
date" never keeps someone a withdrawal in force refuses."""

from __future__ import annotations

from facedata.consent.withdrawals import append
from tests.fixtures import layouts

from .conftest import corpus, subjects

LONG_BEFORE = "2001-01-01T00:00:00+00:00"  # older than any corpus: `when` alone says nothing


def _withdraw(subject: str) -> None:
    append(
        {
            "subject_id": subject,
            "dataset": "ckplus",
            "when": LONG_BEFORE,
            "by": "the test",
            "reason": "consent withdrawn",
            "recordings": [],
        }  # fmt: skip
    )


def test_an_old_withdrawal_of_someone_the_corpus_holds_is_not_up_to_date(team):
    layouts.make_ckplus(team.root / "ck")
    assert team.cli("fetch", "ckplus", "--from", str(team.root / "ck")).code == 0
    assert team.build("b", datasets="ckplus").code == 0
    assert "S005" in subjects(team.out("b"))

    _withdraw("S005")  # reached this home after the build, dated long before it
    res = team.build("b", datasets="ckplus")  # the very same command: not a replay
    assert res.code == 0, res.err
    assert "up to date" not in res.out
    assert "S005" not in subjects(team.out("b")) and subjects(team.out("b"))
    assert any(m["subject_id"] == "S005" for m in corpus(team.out("b"))["forgotten"])

    res = team.cli("build", str(team.out("b") / "recipe.yaml"))  # a replay keeps it out
    assert res.code == 0, res.err
    assert "S005" not in subjects(team.out("b")) and subjects(team.out("b"))


def test_an_old_withdrawal_of_someone_the_corpus_never_held_keeps_it_up_to_date(team):
    layouts.make_ckplus(team.root / "ck")
    assert team.cli("fetch", "ckplus", "--from", str(team.root / "ck")).code == 0
    assert team.build("b", datasets="ckplus").code == 0
    _withdraw("S999")  # in no row of this corpus
    res = team.build("b", datasets="ckplus")
    assert res.code == 0, res.err
    assert "up to date" in res.out
