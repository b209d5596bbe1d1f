"""Corpora keep a stable id; forget reports the ones that moved, and they can be found."""

from __future__ import annotations

import shutil
import uuid

from .conftest import corpus, subjects


def said(text: str, out: str) -> bool:
    """`text` in console output, whatever line wrapping the console chose."""
    return "".join(text.split()) in "".join(out.split())


def test_every_corpus_has_a_stable_id_kept_by_rebuilds_copies_and_forget(team):
    assert team.build("r").code == 0
    cid = corpus(team.out("r"))["id"]
    assert uuid.UUID(cid).version == 4
    assert team.build("r", "--overwrite").code == 0  # a rebuild in place: same corpus
    assert corpus(team.out("r"))["id"] == cid
    shutil.copytree(team.out("r"), team.out("copy"))
    assert corpus(team.out("copy"))["id"] == cid
    assert team.cli("forget", "--subject", "P003", str(team.out("r"))).code == 0
    assert corpus(team.out("r"))["id"] == cid
    assert team.build("other").code == 0
    assert corpus(team.out("other"))["id"] != cid


def test_a_moved_corpus_is_reported_found_and_then_erased(team):
    assert team.build("r").code == 0
    cid = corpus(team.out("r"))["id"]
    moved = team.root / "archive" / "deep" / "r-moved"
    moved.parent.mkdir(parents=True)
    shutil.move(team.out("r"), moved)
    res = team.cli("forget", "--subject", "P003")
    assert res.code == 0, res.err
    assert said(str(team.out("r")), res.out) and said("moved or deleted", res.out)
    assert said(f"facedata corpora find DIR --id {cid}", res.out)
    assert "P003" in subjects(moved)  # not reached, but said so
    listed = team.cli("corpora", "list")
    assert cid in listed.out and "missing" in listed.out
    found = team.cli("corpora", "find", str(team.root / "archive"), "--id", cid)
    assert found.code == 0, found.err
    assert said(str(moved), found.out) and "re-registered" in found.out
    res = team.cli("forget", "--subject", "P003")
    assert res.code == 0, res.err
    assert "P003" not in subjects(moved)
    assert not said("moved or deleted", res.out)


def test_a_corpus_moved_and_replaced_by_another_is_still_reported(team):
    assert team.build("r").code == 0
    shutil.move(team.out("r"), team.root / "elsewhere")
    assert team.build("x").code == 0
    shutil.copytree(team.out("x"), team.out("r"))  # another corpus now sits at that path
    res = team.cli("forget", "--subject", "P003")
    assert res.code == 0, res.err
    assert said("moved or deleted", res.out)


def test_a_deleted_corpus_is_reported_until_dropped(team):
    assert team.build("r").code == 0
    cid = corpus(team.out("r"))["id"]
    shutil.rmtree(team.out("r"))
    assert team.build("s").code == 0  # a later build keeps the entry listed
    res = team.cli("forget", "--subject", "P003")
    assert said("moved or deleted", res.out)
    assert team.cli("corpora", "drop", corpus(team.out("s"))["id"]).code != 0  # in place
    assert team.cli("corpora", "drop", cid).code == 0
    res = team.cli("forget", "--subject", "P002")
    assert not said("moved or deleted", res.out)


def test_a_corpus_from_before_ids_is_reported_and_dropped_by_path(team):
    import json

    assert team.build("r").code == 0
    registry = team.home / "corpora.json"
    data = json.loads(registry.read_text())
    for entry in data["corpora"]:
        entry.pop("id")  # a registry written before corpus ids
    registry.write_text(json.dumps(data))
    shutil.rmtree(team.out("r"))
    res = team.cli("forget", "--subject", "P003")
    assert said("moved or deleted", res.out)
    assert said(f"facedata corpora drop {team.out('r')}", res.out)
    assert team.cli("corpora", "drop", str(team.out("r").resolve())).code == 0
    assert not said("moved or deleted", team.cli("forget", "--subject", "P002").out)
