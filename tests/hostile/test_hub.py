"""A Hub repository whose file listing names paths outside the cache."""

from __future__ import annotations

import pytest

from facedata.errors import FetchError
from facedata.fetch import fetch_dataset
from facedata.fetch.store import partial_dir, tree_dir
from tests.fetch.conftest import write_manifest
from tests.helpers.servers import HubRepo, serve_hub


@pytest.mark.parametrize("name", ["../../victim.txt", "a/../../../victim.txt"])
def test_hub_listing_with_an_escaping_name_is_refused(outside, monkeypatch, name):
    with serve_hub() as hub:
        hub.add("org/evil", HubRepo({"ok.csv": b"a,b\n", name: b"pwned"}, commit="b" * 40))
        monkeypatch.setenv("HF_ENDPOINT", hub.url)
        m = write_manifest(
            outside.root / "manifests",
            "hs",
            [{"id": "hub", "kind": "huggingface", "official": False, "repo_id": "org/evil"}],
        )
        with pytest.raises(FetchError, match="would leave the cache|climbs out"):
            fetch_dataset(m)
    assert not tree_dir("hs", "hub").exists()
    outside.assert_unchanged()


def _hub_manifest(outside, repo_id: str):
    return write_manifest(
        outside.root / "manifests",
        "hs",
        [{"id": "hub", "kind": "huggingface", "official": False, "repo_id": repo_id}],
    )


def test_hub_file_larger_than_its_listing_is_cut_at_the_listed_size(outside, monkeypatch):
    """The Hub lists 1 KiB; the server goes on sending. The download stops near the
    listed size with an error, instead of filling the disk."""
    with serve_hub() as hub:
        hub.add("org/big", HubRepo({"data.csv": b"x" * 1024}, commit="c" * 40))
        blob = "_blobs/org/big/data.csv"
        hub.server.files[blob] = b"y" * (32 * 1024 * 1024)  # what it really sends
        monkeypatch.setenv("HF_ENDPOINT", hub.url)
        with pytest.raises(FetchError, match="more than 1,024 bytes"):
            fetch_dataset(_hub_manifest(outside, "org/big"))
        assert hub.server.bytes_sent(blob) < 8 * 1024 * 1024
    assert not tree_dir("hs", "hub").exists()
    left = [f for f in partial_dir("hs", "hub").rglob("*") if f.is_file()]
    assert not left  # nothing left for a resume to grow
    outside.assert_unchanged()


def test_hub_that_drips_its_file_is_cut_by_the_minimum_rate(outside, monkeypatch):
    from tests.helpers.servers import throttle

    with serve_hub() as hub:
        hub.add("org/slow", HubRepo({"data.csv": b"z" * (256 * 1024)}, commit="d" * 40))
        hub.server.fault("_blobs/org/slow/data.csv", throttle(16 * 1024))
        monkeypatch.setenv("HF_ENDPOINT", hub.url)
        monkeypatch.setenv("FACEDATA_FETCH_MIN_RATE", str(64 * 1024))
        monkeypatch.setenv("FACEDATA_FETCH_RATE_WINDOW", "0.5")
        with pytest.raises(FetchError, match="slower than"):
            fetch_dataset(_hub_manifest(outside, "org/slow"))
    assert not tree_dir("hs", "hub").exists()


def test_hub_that_never_answers_times_out(outside, monkeypatch):
    """huggingface_hub's own client waits forever (no timeout); facedata's does not."""
    import time

    import facedata.fetch.bounded as bounded

    monkeypatch.setattr(bounded, "TIMEOUT", (1.0, 1.0))
    with serve_hub() as hub:
        hub.add("org/mute", HubRepo({"data.csv": b"a,b\n"}, commit="e" * 40))

        def mute(h, m) -> None:
            time.sleep(20)

        hub.server.routes.insert(0, ("GET", __import__("re").compile(r"/api/datasets/.*"), mute))
        monkeypatch.setenv("HF_ENDPOINT", hub.url)
        began = time.monotonic()
        with pytest.raises(FetchError):
            fetch_dataset(_hub_manifest(outside, "org/mute"))
        assert time.monotonic() - began < 15


def _listing(hub, repo_id: str, answer) -> None:
    """Answer the repo's listing with `answer` (a dict, or a handler) ahead of the fake Hub."""
    import json
    import re

    def info(h, m) -> None:
        if callable(answer):
            answer(h)
            return
        body = json.dumps(answer).encode()
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    hub.server.routes.insert(
        0, ("GET", re.compile(rf"/api/datasets/{re.escape(repo_id)}/revision/.*"), info)
    )


