"""Withdrawal holds across commands: forget, then any rebuild, new build or unnamed corpus."""

from __future__ import annotations

import datetime as dt
import shutil

from facedata.assemble.pipeline import build
from facedata.assemble.recipe import load_recipe

from .conftest import DETECTOR_CLEARANCE, UTC_TODAY, corpus, drops, subjects

LEDGER_DROP = "own-data: consent: withdrawn (erasure ledger)"


def test_forget_then_rebuild_from_recipe_keeps_the_subject_out(team):
    res = team.build("a")
    assert res.code == 0, res.err
    a = team.out("a")
    assert subjects(a) == {"P001", "P002", "P003"}
    assert "P001" in team.frames()

    res = team.cli("forget", "--subject", "P001", "--by", "dpo@example.org", str(a))
    assert res.code == 0, res.err
    assert "P001" not in subjects(a)
    assert "P001" not in team.frames()  # cached frames are gone

    # The register still grants P001 (nobody updated it): a replay must not bring P001 back.
    res = team.cli("build", str(a / "recipe.yaml"))
    assert res.code == 0, res.err
    assert "left out withdrawn subject(s) (erasure ledger): P001" in " ".join(res.out.split())
    assert subjects(a) == {"P002", "P003"}
    assert drops(a)[LEDGER_DROP] == 2  # P001's two sampled frames, counted with the reason
    assert "P001" not in team.frames()  # and never decoded again
    marks = corpus(a)["forgotten"]
    assert [m["subject_id"] for m in marks] == ["P001"] and marks[0]["by"] == "dpo@example.org"

    # a brand-new corpus reads the same ledger
    assert team.build("fresh").code == 0
    assert subjects(team.out("fresh")) == {"P002", "P003"}
    assert drops(team.out("fresh"))[LEDGER_DROP] == 2

    # the corpus's own mark holds even where the home (and its ledger) is lost
    shutil.rmtree(team.home)
    assert team.cli("build", str(a / "recipe.yaml")).code == 0
    assert "P001" not in subjects(a)


def test_consent_re_granted_after_the_withdrawal_admits_again(team):
    assert team.build("a").code == 0
    a = team.out("a")
    assert team.cli("forget", "--subject", "P001", str(a)).code == 0
    recipe = load_recipe(a / "recipe.yaml")
    # re-signed on the withdrawal day: not after it, so still out
    team.consent(f"P001,research;commercial,{UTC_TODAY},\nP002,research,2026-01-10,\n")
    c = build(recipe, today=UTC_TODAY + dt.timedelta(days=3))
    assert "P001" not in subjects(a) and c["drops"][LEDGER_DROP]["count"] == 2
    # a signature dated after the withdrawal re-grants
    later = UTC_TODAY + dt.timedelta(days=2)
    team.consent(f"P001,research;commercial,{later},\nP002,research,2026-01-10,\n")
    build(recipe, today=UTC_TODAY + dt.timedelta(days=3))
    assert "P001" in subjects(a)


def test_forget_without_paths_reaches_every_registered_corpus(team):
    for name in ("a", "b", "gone"):
        assert team.build(name).code == 0
    shutil.rmtree(team.out("gone"))  # deleted corpora are tolerated

    res = team.cli("forget", "--subject", "P003", str(team.out("a")))
    assert res.code == 0, res.err
    assert "P003" not in subjects(team.out("a"))
    # b was not named: it still holds P003, and the command said so
    assert "P003" in subjects(team.out("b"))
    out = " ".join(res.out.split())
    assert str(team.out("b")) in out and "was not named" in out

    res = team.cli("forget", "--subject", "P003")
    assert res.code == 0, res.err
    for name in ("a", "b"):
        assert "P003" not in subjects(team.out(name))
        assert corpus(team.out(name))["forgotten"][-1]["subject_id"] == "P003"
    assert not team.out("gone").exists()


def test_withdrawal_before_any_build_is_honoured(team):
    res = team.cli("forget", "--subject", "P002")  # known from the consent register
    assert res.code == 0, res.err
    assert "nothing to erase" in " ".join(res.out.split())
    assert [e["subject_id"] for e in team.ledger()] == ["P002"]
    assert team.build("a").code == 0
    assert subjects(team.out("a")) == {"P001", "P003"}


