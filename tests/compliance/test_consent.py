"""Consent before pixels, shared frames, and what a corpus records about its own data."""

from __future__ import annotations

import hashlib

from .conftest import DETECTOR_CLEARANCE, corpus, drops, rows, subjects, write_video


def test_nothing_of_an_unconsented_participant_is_decoded(team):
    write_video(team.rec / "videos" / "P009_a.mp4", 50)  # no register entry
    write_video(team.rec / "videos" / "P002_b.mp4", 80)  # research-only consent
    team.annotate(
        "videos/P001_a.mp4,P001,0.0,1.0,1,happy\n"
        "videos/P009_a.mp4,P009,0.0,1.0,1,happy\n"
        "videos/P002_b.mp4,P002,0.0,1.0,0,neutral\n"
    )
    clear = team.clearances(DETECTOR_CLEARANCE)
    res = team.build("c", "--commercial", "--clearances", str(clear))
    assert res.code == 0, res.err
    assert subjects(team.out("c")) == {"P001"}
    assert team.frames() == {"P001"}  # P009 and P002 were never decoded nor cached
    d = drops(team.out("c"))
    assert d["own-data: consent: no record"] == 2
    assert d["own-data: consent: no commercial scope"] == 2
    # inspecting reads frames too: still nothing of P009
    res = team.cli("inspect", "own-data")
    assert res.code == 0, res.err
    assert "P009" not in team.frames() and "P002" in team.frames()


def test_a_range_annotated_for_two_participants_needs_both(team):
    # one recording of two people: P001 consented commercially, P002 for research only
    team.annotate(
        "videos/P001_a.mp4,P001,0.0,1.0,1,happy\n"
        "videos/P001_a.mp4,P002,0.0,1.0,0,neutral\n"
        "images/P003_0001.jpg,P003,,,0,neutral\n"
    )
    clear = team.clearances(DETECTOR_CLEARANCE)
    res = team.build("c", "--commercial", "--clearances", str(clear))
    assert res.code == 0, res.err
    c = team.out("c")
    assert subjects(c) == {"P003"}  # not "frames of the first"
    reason = "own-data: several participants, one not admitted (consent: no commercial scope)"
    assert drops(c)[reason] == 2  # both sampled frames, counted
    assert team.frames() == set()  # nothing decoded

    # a research build admits the frames as both people's, once their labels agree
    assert team.build("r").code == 0
    r = team.out("r")
    assert drops(r)["own-data: several participants with different labels"] == 2
    team.annotate(
        "videos/P001_a.mp4,P001,0.0,1.0,1,happy\n"
        "videos/P001_a.mp4,P002,0.0,1.0,1,happy\n"
        "images/P003_0001.jpg,P003,,,0,neutral\n"
    )
    assert team.build("r2").code == 0
    r = team.out("r2")
    assert {x["subject_id"] for x in rows(r)} == {"P001+P002", "P003"}
    # forgetting either of them removes the shared frames
    res = team.cli("forget", "--subject", "P002", str(r))
    assert res.code == 0, res.err
    assert subjects(r) == {"P003"}
    assert corpus(r)["forgotten"][-1]["rows_removed"] == 2
    assert team.frames() == set()


def test_own_data_provenance_hashes_every_input_file(team):
    res = team.build("r")
    assert res.code == 0, res.err
    (record,) = corpus(team.out("r"))["datasets"]
    inputs = {i["name"]: i for i in record["inputs"]}
    expected = {
        "annotations.csv",
        "consent.csv",
        "videos/P001_a.mp4",
        "images/P002_0001.jpg",
        "images/P003_0001.jpg",
    }
    assert set(inputs) == expected
    for name in expected:
        path = team.rec / name
        assert inputs[name]["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()


def test_unknown_derivatives_and_redistribution_are_restrictive(team):
    team.edit_manifest(derivatives="unknown", redistribution="unknown")
    assert team.build("r").code == 0
    out = team.out("r")
    terms = corpus(out)["license"]
    assert terms["derivatives"] == terms["redistribution"] == "forbidden"
    card = (out / "README.md").read_text()
    header = card.split("---")[1]
    assert "- no-derivatives" in header and "- no-redistribution" in header
    croissant = (out / "croissant.json").read_text()
    assert '"no-redistribution"' in croissant and '"no-derivatives"' in croissant