SIB = {"rfilename": "ok.csv", "size": 4}


@pytest.mark.parametrize(
    "answer, match",
    [
        ({"id": "org/x", "sha": "../../..", "siblings": [SIB]}, "not a commit id"),
        ({"id": "org/x", "sha": "B" * 40, "siblings": [SIB]}, "not a commit id"),
        ({"id": "org/x", "sha": 12, "siblings": [SIB]}, "not a commit id"),
        ({"id": "org/x", "sha": "a" * 40, "siblings": {"rfilename": "ok.csv"}}, "file list|read"),
        ({"id": "org/x", "sha": "a" * 40, "siblings": "ok.csv"}, "file list|read"),
        ({"id": "org/x", "sha": "a" * 40, "siblings": [{"rfilename": 5}]}, "name is int|read"),
        (
            {"id": "org/x", "sha": "a" * 40, "siblings": [SIB, {"rfilename": "ok.csv/x"}]},
            "both as a file and as a folder",
        ),
        (
            {
                "id": "org/x",
                "sha": "a" * 40,
                "siblings": [{"rfilename": "d/e/f"}, {"rfilename": "d/e"}],
            },
            "both as a file and as a folder",
        ),
        (
            {"id": "org/x", "sha": "a" * 40, "siblings": [{"rfilename": "ok.csv", "size": "1e9"}]},
            "size|read",
        ),
    ],
    ids=[
        "commit-path",
        "commit-uppercase",
        "commit-number",
        "siblings-object",
        "siblings-string",
        "name-number",
        "file-and-folder",
        "deep-file-and-folder",
        "size-string",
    ],
)
def test_malformed_hub_listing_is_a_clean_error(outside, monkeypatch, capsys, answer, match):
    from tests.helpers.cli import run_cli

    with serve_hub() as hub:
        hub.add("org/x", HubRepo({"ok.csv": b"a,b\n"}, commit="a" * 40))
        _listing(hub, "org/x", answer)
        monkeypatch.setenv("HF_ENDPOINT", hub.url)
        _hub_manifest(outside, "org/x")
        res = run_cli(capsys, "fetch", "hs", "--manifests", str(outside.root / "manifests"))
    assert res.code == 1 and "Traceback" not in res.err, res.err
    import re

    assert re.search(match, res.err), res.err
    assert not tree_dir("hs", "hub").exists()
    from facedata.fetch.store import get_source_lock

    assert get_source_lock("hs", "hub") is None
    outside.assert_unchanged()


def test_gzip_listing_is_counted_by_what_it_expands_to(outside, monkeypatch):
    """1 MiB on the wire, 80 MiB decoded: over the 64 MiB listing cap."""
    import gzip
    import json

    siblings = json.dumps([{"rfilename": "ok.csv", "size": 4}] * 2)
    pad = " " * (80 * 1024 * 1024)
    body = gzip.compress(
        f'{{"id": "org/x", "sha": "{"a" * 40}", "pad": "{pad}", "siblings": {siblings}}}'.encode(),
        compresslevel=9,
    )
    assert len(body) < 1024 * 1024

    def bomb(h) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Encoding", "gzip")
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    with serve_hub() as hub:
        hub.add("org/x", HubRepo({"ok.csv": b"a,b\n"}, commit="a" * 40))
        _listing(hub, "org/x", bomb)
        monkeypatch.setenv("HF_ENDPOINT", hub.url)
        with pytest.raises(FetchError, match="more than 67,108,864 bytes"):
            fetch_dataset(_hub_manifest(outside, "org/x"))
    assert not tree_dir("hs", "hub").exists()


def test_a_pinned_commit_that_is_not_a_commit_id_is_refused(outside, monkeypatch):
    import json

    from facedata.fetch.store import lock_path

    with serve_hub() as hub:
        hub.add("org/x", HubRepo({"ok.csv": b"a,b\n"}, commit="a" * 40))
        monkeypatch.setenv("HF_ENDPOINT", hub.url)
        m = _hub_manifest(outside, "org/x")
        fetch_dataset(m)
        lock = json.loads(lock_path().read_text())
        lock["datasets"]["hs"]["hub"]["version"] = "../../.."
        lock_path().write_text(json.dumps(lock))
        with pytest.raises(FetchError, match="not a commit id"):
            fetch_dataset(m, force=True)
