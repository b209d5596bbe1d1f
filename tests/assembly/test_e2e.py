"""End to end: fixtures served over loopback HTTP, fetched, built, reloaded.

The real manifests are used unchanged; `FACEDATA_MIRROR` points the real fetch code
at a local server holding archives in each dataset's exact native layout.
"""

from __future__ import annotations

import importlib.util
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import time
import zipfile
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from facedata.assemble.pipeline import build
from facedata.assemble.recipe import Recipe
from facedata.corpus import iter_rows
from facedata.errors import PolicyError
from facedata.fetch import fetch_dataset
from facedata.manifest.catalog import Catalog
from tests.fixtures import layouts
from tests.helpers.cli import run_cli
from tests.helpers.extras import needs
from tests.helpers.servers import serve_files


def _tar(root: Path) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        for p in sorted(root.rglob("*")):
            tf.add(p, arcname=p.relative_to(root).as_posix(), recursive=False)
    return buf.getvalue()


def _zip(root: Path) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for p in sorted(root.rglob("*")):
            zf.write(p, p.relative_to(root).as_posix())
    return buf.getvalue()


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """Fetch genki4k and smilesmiled over HTTP, register fer2013 from a folder."""
    tmp = tmp_path_factory.mktemp("e2e")
    src = tmp / "src"
    exp = {
        "genki4k": layouts.make_genki4k(src / "genki4k"),
        "smilesmiled": layouts.make_smilesmiled(src / "smilesmiled"),
        "fer2013-folders": layouts.make_fer2013_folders(src / "fer2013-folders"),
    }
    # Deliberate cross-dataset exact duplicates of GENKI images (GENKI is read first):
    genki = {n: sorted(exp["genki4k"].root.rglob(f"file{n:04d}.jpg"))[0] for n in (1, 2, 10)}
    positives = next((src / "smilesmiled").rglob("positives7"))
    negatives = next((src / "smilesmiled").rglob("negatives7"))
    shutil.copy(genki[1], positives / "99999.jpg")  # smile 1 again: agrees, nothing to merge
    shutil.copy(genki[2], negatives / "99998.jpg")  # smile 1 vs 0: a conflict
    happy = src / "fer2013-folders" / "train" / "happy"
    shutil.copy(genki[10], happy / "Training_9999.jpg")  # expression for a smile-only row
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FACEDATA_HOME", str(tmp / "home"))
        mp.setenv("NO_PROXY", "127.0.0.1,localhost")
        files = {
            "genki4k/genki4k.tar": _tar(src / "genki4k"),
            "smilesmiled/master.zip": _zip(src / "smilesmiled"),
        }
        with serve_files(files) as url:
            mp.setenv("FACEDATA_MIRROR", url)
            cat = Catalog.load()
            fetched = {
                "genki4k": fetch_dataset(cat.get("genki4k")),
                "smilesmiled": fetch_dataset(cat.get("smilesmiled")),
            }
        fetched["fer2013-folders"] = fetch_dataset(
            cat.get("fer2013-folders"), from_path=src / "fer2013-folders"
        )
        out = tmp / "out" / "smile-v1"
        corpus = build(
            Recipe(
                datasets=["genki4k", "smilesmiled", "fer2013-folders"], out=out, near_dup_distance=0
            ),
            argv=["facedata", "build", "--datasets", "genki4k,smilesmiled,fer2013-folders"],
        )
        yield {"tmp": tmp, "out": out, "corpus": corpus, "exp": exp, "fetched": fetched, "mp": mp}


def _rows(out: Path) -> list[dict]:
    cols = ["dataset", "key", "split", "smile", "expression", "smile_derived", "align_status"]
    return list(iter_rows(out, cols))  # labels by name


MERGED = "files/file0010.jpg"  # GENKI smile 0, its copy in FER says happy
CONFLICT = "files/file0002.jpg"  # GENKI smile 1, its copy in SMILEsmileD says 0