def test_provenance_forgets_the_subjects_media(team):
    assert team.build("a").code == 0
    a = team.out("a")
    names = {i["name"] for i in corpus(a)["datasets"][0]["inputs"]}
    assert "videos/P001_a.mp4" in names
    assert team.cli("forget", "--subject", "P001", str(a)).code == 0
    c = corpus(a)
    names = {i["name"] for i in c["datasets"][0]["inputs"]}
    assert "videos/P001_a.mp4" not in names and "images/P002_0001.jpg" in names


def test_drop_examples_forget_the_subject(team):
    clear = team.clearances(DETECTOR_CLEARANCE)
    assert team.build("c", "--commercial", "--clearances", str(clear)).code == 0
    c = team.out("c")
    examples = lambda: [e for d in corpus(c)["drops"].values() for e in d["examples"]]  # noqa: E731
    assert "images/P002_0001.jpg" in examples()  # dropped: research-only consent
    assert team.cli("forget", "--subject", "P002", str(c)).code == 0
    assert not any("P002" in e for e in examples())


def test_report_page_is_rewritten_without_the_subject(team):
    assert team.build("a").code == 0
    a = team.out("a")
    assert team.cli("report", str(a)).code == 0
    before = (a / "report.html").read_text()
    assert "P001_a.mp4" in before  # thumbnails of P001's frames are embedded
    assert team.cli("forget", "--subject", "P001", str(a)).code == 0
    after = (a / "report.html").read_text()
    assert "P001" not in after and "P002_0001.jpg" in after
    # the rewritten page names the corpus, never the temporary copy it was rebuilt in
    assert ".partial" not in after and f"Corpus report: {a.parent.name}/{a.name}" in after


def test_a_report_written_outside_the_corpus_is_rewritten_too(team):
    assert team.build("a").code == 0
    a = team.out("a")
    page = team.root / "shared" / "smile-report.html"
    assert team.cli("report", str(a), "--out", str(page)).code == 0
    assert "P001_a.mp4" in page.read_text()
    assert team.build("a", "--overwrite").code == 0  # a rebuild still knows the page
    assert team.cli("forget", "--subject", "P001").code == 0
    after = page.read_text()
    assert "P001" not in after and "P002_0001.jpg" in after


def test_subject_ids_match_exactly_and_unknown_ids_are_errors(team):
    assert team.build("a").code == 0
    a = team.out("a")
    before = (a / "corpus.json").read_bytes()
    res = team.cli("forget", "--subject", "p001", str(a))
    assert res.code == 1
    err = " ".join(res.err.split())
    assert "'p001'" in err and "did you mean P001" in err
    assert team.ledger() == []  # nothing logged
    assert (a / "corpus.json").read_bytes() == before
    assert "P001" in subjects(a)

    res = team.cli("forget", "--subject", "P0", str(a))
    assert res.code == 1 and team.ledger() == []
    res = team.cli("forget", "--subject", "P001", "--dataset", "own_data", str(a))
    assert res.code == 1 and "did you mean own-data" in " ".join(res.err.split())
    assert team.ledger() == [] and "P001" in subjects(a)


def test_a_damaged_ledger_or_registry_stops_builds_with_a_clear_message(team):
    assert team.build("a").code == 0
    assert team.cli("forget", "--subject", "P001", str(team.out("a"))).code == 0
    ledger = team.home / "erasure-log.jsonl"
    good = ledger.read_text()
    ledger.write_text(good + '{"subject_id": "P002", "when": "garbage"}\n')
    res = team.build("b")
    assert res.code == 1
    assert f"{ledger}:2 is unreadable" in " ".join(res.err.split()) and "hint:" in res.err
    assert not team.out("b").exists()
    ledger.write_text(good)

    registry = team.home / "corpora.json"
    registry.write_text("{not json")
    res = team.build("b")
    assert res.code == 1 and "corpus registry" in res.err and "hint:" in res.err
    res = team.cli("forget", "--subject", "P003")
    assert res.code == 1 and "corpus registry" in res.err
    assert "P003" in subjects(team.out("a"))
