"""A corpus built to s3:// reads back identical to the same build made locally."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from facedata.corpus import CORPUS_JSON
from tests.cli.conftest import World
from tests.helpers.cli import run_cli
from tests.helpers.extras import needs
from tests.storage.conftest import S3, SECRET

pytestmark = needs("moto", "boto3")
URL = "s3://faces-bucket/corpora/smile"
POSE = ("yaw", "pitch", "roll")


def _tables(root: Path) -> dict[str, object]:
    record = json.loads((root / CORPUS_JSON).read_text())
    return {s["path"]: pq.read_table(root / s["path"]) for s in record["shards"]}


def test_build_to_s3_reads_back_as_the_local_build(
    world: World, home: Path, s3: S3, tmp_path: Path, capsys
):
    local = tmp_path / "local"
    res = run_cli(capsys, "build", str(world.recipe(tmp_path / "a.yaml", local)))
    assert res.code == 0, res.err
    res = run_cli(capsys, "build", str(world.recipe(tmp_path / "b.yaml", URL)))
    assert res.code == 0, res.err
    assert URL in res.out

    keys = s3.objects("corpora/smile/")
    assert "corpora/smile/corpus.json" in keys
    remote = json.loads(s3.get("corpora/smile/corpus.json"))
    version = remote["storage"]["version"]
    assert all(s["path"].startswith(f"v/{version}/data/") for s in remote["shards"])
    assert remote["recipe"]["out"] == URL
    # the registry lists the URL, not the private folder the build ran in
    registry = (home / "corpora.json").read_text()
    assert URL in registry and ".build." not in registry
    assert SECRET not in registry and SECRET not in json.dumps(remote)
    assert SECRET not in res.out + res.err
    recipe = s3.get(f"corpora/smile/v/{version}/recipe.yaml").decode()
    assert f"out: {URL}" in recipe and ".build." not in recipe

    from facedata import storage

    with storage.local_corpus(URL) as staged:
        got, want = _tables(staged), _tables(local)
        assert got.keys() == want.keys()
        for name, table in want.items():
            assert got[name].schema == table.schema
            for column in table.column_names:
                if column in POSE:  # head pose is estimated in float32: two builds may differ
                    a = got[name][column].to_numpy(zero_copy_only=False).astype(float)
                    b = table[column].to_numpy(zero_copy_only=False).astype(float)
                    assert np.allclose(a, b, atol=1e-3, equal_nan=True), (name, column)
                else:
                    assert got[name][column].equals(table[column]), (name, column)
        record = json.loads((staged / CORPUS_JSON).read_text())
    mine = json.loads((local / CORPUS_JSON).read_text())
    assert record["counts"] == mine["counts"]
    assert [s["sha256"] for s in record["shards"]] == [s["sha256"] for s in mine["shards"]]


def test_same_build_again_is_up_to_date(world: World, home: Path, s3: S3, tmp_path: Path, capsys):
    recipe = world.recipe(tmp_path / "r.yaml", URL)
    assert run_cli(capsys, "build", str(recipe)).code == 0
    first = s3.get("corpora/smile/corpus.json")
    res = run_cli(capsys, "build", str(recipe))
    assert res.code == 0, res.err
    assert "up to date" in res.out
    assert s3.get("corpora/smile/corpus.json") == first
    res = run_cli(capsys, "build", str(recipe), "--seed", "5")
    assert res.code == 1
    assert "--overwrite" in res.err and URL in res.err and ".build." not in res.err
    res = run_cli(capsys, "build", str(recipe), "--seed", "5", "--overwrite")
    assert res.code == 0, res.err
    second = json.loads(s3.get("corpora/smile/corpus.json"))
    assert second["id"] == json.loads(first)["id"]  # a rebuild is the same corpus
    # the replaced version's objects are gone once the new record is in
    versions = {k.split("/")[3] for k in s3.objects("corpora/smile/v/")}
    assert versions == {second["storage"]["version"]}


def test_a_published_local_corpus_stages_byte_for_byte(
    world: World, home: Path, s3: S3, tmp_path: Path, capsys
):
    from facedata import storage

    local = tmp_path / "local"
    assert run_cli(capsys, "build", str(world.recipe(tmp_path / "a.yaml", local))).code == 0
    storage.publish(local, URL)
    with storage.local_corpus(URL) as staged:
        for item in local.rglob("*"):
            rel = item.relative_to(local)
            if item.is_file() and rel.as_posix() != CORPUS_JSON and not rel.name.startswith("."):
                assert (staged / rel).read_bytes() == item.read_bytes(), rel
        again = json.loads((staged / CORPUS_JSON).read_text())
    mine = json.loads((local / CORPUS_JSON).read_text())
    assert again["shards"] == mine["shards"]
    assert {k: v for k, v in again.items() if k not in ("storage", "recipe")} == {
        k: v for k, v in mine.items() if k != "recipe"
    }


def test_a_failed_publish_leaves_no_trace(
    world: World, home: Path, s3: S3, tmp_path: Path, capsys, monkeypatch
):
    from facedata.storage import StorageError, build

    def fails(local: Path, url: object, **kw: object) -> str:
        raise StorageError("cannot write s3://faces-bucket/x: connection reset", hint="retry")

    monkeypatch.setattr(build, "publish", fails)
    res = run_cli(capsys, "build", str(world.recipe(tmp_path / "r.yaml", URL + "-failed")))
    assert res.code == 1 and "connection reset" in res.err and "Traceback" not in res.err
    assert s3.objects("corpora/smile-failed") == []
    registry = (home / "corpora.json").read_text()
    assert ".build." not in registry and "smile-failed" not in registry
    assert not list((home / "remote").glob(".build.*"))