def test_rows_labels_and_splits_match_the_fixtures(world):
    rows, corpus, exp = _rows(world["out"]), world["corpus"], world["exp"]
    face_drops = {k: v["count"] for k, v in corpus["drops"].items() if ": face: " in k}
    assert not any(k.startswith("image:") for k in corpus["drops"]), corpus["drops"]
    assert corpus["dedup"]["exact"] == 3, corpus["drops"]
    kept = {ds: e.kept for ds, e in exp.items()}
    expected_total = sum(len(k) for k in kept.values()) + 3  # + the re-filed duplicates read
    assert len(rows) == corpus["counts"]["total"]
    assert len(rows) + sum(face_drops.values()) + 3 == expected_total
    assert sum(face_drops.values()) <= 2, face_drops  # real faces: the detector finds them
    for r in rows:
        if r["key"].endswith(("99999.jpg", "99998.jpg", "Training_9999.jpg")):
            pytest.fail(f"the exact duplicate {r['key']} was written")
        e = kept[r["dataset"]][r["key"]]
        if r["key"] == MERGED:
            assert (r["smile"], r["expression"]) == (0, "happy"), r
            continue
        if r["key"] == CONFLICT:
            assert (r["smile"], r["expression"]) == (None, None), r  # neither copy trusted
            continue
        assert (r["smile"], r["expression"]) == (e.smile, e.expression), r
        assert r["smile_derived"] is False
        if e.split:  # the source's own split wins
            assert r["split"] == e.split
    # smile and expression never mixed: GENKI/SMILES fill smile only, FER expression only
    # (except the row that gained FER's expression from its duplicate, and says so)
    others = [r for r in rows if r["dataset"] != "fer2013-folders" and r["key"] != MERGED]
    assert all(r["expression"] is None for r in others)
    assert all(r["smile"] is None for r in rows if r["dataset"] == "fer2013-folders")


def test_duplicates_merge_heads_and_record_conflicts(world):
    corpus, out = world["corpus"], world["out"]
    cols = ["dataset", "key", "smile", "expression", "merged_from", "label_conflict"]
    rows = {r["key"]: r for r in iter_rows(out, cols)}
    merged = rows[MERGED]
    assert merged["merged_from"] == ["fer2013-folders/train/happy/Training_9999.jpg"]
    assert merged["label_conflict"] is None
    conflict = rows[CONFLICT]
    assert conflict["label_conflict"] == ["smile"]
    assert conflict["merged_from"] == ["smilesmiled/negatives/negatives7/99998.jpg"]
    dedup = corpus["dedup"]
    assert dedup["merged"] == {"expression": 1} and dedup["conflicts"] == {"smile": 1}
    assert dedup["conflict_policy"].startswith("void")
    assert {(e["kind"], e["head"]) for e in dedup["examples"]} == {
        ("merge", "expression"),
        ("conflict", "smile"),
    }
    flags = corpus["counts"]["flags"]
    assert flags["merged"] == 2 and flags["label_conflict"] == 1
    # the counts and head statistics follow the merged labels, not the first copy's
    recount = {"smile": 0, "expression": 0}
    for r in rows.values():
        recount["smile"] += r["smile"] is not None
        recount["expression"] += r["expression"] is not None
    heads = corpus["heads"]
    assert sum(sum(c) for c in heads["smile"]["counts"].values()) == recount["smile"]
    assert sum(sum(c) for c in heads["expression"]["counts"].values()) == recount["expression"]


def test_loads_with_datasets_pandas_and_duckdb(world):
    datasets = pytest.importorskip("datasets")
    duckdb = pytest.importorskip("duckdb")
    out, counts = world["out"], world["corpus"]["counts"]
    ds = datasets.load_dataset("parquet", data_dir=str(out / "data"))
    assert {k: v.num_rows for k, v in ds.items()} == counts["splits"]
    features = ds["train"].features
    assert isinstance(features["expression"], datasets.ClassLabel)
    assert features["expression"].names == [
        "neutral",
        "happy",
        "sad",
        "surprise",
        "fear",
        "disgust",
        "anger",
        "contempt",
    ]
    assert features["smile"].names == ["no_smile", "smile"]
    assert features["image"].mode == "RGB"
    train = ds["train"]
    assert set(train["expression"]) <= set(range(-1, 8)) and set(train["smile"]) == {-1, 0, 1}
    # grey (FER, SMILEsmileD) and colour (GENKI) sources: one mode, so a batch stacks
    assert {img.mode for img in train["image"]} == {"RGB"}
    assert {img.size for img in train["image"]} == {(112, 112)}
    if importlib.util.find_spec("torch"):  # the failure a trainer hit: mixed modes never stacked
        import torch

        hf = train.select_columns(["image", "smile", "expression"]).with_format("torch")
        batch = next(iter(torch.utils.data.DataLoader(hf, batch_size=4)))
        assert batch["image"].shape[0] == 4 and batch["smile"].dtype == torch.int64
    # pandas: labels are integers (-1 = not said), never floats with NaN
    frame = pq.read_table(out / "data", columns=["smile", "expression", "dataset"]).to_pandas()
    assert str(frame["smile"].dtype) == "int64" and str(frame["expression"].dtype) == "int64"
    fer = frame[frame["dataset"] == "fer2013-folders"]
    assert (fer["smile"] == -1).all() and (fer["expression"] >= 0).all()
    got = dict(
        duckdb.sql(
            f"SELECT dataset, count(*) FROM read_parquet('{out}/data/*.parquet') GROUP BY dataset"
        ).fetchall()
    )
    assert got == {k: sum(v.values()) for k, v in counts["datasets"].items()}


