"""Own recordings: a hostile annotation row never reads outside the folder or runs unbounded."""

from __future__ import annotations

import os

from .conftest import corpus, rows, subjects


def test_annotation_paths_outside_the_recordings_folder_are_dropped(team, tmp_path):
    private = tmp_path / "private"
    private.mkdir()
    (team.rec / "images" / "P003_0001.jpg").rename(private / "me.jpg")
    os.symlink(private / "me.jpg", team.rec / "images" / "link.jpg")
    team.annotate(
        "images/P002_0001.jpg,P002,,,1,happy\n"
        "../private/me.jpg,P003,,,1,happy\n"
        f"{private / 'me.jpg'},P003,,,1,happy\n"
        "images/link.jpg,P003,,,1,happy\n"
    )
    res = team.build("a")
    assert res.code == 0, res.err
    out = team.out("a")
    assert [r["key"] for r in rows(out)] == ["images/P002_0001.jpg"]
    unsafe = {k: v for k, v in corpus(out)["drops"].items() if "unsafe image path" in k}
    assert sum(d["count"] for d in unsafe.values()) == 3, corpus(out)["drops"]


def test_unbounded_video_ranges_end_quickly(team):
    team.annotate(
        "videos/P001_a.mp4,P001,0.0,inf,1,happy\n"
        "videos/P001_a.mp4,P001,0.0,1e12,1,happy\n"
        "videos/P001_a.mp4,P001,1e17,2e17,1,happy\n"
        "videos/P001_a.mp4,P001,nan,1.0,1,happy\n"
        "images/P003_0001.jpg,P003,,,0,neutral\n"
    )
    res = team.build("a")  # listed the sample times of these ranges without end before
    assert res.code == 0, res.err
    assert "P003" in subjects(team.out("a"))
