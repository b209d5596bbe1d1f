"""The machine itself as hostile input: a full disk, a read-only or misplaced
FACEDATA_HOME, a path longer than the system allows.

Each ends in a clear error naming the path and what to do (never a traceback), with
nothing half-written kept. A full disk is injected at the write (a tiny file system
cannot be mounted in a test); the error is the one the kernel raises.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from facedata.consent.owndata import new_local_manifest
from facedata.fetch.store import get_source_lock, tree_dir
from tests.helpers.cli import run_cli
from tests.helpers.photos import face_variant
from tests.hostile.test_from import _fetch


def _given(outside) -> Path:
    given = outside.root / "given"
    given.mkdir()
    (given / "labels.txt").write_text("a 1\n")
    (given / "notes.txt").write_text("hello\n")
    outside.before = outside.snapshot()
    return given


def _full(*_a: object, **_k: object) -> None:
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def _clean(res, *words: str) -> None:
    assert res.code == 1, res.out + res.err
    assert "Traceback" not in res.err, res.err
    for w in words:
        assert w in res.err, res.err


@pytest.mark.parametrize("where", ["file-list", "tree"])
def test_a_full_disk_during_fetch_names_the_cache(outside, capsys, monkeypatch, where):
    given = _given(outside)
    if where == "file-list":
        monkeypatch.setattr("facedata.fetch.treelist.atomic_write_text", _full)
    else:
        monkeypatch.setattr("facedata.fetch.tree.shutil.copyfileobj", _full)
    res = _fetch(capsys, outside, given)
    _clean(res, "No space left on device", str(outside.root / "cache"), "disk is full")
    assert not tree_dir("given", "manual").exists()
    assert get_source_lock("given", "manual") is None
    outside.assert_unchanged()


def test_a_read_only_cache_is_a_clear_error(outside, capsys, monkeypatch):
    """Injected: tests may run as root, whom a read-only mode does not stop."""
    given = _given(outside)
    real = Path.mkdir
    cache = str(outside.root / "cache")

    def read_only(self: Path, *a: object, **k: object) -> None:
        if str(self).startswith(cache):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(self))
        real(self, *a, **k)

    monkeypatch.setattr(Path, "mkdir", read_only)
    res = _fetch(capsys, outside, given)
    _clean(res, "Read-only file system", cache, "FACEDATA_HOME")
    outside.assert_unchanged()


@pytest.mark.parametrize("below", [False, True], ids=["is-a-file", "under-a-file"])
def test_facedata_home_that_is_a_file(outside, capsys, monkeypatch, below):
    given = _given(outside)
    file = outside.root / "homefile"
    file.write_text("mine")
    monkeypatch.setenv("FACEDATA_HOME", str(file / "sub" if below else file))
    res = _fetch(capsys, outside, given)
    _clean(res, str(file), "FACEDATA_HOME")
    assert file.read_text() == "mine"


@pytest.mark.parametrize("shape", ["deep", "long-name"])
def test_from_path_longer_than_the_system_allows(outside, capsys, shape):
    path = Path("/tmp", *(["a"] * 3000)) if shape == "deep" else Path("/tmp", "a" * 300)
    res = _fetch(capsys, outside, path)
    _clean(res, "too long", "shorter path")
    assert len(res.err) < 2000  # the path is shortened, not printed whole


def test_a_full_disk_during_build_names_the_output(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("FACEDATA_HOME", str(tmp_path / "home"))
    rec = tmp_path / "rec"
    img = rec / "images" / "P002_0001.jpg"
    img.parent.mkdir(parents=True)
    face_variant(300, (200, 240)).save(img)
    (rec / "annotations.csv").write_text(
        "file,subject_id,start,end,smile,expression\nimages/P002_0001.jpg,P002,,,1,happy\n"
    )
    (rec / "consent.csv").write_text(
        "subject_id,scopes,signed,withdrawn\nP002,research;commercial,2026-01-10,\n"
    )
    manifests = tmp_path / "manifests"
    manifests.mkdir()
    new_local_manifest(rec, "own-data", out=manifests / "own-data.yaml")
    monkeypatch.setenv("FACEDATA_MANIFESTS", str(manifests))
    monkeypatch.setattr("facedata.corpus.record.atomic_write_text", _full)
    out = tmp_path / "out"
    res = run_cli(capsys, "build", "--datasets", "own-data", "--out", str(out))
    _clean(res, "No space left on device", str(out), "disk is full")
    assert not out.exists()
