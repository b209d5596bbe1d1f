"""A build through a Ray cluster of two nodes on this machine.

Each node has one CPU and its own temporary folder (its own object store, logs and
spill folder); the nodes are started without this checkout on their import path and
the build ships its facedata package to them (runtime_env py_modules). Partial
shards stay in the object store and final shards come back to the driver as bytes,
so the only files a worker opens are the cache's inputs. The corpus must be the
local engine's, row for row and byte for byte.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from facedata.assemble import merge
from facedata.assemble.engines import RayEngine, _package_dir
from facedata.assemble.merge import STAGING
from facedata.assemble.pipeline import build
from facedata.assemble.recipe import Recipe
from facedata.fetch import fetch_dataset
from facedata.manifest.catalog import Catalog
from tests.fixtures import layouts
from tests.helpers.cli import run_cli
from tests.helpers.extras import needs
from tests.helpers.manifests import write_local_copy

pytestmark = needs("ray")

DATASETS = ["fer2013-local", "celeba-local"]
SAME = ("counts", "dedup", "drops", "leaks", "labels", "datasets", "image_errors")


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """FER2013 (CSV pixels, read by the workers) and CelebA (JPEGs + landmarks), built
    once on the local engine as the reference."""
    tmp = tmp_path_factory.mktemp("cluster")
    src = tmp / "src"
    layouts.make_fer2013(src / "fer2013")
    layouts.make_celeba(src / "celeba", n=12)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FACEDATA_HOME", str(tmp / "home"))
        mp.delenv("RAY_ADDRESS", raising=False)
        for base in ("fer2013", "celeba"):
            write_local_copy(tmp / "manifests", base, f"{base}-local", "the test")
        cat = Catalog.load([tmp / "manifests"])
        for ds in DATASETS:
            fetch_dataset(cat.get(ds), from_path=src / ds.removesuffix("-local"))
        recipe = Recipe(
            datasets=DATASETS,
            out=tmp / "out" / "local",
            workers=1,
            batch_size=3,  # several chunks per node
            shard_rows=5,
            near_dup_distance=4,
            manifests=[tmp / "manifests"],
        )
        yield {"tmp": tmp, "recipe": recipe, "corpus": build(recipe), "mp": mp}


@pytest.fixture(scope="module")
def cluster(s3_server):
    """Head (1 CPU) + one more node (1 CPU), each with its own temporary folder; the
    nodes' processes do not see this checkout (no PYTHONPATH). Each node is started
    with the object store's credentials in its environment, as a real node finds them
    (and nothing else of the store: its endpoint comes with each task)."""
    from ray.cluster_utils import Cluster

    from tests.storage.conftest import KEY_ID, SECRET

    saved = os.environ.pop("PYTHONPATH", None)
    keys = pytest.MonkeyPatch()
    keys.setenv("AWS_ACCESS_KEY_ID", KEY_ID)
    keys.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    keys.delenv("AWS_ENDPOINT_URL", raising=False)
    folders = [tempfile.mkdtemp(prefix="fdray", dir="/tmp") for _ in range(2)]  # short: sockets
    c = Cluster(
        initialize_head=True,
        head_node_args={"num_cpus": 1, "temp_dir": folders[0], "include_dashboard": False},
    )
    try:
        c.add_node(num_cpus=1, temp_dir=folders[1])
        c.wait_for_nodes()
        keys.undo()
        yield c
    finally:
        keys.undo()
        c.shutdown()
        if saved is not None:
            os.environ["PYTHONPATH"] = saved
        import shutil

        for f in folders:
            shutil.rmtree(f, ignore_errors=True)


def _rows(out: Path) -> dict[str, list[dict]]:
    return {f.name: pq.read_table(f).to_pylist() for f in sorted((out / "data").glob("*.parquet"))}


def _through_cluster(cluster, monkeypatch, home: Path) -> tuple[list[RayEngine], list[str]]:
    """Builds from here on join `cluster` and ship facedata; returns the engines they
    make and, per node, where its workers imported facedata from."""
    import ray
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    engines: list[RayEngine] = []
    shipped: list[str] = []

    def get_engine(*args, **kwargs):
        engine = real(*args, **kwargs)
        engines.append(engine)
        # where each node's workers import facedata from: the package the driver
        # shipped. This also starts a worker on each node before the first chunk, so
        # that this small build's short tasks do not all finish on the first node
        # while the second one is still starting its worker.
        for node in cluster.list_all_nodes():
            on = NodeAffinitySchedulingStrategy(node.node_id, soft=False)
            probe = ray.remote(num_cpus=1, scheduling_strategy=on)(_package_dir)
            shipped.append(ray.get(probe.remote()))
        return engine

    real = merge.get_engine
    monkeypatch.setattr(merge, "get_engine", get_engine)
    monkeypatch.setenv("RAY_ADDRESS", cluster.address)
    monkeypatch.setenv(RayEngine.SHIP_CODE, "1")
    monkeypatch.setenv("FACEDATA_HOME", str(home))
    return engines, shipped


def _ran_on_both_nodes(cluster, engines: list[RayEngine], shipped: list[str]) -> None:
    import ray

    (engine,) = engines
    assert engine.workers == 2  # the cluster's CPUs
    assert len(engine.nodes) == 2, engine.nodes  # chunk and shard tasks ran on both nodes
    assert {n.node_id for n in cluster.list_all_nodes()} == set(engine.nodes)
    # not this checkout, nor an install
    assert len(shipped) == 2 and all("runtime_resources" in p for p in shipped), shipped
    assert not ray.is_initialized()  # the build left the cluster as it found it


def test_two_node_cluster_builds_the_local_corpus(world, cluster, monkeypatch) -> None:
    engines, shipped = _through_cluster(cluster, monkeypatch, world["tmp"] / "home")
    out = world["tmp"] / "out" / "cluster"
    recipe = world["recipe"].model_copy(update={"out": out, "workers": 2, "engine": "ray"})

    c = build(recipe)

    _ran_on_both_nodes(cluster, engines, shipped)
    a = world["corpus"]
    for key in SAME:
        assert c[key] == a[key], key
    assert [(s["path"], s["rows"], s["sha256"]) for s in c["shards"]] == [
        (s["path"], s["rows"], s["sha256"]) for s in a["shards"]
    ]
    assert _rows(out) == _rows(world["recipe"].out)
    assert not (out / STAGING).exists()


def test_two_node_cluster_builds_onto_object_storage(
    world, cluster, s3, monkeypatch, capsys, tmp_path
) -> None:
    """`--out s3://…` (an S3-compatible server on 127.0.0.1) through the cluster: the
    published corpus reads back as the local engine's local build."""
    from facedata import storage

    engines, shipped = _through_cluster(cluster, monkeypatch, world["tmp"] / "home")
    url = f"s3://{s3.bucket}/cluster/corpus"
    text = world["recipe"].model_copy(update={"workers": 2, "engine": "ray"}).to_yaml()
    lines = [f"out: {url}" if line.startswith("out:") else line for line in text.splitlines()]
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text("\n".join(lines) + "\n")

    res = run_cli(capsys, "build", str(recipe))

    assert res.code == 0, res.err
    _ran_on_both_nodes(cluster, engines, shipped)
    assert "cluster/corpus/corpus.json" in s3.objects("cluster/")
    with storage.local_corpus(url) as staged:
        assert _rows(staged) == _rows(world["recipe"].out)
        record = json.loads((staged / "corpus.json").read_text())
    a = world["corpus"]
    for key in SAME:
        assert record[key] == a[key], key
    assert [s["sha256"] for s in record["shards"]] == [s["sha256"] for s in a["shards"]]


