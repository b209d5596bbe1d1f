"""A project folder received from someone else: its `facedata.toml` is untrusted.

Whoever sent the folder wrote the marker; running any command inside it reads the
marker first. Every bad marker ends in a clear error naming the file (never a
traceback), and a marker that is a link out of the folder is not read.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.helpers.cli import run_cli


def _run_in(folder: Path, capsys, monkeypatch, *args: str):
    monkeypatch.chdir(folder)
    monkeypatch.delenv("FACEDATA_HOME", raising=False)
    monkeypatch.delenv("FACEDATA_MANIFESTS", raising=False)
    return run_cli(capsys, *args)


def _project(outside, text: str | bytes) -> Path:
    folder = outside.root / "received"
    folder.mkdir()
    marker = folder / "facedata.toml"
    if isinstance(text, bytes):
        marker.write_bytes(text)
    else:
        marker.write_text(text, encoding="utf-8")
    outside.before = outside.snapshot()
    return folder


@pytest.mark.parametrize(
    "text, words",
    [
        ('home = "ca\\u0000che"\n', "NUL byte"),
        ('manifests = ["man\\u0000ifests"]\n', "NUL byte"),
        ('home = "/etc\\u0000"\n', "cannot be resolved"),
        ('home = "' + "a" * 300 + '"\n', "over 255 bytes"),
        ("a = " + "[" * 30_000 + "\n", "not a readable project marker"),
        ('notes = "' + "x" * 100_000 + '"\n', "over 65,536 bytes"),
    ],
    ids=["nul-home", "nul-manifests", "nul-absolute", "long-name", "deep", "huge"],
)
def test_bad_marker_is_a_clear_error(outside, capsys, monkeypatch, text, words):
    folder = _project(outside, text)
    res = _run_in(folder, capsys, monkeypatch, "list")
    assert res.code == 1, res.out + res.err
    assert "Traceback" not in res.err, res.err
    assert "facedata.toml" in res.err and words in res.err, res.err
    outside.assert_unchanged()


def test_link_loop_in_home_is_a_clear_error(outside, capsys, monkeypatch):
    folder = _project(outside, 'home = "loop/cache"\n')
    os.symlink("loop", folder / "loop")
    res = _run_in(folder, capsys, monkeypatch, "list")
    assert res.code == 1 and "Traceback" not in res.err, res.err
    assert "cannot be resolved" in res.err, res.err


def test_marker_linked_out_of_the_folder_is_not_read(outside, capsys, monkeypatch):
    """A marker that is a link to a file elsewhere (here a valid one) is refused."""
    elsewhere = outside.root / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "facedata.toml").write_text('home = "cache"\n')
    folder = outside.root / "received"
    folder.mkdir()
    os.symlink(elsewhere / "facedata.toml", folder / "facedata.toml")
    outside.before = outside.snapshot()
    res = _run_in(folder, capsys, monkeypatch, "list")
    assert res.code == 1 and "Traceback" not in res.err, res.err
    assert "not read" in res.err and "outside" in res.err, res.err
    assert not (folder / "cache").exists()
    outside.assert_unchanged()
