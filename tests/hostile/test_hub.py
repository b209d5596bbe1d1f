"""A Hub repository whose file listing names paths outside the cache."""

from __future__ import annotations

import pytest

from facedata.errors import FetchError
from facedata.fetch import fetch_dataset
from facedata.fetch.store import tree_dir
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
