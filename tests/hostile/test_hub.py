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
