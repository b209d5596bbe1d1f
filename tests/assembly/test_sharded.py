"""The sharded build: the same corpus for any worker count, chunk size and engine;
a kill -9 mid-build keeps the earlier corpus."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from facedata.assemble.dedup import Deduper
from facedata.assemble.merge import STAGING, Merger
from facedata.assemble.pipeline import Tally, build
from facedata.assemble.recipe import Recipe
from facedata.assemble.splits import LeakCheck
from facedata.assemble.tasks import ChunkResult
from facedata.corpus import LabelCodec, arrow_schema
from facedata.fetch import fetch_dataset
from facedata.manifest.catalog import Catalog
from tests.fixtures import layouts
from tests.helpers.cli import run_cli
from tests.helpers.extras import needs
from tests.helpers.manifests import write_local_copy

SRC = Path(__file__).resolve().parents[2] / "src"
DATASETS = ["genki4k", "fer2013-local", "celeba-local"]


def _local_copies(folder: Path, ids: list[str]) -> Path:
    """Copies of real manifests with a `manual` source, so `--from FOLDER` registers
    the generated files and the real readers run on them."""
    for base in ids:
        write_local_copy(folder, base, f"{base}-local", "the test")
    return folder


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """GENKI (detected JPEGs), FER2013 (CSV pixels) and CelebA (landmarks): fixtures
    made from two photos, so near duplicates turn up across tasks."""
    tmp = tmp_path_factory.mktemp("sharded")
    src = tmp / "src"
    layouts.make_genki4k(src / "genki4k")
    layouts.make_fer2013(src / "fer2013")
    with open(src / "fer2013" / "fer2013" / "fer2013.csv", "a") as fh:
        # pixels are parsed by the workers: a bad row is a counted drop there
        fh.write("3," + " ".join(["300"] * 2304) + ",Training\n")
    layouts.make_celeba(src / "celeba", n=12)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FACEDATA_HOME", str(tmp / "home"))
        cat = Catalog.load()
        tar = tmp / "genki4k.tar"
        with tarfile.open(tar, "w") as tf:
            for f in sorted((src / "genki4k").rglob("*")):
                tf.add(f, arcname=f.relative_to(src / "genki4k").as_posix(), recursive=False)
        fetch_dataset(cat.get("genki4k"), from_path=tar)
        manifests = _local_copies(tmp / "manifests", ["fer2013", "celeba"])
        cat = Catalog.load([manifests])
        for ds in DATASETS[1:]:
            fetch_dataset(cat.get(ds), from_path=src / ds.removesuffix("-local"))
        base = Recipe(
            datasets=DATASETS,
            out=tmp / "out" / "w1",
            workers=1,
            batch_size=5,  # many chunks, and duplicates in other chunks than their first copy
            shard_rows=7,  # several shards per split
            near_dup_distance=4,
            manifests=[manifests],
        )
        corpus = build(base)
        yield {"tmp": tmp, "base": base, "corpus": corpus, "mp": mp}


def _shards(out: Path) -> dict[str, list[dict]]:
    """Every shard's full rows (image bytes included), by shard file name."""
    return {f.name: pq.read_table(f).to_pylist() for f in sorted((out / "data").glob("*.parquet"))}


SAME = ("counts", "dedup", "drops", "leaks", "labels", "detector", "datasets", "image_errors")


def _same_corpus(a: dict, b: dict, out_a: Path, out_b: Path) -> None:
    for key in SAME:
        assert a[key] == b[key], key
    assert [(s["path"], s["rows"]) for s in a["shards"]] == [
        (s["path"], s["rows"]) for s in b["shards"]
    ]
    assert _shards(out_a) == _shards(out_b)
    assert not (out_b / STAGING).exists()


def test_the_fixture_exercises_dedup_and_several_shards(world) -> None:
    c = world["corpus"]
    assert c["counts"]["total"] > 20
    assert c["dedup"]["exact"] + c["dedup"]["near"] > 0, c["dedup"]
    assert len(c["shards"]) >= 4
    assert len({s["path"].split("-")[0] for s in c["shards"]}) >= 2  # several splits
    bad = [e for e in c["image_errors"] if e["reason"] == "bad pixels"]
    assert [e["where"] for e in bad] == ["fer2013.csv:16"], c["image_errors"]


@pytest.mark.parametrize(("workers", "batch"), [(2, 3), (2, 64), (1, 1)])
def test_same_corpus_for_any_workers_and_chunk_size(world, workers, batch) -> None:
    out = world["tmp"] / "out" / f"w{workers}-b{batch}"
    recipe = world["base"].model_copy(update={"out": out, "workers": workers, "batch_size": batch})
    c = build(recipe)
    _same_corpus(world["corpus"], c, world["base"].out, out)


