"""HTTP sources against a real loopback server: resume, retries, HTML pages, corruption, pins."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from facedata.errors import FetchError, IntegrityError
from facedata.fetch import fetch_dataset, fetched, verify
from facedata.fetch.http import HtmlPageError
from facedata.fetch.store import blob_path, get_source_lock, tree_dir
from tests.fetch.conftest import write_manifest
from tests.helpers.servers import (
    drop_after,
    html_page,
    make_tar,
    serve_files,
    sha256,
    status,
    wrong_bytes,
)

PAYLOAD = os.urandom(300_000)
TAR = make_tar({"GENKI4K/labels.txt": b"1 0 0 0\n", "GENKI4K/files/file0001.jpg": PAYLOAD})


def http_manifest(folder: Path, url: str, **spec: object):
    files = [{"name": "media/genki4k.tar", "url": f"{url}/genki4k.tar", **spec}]
    return write_manifest(
        folder, "tset", [{"id": "official", "kind": "http", "official": True, "files": files}]
    )


def blobs(home: Path) -> list[Path]:
    return [p for p in (home / "blobs").rglob("*") if p.is_file()] if home.exists() else []


def test_tar_is_unpacked_where_it_sits_and_pinned(manifest_dir, fetch_env):
    with serve_files({"genki4k.tar": TAR}) as url:
        m = http_manifest(manifest_dir, url)
        assert fetched(m) is None
        res = fetch_dataset(m)
    assert res.root == tree_dir("tset", "official")
    assert (res.root / "media/GENKI4K/files/file0001.jpg").read_bytes() == PAYLOAD
    assert not (res.root / "media/genki4k.tar").exists()  # the archive lives in the store only
    (entry,) = res.files
    assert (entry.sha256, entry.size, entry.official) == (sha256(TAR), len(TAR), True)
    assert blob_path(entry.sha256).read_bytes() == TAR
    assert get_source_lock("tset", "official").files == res.files
    again = fetched(m)
    assert again is not None and again.cached and again.files == res.files


def test_second_fetch_uses_the_cache_without_network(manifest_dir):
    with serve_files({"genki4k.tar": TAR}) as url:
        m = http_manifest(manifest_dir, url)
        fetch_dataset(m)
        n = len(url.log)
        res = fetch_dataset(m)
        assert res.cached and len(url.log) == n


def test_dropped_connection_is_resumed_in_the_same_run(manifest_dir):
    half = len(TAR) // 2
    with serve_files({"genki4k.tar": TAR}) as url:
        url.fault("genki4k.tar", drop_after(half))
        res = fetch_dataset(http_manifest(manifest_dir, url))
        gets = url.requests_for("genki4k.tar")
        assert [r.headers.get("Range") for r in gets] == [None, f"bytes={half}-"]
        assert url.bytes_sent("genki4k.tar") == len(TAR)  # nothing sent twice
    assert res.files[0].sha256 == sha256(TAR)


def test_interrupted_run_is_resumed_by_the_next_run(manifest_dir, fetch_env):
    half = len(TAR) // 2
    with serve_files({"genki4k.tar": TAR}) as url:
        m = http_manifest(manifest_dir, url, sha256=sha256(TAR))
        url.fault("genki4k.tar", drop_after(half), status(503, times=None))
        with pytest.raises(FetchError, match="HTTP 503"):
            fetch_dataset(m)
        assert fetched(m) is None and not blobs(fetch_env)
        url.server.faults.clear()
        before = url.bytes_sent("genki4k.tar")
        res = fetch_dataset(m)
        assert url.bytes_sent("genki4k.tar") - before == len(TAR) - half
        assert url.requests_for("genki4k.tar")[-1].headers["Range"] == f"bytes={half}-"
    assert (res.root / "media/GENKI4K/files/file0001.jpg").read_bytes() == PAYLOAD


def test_429_and_5xx_are_retried(manifest_dir):
    with serve_files({"genki4k.tar": TAR}) as url:
        url.fault("genki4k.tar", status(503, times=2), status(429, retry_after=0))
        res = fetch_dataset(http_manifest(manifest_dir, url))
        assert [r.status for r in url.requests_for("genki4k.tar")] == [503, 503, 429, 200]
    assert res.files[0].sha256 == sha256(TAR)


def test_persistent_errors_give_up_with_a_hint(manifest_dir):
    with serve_files({"genki4k.tar": TAR}) as url:
        url.fault("genki4k.tar", status(500, times=None))
        with pytest.raises(FetchError) as err:
            fetch_dataset(http_manifest(manifest_dir, url))
    assert "HTTP 500" in err.value.message and err.value.hint


def test_404_says_the_file_moved(manifest_dir):
    with serve_files({}) as url, pytest.raises(FetchError, match="HTTP 404") as err:
        fetch_dataset(http_manifest(manifest_dir, url))
    assert "manifest" in err.value.hint


def test_html_page_is_reported_as_such_not_as_a_checksum_mismatch(manifest_dir, fetch_env):
    with serve_files({"genki4k.tar": TAR}) as url:
        url.fault("genki4k.tar", html_page())
        m = http_manifest(manifest_dir, url, sha256=sha256(TAR))
        with pytest.raises(HtmlPageError) as err:
            fetch_dataset(m)
    assert not isinstance(err.value, IntegrityError)
    assert "got an HTML page" in err.value.message and "quota or login" in err.value.message
    assert "--from" in err.value.hint
    assert not blobs(fetch_env) and fetched(m) is None


def test_corrupt_download_is_never_published_and_is_refetched(manifest_dir, fetch_env):
    with serve_files({"genki4k.tar": TAR}) as url:
        m = http_manifest(manifest_dir, url, sha256=sha256(TAR))
        url.fault("genki4k.tar", wrong_bytes())
        with pytest.raises(IntegrityError, match="sha256 is"):
            fetch_dataset(m)
        assert not blobs(fetch_env)
        assert not tree_dir("tset", "official").exists()
        assert not list((fetch_env / "partial").rglob("*.part"))
        res = fetch_dataset(m)  # the fault is spent: a clean full download
        assert url.requests_for("genki4k.tar")[-1].headers.get("Range") is None
    assert blob_path(res.files[0].sha256).read_bytes() == TAR


def test_stale_partial_from_an_earlier_run_is_discarded_and_refetched(manifest_dir, fetch_env):
    """A `.part` whose bytes are wrong (disk damage, changed upstream) must not survive."""
    with serve_files({"genki4k.tar": TAR}) as url:
        m = http_manifest(manifest_dir, url, sha256=sha256(TAR))
        url.fault("genki4k.tar", drop_after(len(TAR) // 2), status(503, times=None))
        with pytest.raises(FetchError):
            fetch_dataset(m)
        (part,) = (fetch_env / "partial").rglob("*.part")
        part.write_bytes(b"\0" * part.stat().st_size)  # corrupt the saved half
        url.server.faults.clear()
        res = fetch_dataset(m)
        ranges = [r.headers.get("Range") for r in url.requests_for("genki4k.tar")[-2:]]
        assert ranges[0] is not None and ranges[1] is None  # resumed, failed the check, restarted
    assert res.files[0].sha256 == sha256(TAR)
    assert any("afresh" in n for n in res.notes)


def test_first_fetch_pins_and_a_changed_upstream_is_refused(manifest_dir, fetch_env):
    with serve_files({"genki4k.tar": TAR}) as url:
        m = http_manifest(manifest_dir, url)  # no hash in the manifest
        pinned = fetch_dataset(m).files[0]
        url.server.add("genki4k.tar", TAR + b"\0" * 512)  # the publisher changed the file
        with pytest.raises(IntegrityError) as err:
            fetch_dataset(m, force=True)
    assert pinned.sha256 in err.value.message and "pin" in err.value.message
    assert get_source_lock("tset", "official").files[0].sha256 == pinned.sha256
    assert (tree_dir("tset", "official") / "media/GENKI4K/labels.txt").exists()  # old tree kept


def test_unverified_manifest_hash_warns_and_records_the_observed_value(manifest_dir):
    wrong = "0" * 64
    with serve_files({"genki4k.tar": TAR}) as url:
        m = http_manifest(manifest_dir, url, sha256=wrong, size=1, verified=False)
        res = fetch_dataset(m)
    assert res.files[0].sha256 == sha256(TAR)
    assert any(wrong in n and "unverified" in n for n in res.notes)


def test_verified_manifest_size_mismatch_fails(manifest_dir):
    with serve_files({"genki4k.tar": TAR}) as url:
        m = http_manifest(manifest_dir, url, size=len(TAR) + 1)
        with pytest.raises(IntegrityError, match="size is"):
            fetch_dataset(m)


def test_mirror_is_asked_by_sha256_before_the_original(manifest_dir, monkeypatch):
    digest = sha256(TAR)
    with (
        serve_files({"genki4k.tar": TAR}) as origin,
        serve_files({f"sha256/{digest}": TAR}) as mirror,
    ):
        monkeypatch.setenv("FACEDATA_MIRROR", mirror)
        res = fetch_dataset(http_manifest(manifest_dir, origin, sha256=digest))
        assert not origin.log and mirror.requests_for(f"sha256/{digest}")
    assert res.files[0].origin == f"{mirror}/sha256/{digest}"


def test_mirror_without_the_file_falls_back_to_the_original(manifest_dir, monkeypatch):
    with serve_files({"genki4k.tar": TAR}) as origin, serve_files({}) as mirror:
        monkeypatch.setenv("FACEDATA_MIRROR", mirror)
        res = fetch_dataset(http_manifest(manifest_dir, origin))
        assert [r.path for r in mirror.log] == ["/tset/media/genki4k.tar"]
    assert res.files[0].origin == f"{origin}/genki4k.tar"


def test_sources_are_tried_in_order_and_provenance_says_which(manifest_dir):
    with serve_files({"mirror/genki4k.tar": TAR}) as url:
        sources = [
            {
                "id": "official",
                "kind": "http",
                "official": True,
                "files": [{"name": "genki4k.tar", "url": f"{url}/gone.tar"}],
            },
            {
                "id": "copy",
                "kind": "http",
                "official": False,
                "files": [{"name": "genki4k.tar", "url": f"{url}/mirror/genki4k.tar"}],
            },
        ]
        m = write_manifest(manifest_dir, "tset", sources)
        res = fetch_dataset(m)
        assert res.source.id == "copy" and not res.official and not res.files[0].official
        assert any("unofficial" in n for n in res.notes)
        assert fetch_dataset(m, source_id="copy").cached
        with pytest.raises(FetchError, match="HTTP 404"):
            fetch_dataset(m, source_id="official")
        with pytest.raises(FetchError, match="no source 'nope'") as err:
            fetch_dataset(m, source_id="nope")
        assert "1: official (http)" in err.value.hint


def test_verify_detects_a_damaged_blob(manifest_dir):
    with serve_files({"genki4k.tar": TAR}) as url:
        m = http_manifest(manifest_dir, url)
        res = fetch_dataset(m)
    assert all(v.ok for v in verify(m))
    blob = blob_path(res.files[0].sha256)
    blob.chmod(0o644)
    blob.write_bytes(b"x" + TAR[1:])
    (bad,) = verify(m)
    assert not bad.ok and "changed" in bad.problem
    assert verify(None) == [bad]
