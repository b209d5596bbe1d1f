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


def test_a_link_to_a_regular_file_is_copied_not_linked(outside, capsys):
    given = outside.root / "given"
    given.mkdir()
    (given / "ok.txt").write_text("fine")
    (given / "alias.txt").symlink_to(outside.victim)
    outside.before = outside.snapshot()
    res = _fetch(capsys, outside, given)
    assert res.code == 0, res.err
    placed = tree_dir("given", "manual") / "alias.txt"
    assert not placed.is_symlink() and placed.read_text() == "precious"
    outside.assert_unchanged()