def test_two_node_cluster_builds_from_the_object_storage_cache(
    world, cluster, s3, monkeypatch, capsys, tmp_path
) -> None:
    """Inputs from the fetch cache on an S3-compatible server, the corpus onto it, through
    the cluster, driven from an EMPTY home: the corpus reads back as the local build.
    The driver's view holds zeros where the images are, so a worker that read a file
    the driver has, instead of the object on the store, would change the corpus."""
    from facedata import storage
    from facedata.storage.cachepush import push_tree

    cache = f"s3://{s3.bucket}/cluster/cache"
    monkeypatch.setenv("FACEDATA_HOME", str(world["tmp"] / "home"))
    for ds in DATASETS:
        push_tree(storage.parse(cache), ds, "local-copy")
    home = tmp_path / "empty-home"
    engines, shipped = _through_cluster(cluster, monkeypatch, home)
    url = f"s3://{s3.bucket}/cluster/corpus"
    update = {"workers": 2, "engine": "ray", "cache": cache}
    text = world["recipe"].model_copy(update=update).to_yaml()
    lines = [f"out: {url}" if line.startswith("out:") else line for line in text.splitlines()]
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text("\n".join(lines) + "\n")

    res = run_cli(capsys, "build", str(recipe))

    assert res.code == 0, res.err
    _ran_on_both_nodes(cluster, engines, shipped)
    assert not (home / "datasets").exists()  # nothing of the local cache: only views
    jpgs = list((home / "remote" / "cache").rglob("*.jpg"))
    assert len(jpgs) == 12 and all(set(p.read_bytes()) == {0} for p in jpgs)
    with storage.local_corpus(url) as staged:
        assert _rows(staged) == _rows(world["recipe"].out)
        record = json.loads((staged / "corpus.json").read_text())
    a = world["corpus"]
    for key in SAME:
        assert record[key] == a[key], key
    assert [s["sha256"] for s in record["shards"]] == [s["sha256"] for s in a["shards"]]