def test_no_leak_between_splits(world):
    sha_split: dict[str, str] = {}
    for f in sorted((world["out"] / "data").glob("*.parquet")):
        for r in pq.read_table(f, columns=["sha256", "split"]).to_pylist():
            assert sha_split.setdefault(r["sha256"], r["split"]) == r["split"]
    assert world["corpus"]["leaks"] == []


def test_provenance_records_inputs_decisions_and_detector(world):
    c = json.loads((world["out"] / "corpus.json").read_text())
    by_id = {d["id"]: d for d in c["datasets"]}
    assert set(by_id) == {"genki4k", "smilesmiled", "fer2013-folders"}
    genki_inputs = by_id["genki4k"]["inputs"]
    assert any(i["name"] == "genki4k.tar" and len(i["sha256"]) == 64 for i in genki_inputs)
    assert all(d["admitted"] for d in c["decisions"])
    assert c["purpose"] == "research"
    assert "non-commercial research only" in c["license"]["statement"]
    assert c["detector"]["weights_sha256"] == [
        "b7a7acab55e104dce6f32cdfff929bd83946da5cd869b9e2e9bdffafd1b7e4a5"
    ]
    assert c["command"][:2] == ["facedata", "build"]
    assert c["counts"]["total"] == sum(s["rows"] for s in c["shards"])
    for name in (
        "references.bib",
        "CITATION.cff",
        "ATTRIBUTION.md",
        "croissant.json",
        "README.md",
        "recipe.yaml",
    ):
        assert (world["out"] / name).is_file(), name
    assert (
        "http://mplab.ucsd.edu, The MPLab GENKI-4K Dataset."
        in (world["out"] / "ATTRIBUTION.md").read_text()
    )


def test_commercial_build_refuses_every_public_set(world, capsys):
    with pytest.raises(PolicyError) as info:
        build(
            Recipe(
                datasets=["genki4k", "smilesmiled", "fer2013-folders"],
                purpose="commercial",
                out=world["tmp"] / "out" / "commercial",
            )
        )
    msg = info.value.message
    for ds in ("genki4k", "smilesmiled", "fer2013-folders"):
        assert ds in msg
    assert "terms:" in msg and "fail closed" in msg
    assert not (world["tmp"] / "out" / "commercial").exists()
    res = run_cli(
        capsys,
        "build",
        "--commercial",
        "--datasets",
        "genki4k,fer2013-folders",
        "--out",
        str(world["tmp"] / "out" / "commercial"),
    )
    assert res.code != 0 and "refuses every requested source" in res.err
    assert "a commercial corpus needs sources whose license allows commercial use" in res.err


def test_cleared_source_is_admitted_and_recorded(world):
    clear = world["tmp"] / "clearances.yaml"
    clear.write_text(
        "clearances:\n  - dataset: genki4k\n    cleared_by: Legal team\n"
        "    evidence: license agreement MPL-2026-7\n    expires: 2099-12-31\n"
        "  - detector: retinaface-mnet025\n    cleared_by: Legal team\n"
        "    evidence: WIDER FACE review WF-2026-2\n    expires: 2099-12-31\n"
    )
    out = world["tmp"] / "out" / "cleared"
    c = build(
        Recipe(
            datasets=["genki4k", "fer2013-folders"],
            purpose="commercial",
            out=out,
            clearances=clear,
            near_dup_distance=0,
        )
    )
    assert [d["id"] for d in c["datasets"]] == ["genki4k"]
    refused = [d for d in c["decisions"] if not d["admitted"]]
    assert [d["dataset"] for d in refused] == ["fer2013-folders"]
    saved = json.loads((out / "corpus.json").read_text())
    assert saved["clearances"][0]["evidence"] == "license agreement MPL-2026-7"
    assert {r["dataset"] for r in _rows(out)} == {"genki4k"}


def test_recipe_rebuilds_the_same_rows(world):
    out2 = world["tmp"] / "out" / "rebuild"
    recipe = Recipe.model_validate(
        {**json.loads(json.dumps(world["corpus"]["recipe"])), "out": str(out2)}
    )
    c2 = build(recipe)
    key = lambda r: (r["dataset"], r["key"])  # noqa: E731
    assert sorted(_rows(out2), key=key) == sorted(_rows(world["out"]), key=key)
    assert c2["counts"] == world["corpus"]["counts"]