@needs("ray")
@pytest.mark.parametrize("files", [True, False], ids=["one-node-files", "object-store"])
def test_ray_engine_builds_the_same_corpus(world, files, monkeypatch) -> None:
    """A local Ray instance is one node, the driver's: shards go through files, tasks
    pinned there. Told it is a cluster, the same build keeps partial shards in the
    object store and returns final shards as bytes: the corpus is the same."""
    import facedata.assemble.engines as engines

    out = world["tmp"] / "out" / f"ray-{files}"
    recipe = world["base"].model_copy(
        update={"out": out, "workers": 2, "batch_size": 4, "engine": "ray"}
    )
    world["mp"].delenv("RAY_ADDRESS", raising=False)
    made: list = []
    real = engines.RayEngine.__init__

    def init(self, *a, **kw):  # noqa: ANN002, ANN003, ANN202
        real(self, *a, **kw)
        made.append(self.parts_in_memory)

    monkeypatch.setattr(engines.RayEngine, "__init__", init)
    if not files:
        monkeypatch.setattr(engines, "_single_node", lambda ray: False)
    c = build(recipe)
    assert c["recipe"]["engine"] == "ray"
    assert made == [not files]
    _same_corpus(world["corpus"], c, world["base"].out, out)


def test_cli_engine_and_workers_options(world, capsys) -> None:
    out = world["tmp"] / "out" / "cli"
    manifests = str(world["base"].manifests[0])
    r = run_cli(
        capsys,
        *["build", "--datasets", ",".join(DATASETS), "--out", str(out), "--workers", "2"],
        *["--engine", "local", "--manifests", manifests],
    )
    assert r.code == 0, r.err
    saved = json.loads((out / "corpus.json").read_text())
    assert saved["recipe"]["engine"] == "local" and saved["recipe"]["workers"] == 2
    assert saved["counts"] == world["corpus"]["counts"]
    bad = run_cli(capsys, "build", "--datasets", "genki4k", "--out", str(out), "--engine", "spark")
    assert bad.code != 0 and "Traceback" not in bad.err
    assert "engine" in bad.err


def test_kill_9_during_sharded_build_keeps_the_corpus_and_rerun_completes(world) -> None:
    out = world["tmp"] / "out" / "killed"
    shutil.copytree(world["base"].out, out)
    recipe = world["base"].model_copy(update={"out": out, "workers": 2, "batch_size": 2})
    (out / "recipe.yaml").write_text(recipe.to_yaml())
    before = {p.name: p.read_bytes() for p in (out / "data").glob("*.parquet")}
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    # --overwrite: the copied corpus is the same build, which would be up to date
    cmd = [sys.executable, "-m", "facedata", "build", str(out / "recipe.yaml"), "--overwrite"]
    proc = subprocess.Popen(
        cmd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # the pool's workers die with it, as in a crash
    )
    deadline = time.monotonic() + 120
    parts: list[Path] = []
    while time.monotonic() < deadline and not parts:
        parts = list(out.parent.glob(f".{out.name}.*.partial/{STAGING}/part-*.arrow"))
        time.sleep(0.01)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert parts, "the build never wrote a partial shard"
    after = {p.name: p.read_bytes() for p in (out / "data").glob("*.parquet")}
    assert after == before
    json.loads((out / "corpus.json").read_text())
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert not list(out.parent.glob(f".{out.name}.*"))
    again = json.loads((out / "corpus.json").read_text())
    assert again["counts"] == world["corpus"]["counts"]
    assert _shards(out) == _shards(world["base"].out)


def _light(key: str, split: str, sha: str) -> dict:
    return {
        "dataset": "d",
        "key": key,
        "split": split,
        "subject_id": None,
        "sha256": sha,
        "phash": None,
        "align_status": "detected",
        "smile": 1,
        "expression": None,
        "smile_derived": False,
    }


def test_merger_keeps_first_copies_in_stream_order_and_cuts_shards() -> None:
    m = Merger(Deduper(0), LeakCheck(), Tally(), max_listed=10)
    m.add(ChunkResult(0, "a", [_light("k0", "train", "s0"), _light("k1", "test", "s1")]))
    m.add(ChunkResult(1, "b", [_light("k2", "train", "s1"), _light("k3", "train", "s3")]))
    m.add(ChunkResult(2, "c", [_light(f"k{i}", "train", f"x{i}") for i in range(4, 9)]))
    assert m.dedup.exact_dupes == 1
    codec = LabelCodec(["happy"])
    tasks = m.shard_tasks(Path("/corpus"), 3, arrow_schema(["happy"], "RGB"), codec)
    train = [t for t in tasks if t.split == "train"]
    assert [t.rel for t in train] == [f"data/train-0000{i}-of-00003.parquet" for i in range(3)]
    flat = [[(p, list(map(int, idx))) for p, idx in t.pieces] for t in train]
    assert flat == [[("a", [0]), ("b", [1]), ("c", [0])], [("c", [1, 2, 3])], [("c", [4])]]
    assert [t.rel for t in tasks if t.split == "test"] == ["data/test-00000-of-00001.parquet"]
    assert isinstance(train[0].pieces[0][1], np.ndarray)
