"""The unpacked tree a build reads is the tree that was verified.

Each cache entry keeps a list of its files (path, size, sha256). `verify` re-hashes
them, so flipping the labels in a cached labels file fails verify (even with the
file's time put back); a build (through `fetched`) refuses a changed tree until it is
fetched again.
"""

from __future__ import annotations

import os

import pytest

from facedata.errors import FetchError
from facedata.fetch import fetch_dataset, fetched, verify
from facedata.fetch.treelist import listing_path
from tests.fetch.test_http import TAR, http_manifest
from tests.helpers.cli import run_cli
from tests.helpers.servers import serve_files

LABELS = "media/GENKI4K/labels.txt"


def _flip(path, keep_time: bool) -> None:
    st = path.stat()
    data = path.read_bytes()
    path.unlink()  # the tree's file may share its inode with nothing else, but be safe
    path.write_bytes(data.replace(b"1", b"0", 1))
    if keep_time:
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


@pytest.mark.parametrize("keep_time", [False, True], ids=["plain-edit", "time-put-back"])
def test_flipped_labels_fail_verify_and_the_build_refuses(
    manifest_dir, fetch_env, capsys, keep_time
):
    with serve_files({"genki4k.tar": TAR}) as url:
        m = http_manifest(manifest_dir, url)
        res = fetch_dataset(m)
        assert listing_path("tset", "official").is_file()
        assert all(v.ok for v in verify(m))
        _flip(res.root / LABELS, keep_time)
        bad = [v for v in verify(m) if not v.ok]
        assert len(bad) == 1 and LABELS in bad[0].problem and "changed" in bad[0].problem
        out = run_cli(capsys, "verify", "tset", "--manifests", str(manifest_dir))
        assert out.code != 0 and "Traceback" not in out.err
        # the build's gate and a plain fetch refuse it from now on, whatever its time says
        with pytest.raises(FetchError, match="changed since they were fetched") as err:
            fetched(m)
        assert "--force" in (err.value.hint or "")
        with pytest.raises(FetchError, match="changed since they were fetched"):
            fetch_dataset(m)
        # fetching again restores the verified bytes and lifts the refusal
        again = fetch_dataset(m, force=True)
    assert (again.root / LABELS).read_bytes() == b"1 0 0 0\n"
    assert fetched(m) is not None
    assert all(v.ok for v in verify(m))


@pytest.mark.parametrize("change", ["added", "removed"])
def test_files_added_or_removed_in_the_cache_are_seen(manifest_dir, fetch_env, change):
    with serve_files({"genki4k.tar": TAR}) as url:
        m = http_manifest(manifest_dir, url)
        res = fetch_dataset(m)
    if change == "added":
        (res.root / "media/GENKI4K/extra.txt").write_text("1 1 1 1\n")
    else:
        (res.root / LABELS).unlink()
    with pytest.raises(FetchError, match=change):
        fetched(m)
    assert any(change in v.problem for v in verify(m) if not v.ok)


def test_a_damaged_file_list_is_refused_not_trusted(manifest_dir, fetch_env):
    with serve_files({"genki4k.tar": TAR}) as url:
        m = http_manifest(manifest_dir, url)
        fetch_dataset(m)
    listing_path("tset", "official").write_text("[" * 100_000)
    with pytest.raises(FetchError, match="unreadable"):
        fetched(m)


def test_a_cache_copied_without_its_file_times_is_still_read(manifest_dir, fetch_env):
    """cp -r (no -p) gives every file a new time: the bytes decide, once."""
    with serve_files({"genki4k.tar": TAR}) as url:
        m = http_manifest(manifest_dir, url)
        res = fetch_dataset(m)
    for path in res.root.rglob("*"):
        if path.is_file():
            os.utime(path, ns=(1, 1_000_000_000))
    assert fetched(m) is not None
    assert all(v.ok for v in verify(m))
