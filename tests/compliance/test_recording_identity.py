"""Frames belong to everyone on screen, and to the bytes they were decoded from."""

from __future__ import annotations

import hashlib
import os
import shutil

import pyarrow.parquet as pq
import pytest

from facedata.consent.owndata import new_local_manifest

from .conftest import DETECTOR_CLEARANCE, LONG_AGO, corpus, drops, rows, write_video


def _images(out) -> dict[str, bytes]:
    got = {}
    for f in sorted((out / "data").glob("*.parquet")):
        for r in pq.read_table(f, columns=["key", "image"]).to_pylist():
            got[r["key"]] = r["image"]["bytes"]
    return got


def _two_people(team, p101_start: str = "0.25") -> None:
    team.consent(f"P101,research,{LONG_AGO},\nP102,research;commercial,{LONG_AGO},\n")
    team.annotate(
        f"videos/P001_a.mp4,P102,0.0,2.0,1,happy\nvideos/P001_a.mp4,P101,{p101_start},2.0,1,happy\n"
    )


def test_overlapping_ranges_share_frames_between_people(team):
    _two_people(team)
    clear = team.clearances(DETECTOR_CLEARANCE)
    assert team.build("c", "--commercial", "--clearances", str(clear)).code == 0
    kept = rows(team.out("c"))
    # only t=0.0 shows P102 alone; at 0.5, 1.0, 1.5 P101 (research only) is on screen too
    assert [r["key"] for r in kept] == ["videos/P001_a.mp4@0.000"]
    assert {r["subject_id"] for r in kept} == {"P102"}
    reason = "own-data: several participants, one not admitted (consent: no commercial scope)"
    assert drops(team.out("c"))[reason] == 7  # 0.5 .. 1.5 and P101's own 0.25 .. 1.75
    assert team.build("r").code == 0
    ids = {r["key"]: r["subject_id"] for r in rows(team.out("r"))}
    assert ids["videos/P001_a.mp4@0.000"] == "P102"
    assert ids["videos/P001_a.mp4@0.500"] == "P101+P102"
    assert ids["videos/P001_a.mp4@0.250"] == "P101+P102"
    # forgetting the research-only person removes every shared frame
    res = team.cli("forget", "--subject", "P101", str(team.out("r")))
    assert res.code == 0, res.err
    assert {r["subject_id"] for r in rows(team.out("r"))} == {"P102"}


def test_a_range_that_ends_where_another_starts_shares_that_frame(team):
    team.consent(f"P101,research,{LONG_AGO},\nP102,research;commercial,{LONG_AGO},\n")
    team.annotate(
        "videos/P001_a.mp4,P102,0.0,1.0,1,happy\nvideos/P001_a.mp4,P101,1.0,2.0,1,happy\n"
    )
    clear = team.clearances(DETECTOR_CLEARANCE)
    assert team.build("c", "--commercial", "--clearances", str(clear)).code == 0
    assert [r["key"] for r in rows(team.out("c"))] == [
        "videos/P001_a.mp4@0.000",
        "videos/P001_a.mp4@0.500",
    ]


def test_a_replaced_recording_is_decoded_again(team):
    assert team.build("a").code == 0
    first = _images(team.out("a"))
    video = team.rec / "videos" / "P001_a.mp4"
    write_video(video, 200)  # corrected recording, same name
    assert team.build("b").code == 0
    second = _images(team.out("b"))
    keys = [k for k in first if k.startswith("videos/")]
    assert keys and all(first[k] != second[k] for k in keys)
    record = next(d for d in corpus(team.out("b"))["datasets"] if d["id"] == "own-data")
    used = next(i for i in record["inputs"] if i["name"] == "videos/P001_a.mp4")
    assert used["sha256"] == hashlib.sha256(video.read_bytes()).hexdigest()


def test_two_folders_under_one_id_never_share_frames(team, tmp_path, monkeypatch):
    assert team.build("a").code == 0
    # team B: same id, same file names, other people's faces, its own manifest folder
    other = tmp_path / "teamb"
    shutil.copytree(team.rec, other / "recordings")
    write_video(other / "recordings" / "videos" / "P001_a.mp4", 400)
    (other / "manifests").mkdir()
    new_local_manifest(other / "recordings", "own-data", out=other / "manifests" / "own-data.yaml")
    monkeypatch.setenv("FACEDATA_MANIFESTS", str(other / "manifests"))
    assert team.build("b").code == 0
    a, b = _images(team.out("a")), _images(team.out("b"))
    keys = [k for k in a if k.startswith("videos/")]
    assert keys and all(a[k] != b[k] for k in keys)


