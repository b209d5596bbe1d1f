"""A Hub snapshot taken with --from is pinned like a Hub fetch: one sha256 per Parquet
shard, and the commit when the Hub cache's snapshots/<commit>/ folder names it
(huggingface_hub file_download.py lays the cache out that way)."""

from __future__ import annotations

import hashlib

from facedata.fetch.store import get_source_lock
from facedata.manifest.catalog import Catalog
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


def test_a_snapshot_link_leading_anywhere_but_its_blobs_is_refused(tmp_path, capsys):
    """Only the Hub cache's own links (snapshots/<commit>/f -> ../../blobs/h) are
    followed: a link to a file outside the repository refuses the folder as before."""
    d = shapes.fer2013_hf_cache(tmp_path / "made")
    outside = tmp_path / "secret.txt"
    outside.write_text("not a dataset file\n")
    (d.path / "notes.txt").symlink_to(outside)
    res = run_cli(capsys, "fetch", "fer2013", "--source", "hf-autumnqiu", "--from", str(d.path))
    assert res.code == 1
    assert "notes.txt is a link to" in " ".join(res.err.split()), res.err
    assert "Traceback" not in res.err
    (d.path / "notes.txt").unlink()
    blob = next((d.path.parent.parent / "blobs").iterdir())
    blob.unlink()
    blob.symlink_to(outside)  # a blob that is itself a link out
    res = run_cli(capsys, "fetch", "fer2013", "--source", "hf-autumnqiu", "--from", str(d.path))
    assert res.code == 1 and "is a link to" in " ".join(res.err.split()), res.err
