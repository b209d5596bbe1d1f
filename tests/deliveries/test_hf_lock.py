"""A Hub snapshot taken with --from is pinned like a Hub fetch: one sha256 per Parquet
shard, and the commit when the Hub cache's snapshots/<commit>/ folder names it
(huggingface_hub file_download.py lays the cache out that way)."""

from __future__ import annotations

import hashlib

from facedata.catalog import Catalog
from facedata.fetch.store import get_source_lock
from tests.deliveries import shapes
from tests.helpers.cli import run_cli


def test_hub_cache_snapshot_pins_each_shard_and_the_commit(tmp_path, capsys):
    d = shapes.fer2013_hf_cache(tmp_path / "made")
    res = run_cli(capsys, "fetch", "fer2013", "--source", "hf-autumnqiu", "--from", str(d.path))
    assert res.code == 0, res.err
    lock = get_source_lock(Catalog.load().get("fer2013").id, "hf-autumnqiu")
    assert lock is not None and lock.version == "a1" * 20
    shards = {e.name: e.sha256 for e in lock.files if e.name.endswith(".parquet")}
    assert sorted(shards) == sorted(r for r in d.expected.files if r.endswith(".parquet"))
    for name, sha in shards.items():
        assert sha == hashlib.sha256((d.path / name).read_bytes()).hexdigest()
    assert run_cli(capsys, "verify", "fer2013").code == 0
