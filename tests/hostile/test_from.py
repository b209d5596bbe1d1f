"""`fetch --from` folders and files that are not plain data: no hang, no endless read."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from facedata.fetch.store import tree_dir
from tests.fetch.conftest import write_manifest
from tests.helpers.cli import run_cli


def _manifest(folder: Path) -> None:
    write_manifest(
        folder,
        "given",
        [
            {
                "id": "manual",
                "kind": "manual",
                "official": True,
                "access": {"level": "agreement", "instructions": "ask"},
            }
        ],
    )


def _fetch(capsys, outside, path: Path):
    folder = outside.root / "manifests"
    _manifest(folder)
    return run_cli(capsys, "fetch", "given", "--from", str(path), "--manifests", str(folder))


@pytest.mark.parametrize("odd", ["fifo", "dev-zero", "dev-null-dir-link"])
def test_folder_with_odd_entries_is_refused(outside, capsys, odd):
    given = outside.root / "given"
    given.mkdir()
    (given / "ok.txt").write_text("fine")
    if odd == "fifo":
        os.mkfifo(given / "pipe.jpg")
    elif odd == "dev-zero":
        (given / "zero.jpg").symlink_to("/dev/zero")
    else:
        (given / "null.jpg").symlink_to("/dev/null")
    outside.before = outside.snapshot()
    res = _fetch(capsys, outside, given)
    assert res.code == 1 and "Traceback" not in res.err, res.err
    assert "regular files" in res.err
    assert not tree_dir("given", "manual").exists()
    outside.assert_unchanged()


@pytest.mark.parametrize("odd", ["fifo", "dev-zero"])
def test_a_single_odd_file_is_refused(outside, capsys, odd):
    path = outside.root / "thing.zip"
    if odd == "fifo":
        os.mkfifo(path)
    else:
        path.symlink_to("/dev/zero")
    res = _fetch(capsys, outside, path)
    assert res.code == 1 and "Traceback" not in res.err and "regular files" in res.err, res.err


def test_non_utf8_file_name_is_a_clean_error(outside, capsys):
    given = outside.root / "given"
    given.mkdir()
    (given / "ok.txt").write_text("fine")
    raw = os.path.join(os.fsencode(given), b"caf\xe9.jpg")
    with open(raw, "wb") as fh:
        fh.write(b"x")
    res = _fetch(capsys, outside, given)
    assert res.code == 1 and "Traceback" not in res.err and "UTF-8" in res.err, res.err


def test_a_link_to_a_regular_file_in_the_folder_is_copied_not_linked(outside, capsys):
    given = outside.root / "given"
    given.mkdir()
    (given / "ok.txt").write_text("fine")
    (given / "sub").mkdir()
    (given / "sub" / "alias.txt").symlink_to("../ok.txt")
    outside.before = outside.snapshot()
    res = _fetch(capsys, outside, given)
    assert res.code == 0, res.err
    placed = tree_dir("given", "manual") / "sub" / "alias.txt"
    assert not placed.is_symlink() and placed.read_text() == "fine"
    outside.assert_unchanged()


@pytest.mark.parametrize("target", ["victim", "chain", "folder"])
def test_a_link_out_of_the_folder_is_refused_not_followed(outside, capsys, target):
    """The same rule as in archives: the person's other files never reach the cache."""
    given = outside.root / "given"
    given.mkdir()
    (given / "ok.txt").write_text("fine")
    if target == "victim":
        (given / "labels.txt").symlink_to(outside.victim)
    elif target == "chain":  # each link looks local; the chain ends outside
        (given / "u1").symlink_to(".")
        (given / "u2").symlink_to("u1/..")
        (given / "labels.txt").symlink_to("u2/victim.txt")
    else:
        (given / "up").symlink_to("..")
    outside.before = outside.snapshot()
    res = _fetch(capsys, outside, given)
    assert res.code == 1 and "Traceback" not in res.err, res.err
    assert "outside" in res.err and "not followed" in res.err, res.err
    assert not tree_dir("given", "manual").exists()
    blobs = list((outside.root / "cache").rglob("*"))
    assert not any(p.is_file() and p.read_bytes() == b"precious" for p in blobs)
    outside.assert_unchanged()


def test_a_hard_linked_file_is_copied_so_the_cache_shares_no_inode(outside, capsys):
    """A hard link in the cache would let a write to either side change the other."""
    mine = outside.root / "mine.txt"
    mine.write_text("mine")
    given = outside.root / "given"
    given.mkdir()
    os.link(mine, given / "notes.txt")
    (given / "ok.txt").write_text("fine")
    outside.before = outside.snapshot()
    res = _fetch(capsys, outside, given)
    assert res.code == 0, res.err
    user = {(p.stat().st_dev, p.stat().st_ino) for p in (mine, given / "ok.txt")}
    cached = {
        (p.stat().st_dev, p.stat().st_ino)
        for p in (outside.root / "cache").rglob("*")
        if p.is_file() and not p.is_symlink()
    }
    assert not user & cached
    outside.assert_unchanged()


@pytest.mark.parametrize("escape", ["other-repo", "blob-links-out"])
def test_a_hub_snapshot_may_link_into_its_own_blobs_and_nowhere_else(outside, capsys, escape):
    """huggingface_hub's cache links `snapshots/<commit>/` files into the repository's
    own `blobs/`: only that one folder is allowed, and a blob that is itself a link
    out is still refused."""
    repo = outside.root / "hub" / "datasets--someone--faces"
    snap = repo / "snapshots" / ("a" * 40)
    (repo / "blobs").mkdir(parents=True)
    snap.mkdir(parents=True)
    (repo / "blobs" / "1234").write_text("fine")
    (snap / "ok.txt").symlink_to(Path("..", "..", "blobs", "1234"))
    if escape == "other-repo":
        other = outside.root / "hub" / "datasets--else--x" / "blobs"
        other.mkdir(parents=True)
        (other / "9").write_text("not this repo's")
        (snap / "labels.txt").symlink_to(other / "9")
    else:
        (repo / "blobs" / "5678").symlink_to(outside.victim)
        (snap / "labels.txt").symlink_to(Path("..", "..", "blobs", "5678"))
    outside.before = outside.snapshot()
    res = _fetch(capsys, outside, snap)
    assert res.code == 1 and "not followed" in res.err, res.err
    (snap / "labels.txt").unlink()
    res = _fetch(capsys, outside, snap)
    assert res.code == 0, res.err
    assert (tree_dir("given", "manual") / "ok.txt").read_text() == "fine"