def test_kill_during_build_keeps_old_corpus_and_rerun_completes(world):
    out = world["out"]
    before = {p.name: p.read_bytes() for p in (out / "data").glob("*.parquet")}
    src = Path(__file__).resolve().parents[2] / "src"  # this checkout's code, not an install
    env = {**os.environ, "PYTHONPATH": str(src)}
    cmd = [sys.executable, "-m", "facedata", "build", str(out / "recipe.yaml")]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not list(out.parent.glob(f".{out.name}.*.partial")):
        time.sleep(0.02)
    time.sleep(0.3)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    after = {p.name: p.read_bytes() for p in (out / "data").glob("*.parquet")}
    assert after == before  # the earlier corpus is intact
    json.loads((out / "corpus.json").read_text())
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert not list(out.parent.glob(f".{out.name}.*"))  # leftovers cleaned
    assert json.loads((out / "corpus.json").read_text())["counts"] == world["corpus"]["counts"]


def test_two_workers_write_the_same_corpus(world):
    out2 = world["tmp"] / "out" / "two-workers"
    recipe = {**world["corpus"]["recipe"], "out": str(out2), "workers": 2, "batch_size": 4}
    c2 = build(Recipe.model_validate(recipe))
    key = lambda r: (r["dataset"], r["key"])  # noqa: E731
    assert sorted(_rows(out2), key=key) == sorted(_rows(world["out"]), key=key)
    assert c2["counts"] == world["corpus"]["counts"]
    assert c2["detector"] == world["corpus"]["detector"]


@needs("torch")
def test_dataloader_batches_a_corpus_of_grey_and_colour_sources(world):
    import torch

    from facedata.learn.dataset import load

    out = world["out"]
    ds = load(out, "train")
    loader = torch.utils.data.DataLoader(ds, batch_size=4, shuffle=True)
    seen = {"smile": 0, "expression": 0, "rows": 0}
    for batch in loader:
        assert batch["image"].shape[1:] == (3, 112, 112) and batch["image"].dtype == torch.float32
        assert ((batch["smile"] >= 0) == batch["smile_mask"]).all()
        assert ((batch["expression"] >= 0) == batch["expression_mask"]).all()
        seen["rows"] += len(batch["smile"])
        seen["smile"] += int(batch["smile_mask"].sum())
        seen["expression"] += int(batch["expression_mask"].sum())
    heads = world["corpus"]["heads"]
    assert seen["rows"] == world["corpus"]["counts"]["splits"]["train"]
    assert seen["smile"] == sum(heads["smile"]["counts"]["train"])
    assert seen["expression"] == sum(heads["expression"]["counts"]["train"])
    # the streaming form reads the same rows, shards split across workers
    stream = load(out, "train", streaming=True, shuffle=True, buffer=3)
    keys = sorted(int(b["smile"]) for b in stream)
    assert keys == sorted(int(ds[i]["smile"]) for i in range(len(ds)))


@needs("torch", "onnx")
def test_train_and_predict_on_the_built_corpus(world, capsys):
    from tests.helpers.photos import face_variant

    model = world["tmp"] / "models" / "smile-v1"
    res = run_cli(
        capsys, "train", str(world["out"]), "--out", str(model), "--epochs", "2",
        "--batch-size", "8", "--width", "8", "--threads", "1",
    )  # fmt: skip
    assert res.code == 0, res.err
    metrics = json.loads((model / "metrics.json").read_text())
    assert metrics["corpus"]["validation"] == "corpus split"
    assert metrics["corpus"]["subject_overlap"] == 0
    assert metrics["image"] == {"mode": "RGB", "size": 112, "channels": 3}
    photo = world["tmp"] / "someone.jpg"
    face_variant(7, (260, 300)).save(photo)
    res = run_cli(capsys, "predict", str(model), str(photo))
    assert res.code == 0, res.err
    lines = res.out.splitlines()
    assert lines[0].startswith("smile:") and "threshold 0.80" in lines[0]
    assert lines[-1].startswith("verdict:")


def test_a_refused_research_build_says_research(world, capsys):
    """The refusal's hint names the purpose the build asked for, not always commercial."""
    import yaml

    manifests = world["tmp"] / "mirror-only"
    manifests.mkdir(exist_ok=True)
    data = yaml.safe_load(Catalog.load().get("genki4k").path.read_text(encoding="utf-8"))
    data["id"] = "genki-mirror-only"
    for source in data["sources"]:
        source["official"] = False  # a re-upload: --official-only refuses it for research too
    (manifests / "genki-mirror-only.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    src = world["tmp"] / "src" / "genki4k"
    res = run_cli(
        capsys, "fetch", "genki-mirror-only", "--manifests", str(manifests), "--from", str(src)
    )
    assert res.code == 0, res.err
    out = world["tmp"] / "out" / "research-mirror"
    res = run_cli(
        capsys,
        "build",
        "--datasets",
        "genki-mirror-only",
        "--manifests",
        str(manifests),
        "--out",
        str(out),
        "--official-only",
    )
    assert res.code != 0 and "refuses every requested source" in res.err
    assert "a research corpus needs sources whose license allows research use" in res.err
    assert "commercial" not in res.err.split("hint:", 1)[-1]
    assert not out.exists()