def test_an_unreadable_range_puts_its_person_on_every_frame(team):
    # P101 (research only) annotated with a reversed range: when they are on screen is
    # unknown, so no frame of that recording enters a commercial corpus
    team.consent(f"P101,research,{LONG_AGO},\nP102,research;commercial,{LONG_AGO},\n")
    team.annotate(
        "videos/P001_a.mp4,P102,0.0,2.0,1,happy\nvideos/P001_a.mp4,P101,2.0,0.5,1,happy\n"
    )
    clear = team.clearances(DETECTOR_CLEARANCE)
    res = team.build("c", "--commercial", "--clearances", str(clear))
    assert res.code != 0 or rows(team.out("c")) == []


def _commercial_rows(team) -> list[dict]:
    clear = team.clearances(DETECTOR_CLEARANCE)
    res = team.build("c", "--commercial", "--clearances", str(clear))
    assert res.code == 0, res.err
    return rows(team.out("c"))


@pytest.mark.parametrize("start,end", [("", ""), ("soon", "2.0"), ("0.5", "later")])
def test_a_range_that_cannot_be_read_still_puts_its_person_on_screen(team, start, end):
    # P101 (research only) is on the recording, but when is unreadable: no frame of it
    # may enter a commercial corpus as P102's alone
    team.consent(f"P101,research,{LONG_AGO},\nP102,research;commercial,{LONG_AGO},\n")
    team.annotate(
        f"videos/P001_a.mp4,P102,0.0,2.0,1,happy\nvideos/P001_a.mp4,P101,{start},{end},1,happy\n"
    )
    assert _commercial_rows(team) == []


def test_the_same_video_under_two_names_is_one_recording(team):
    team.consent(f"P101,research,{LONG_AGO},\nP102,research;commercial,{LONG_AGO},\n")
    shutil.copy(team.rec / "videos" / "P001_a.mp4", team.rec / "videos" / "take2.mp4")
    team.annotate("videos/P001_a.mp4,P102,0.0,2.0,1,happy\nvideos/take2.mp4,P101,1.0,2.0,1,happy\n")
    assert [r["key"] for r in _commercial_rows(team)] == [
        "videos/P001_a.mp4@0.000",
        "videos/P001_a.mp4@0.500",
    ]


@pytest.mark.parametrize("how", ["copy", "link"])
def test_the_same_photo_under_two_names_is_one_photo(team, how):
    photo = team.rec / "images" / "P003_0001.jpg"
    alias = team.rec / "images" / "group.jpg"
    if how == "copy":
        shutil.copy(photo, alias)
    else:
        os.symlink(photo.name, alias)
    # P003 (commercial) and P002 (research only) are both in this photo
    team.annotate("images/P003_0001.jpg,P003,,,0,neutral\nimages/group.jpg,P002,,,0,neutral\n")
    assert _commercial_rows(team) == []
    assert team.build("r").code == 0
    assert {r["subject_id"] for r in rows(team.out("r"))} == {"P002+P003"}


@pytest.mark.parametrize(
    "header,row,where",
    [
        # a second person in a column nobody reads
        (",also_on_screen", ",P101", "annotations.csv:1"),
        (",subject_id", ",P101", "annotations.csv:1"),  # csv would keep only the last
        ("", ",P101", "annotations.csv:2"),  # a value past the header
    ],
)
def test_annotations_name_nobody_in_a_place_no_one_reads(team, header, row, where):
    team.consent(f"P101,research,{LONG_AGO},\nP102,research;commercial,{LONG_AGO},\n")
    (team.rec / "annotations.csv").write_text(
        f"file,subject_id,start,end,smile,expression{header}\n"
        f"videos/P001_a.mp4,P102,0.0,2.0,1,happy{row}\n"
    )
    clear = team.clearances(DETECTOR_CLEARANCE)
    res = team.build("c", "--commercial", "--clearances", str(clear))
    assert res.code != 0 and where in res.err and "Traceback" not in res.err
    assert not team.out("c").exists()
