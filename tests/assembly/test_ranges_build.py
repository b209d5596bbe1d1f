"""A build whose FER CSV is read in ranges by its workers is the build read on the
driver: the same shards (rows and image bytes), counts, drops, notes and consent
decisions, for 1 and 2 workers and the local and Ray engines; and the driver never
tokenizes the file."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import facedata.assemble.pipeline as pipeline
import facedata.read.pixels_csv as pixels_csv
from facedata.assemble.merge import STAGING
from facedata.assemble.pipeline import build
from facedata.assemble.recipe import Recipe
from facedata.consent.withdrawals import Admission, Withdrawal
from facedata.fetch import fetch_dataset
from facedata.manifest.catalog import Catalog
from facedata.read import cuts
from tests.assembly.test_sharded import _shards
from tests.fixtures import layouts
from tests.helpers.extras import needs
from tests.helpers.manifests import write_local_copy

DATASETS = ["fer2013-local", "celeba-local"]  # ranges, then a source read on the driver
SAME = (
    "counts",
    "dedup",
    "drops",
    "leaks",
    "labels",
    "datasets",
    "image_errors",
    "funnel",
    "consent",
    "withdrawals_applied",
    "forgotten",
)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ranges")
    src = tmp / "src"
    layouts.make_fer2013(src / "fer2013")
    csv = src / "fer2013" / "fer2013" / "fer2013.csv"
    rows = csv.read_text().splitlines()[1:]
    with open(csv, "a") as fh:
        fh.write("3," + " ".join(["300"] * 2304) + ",Training\n")  # bad pixels: a worker's drop
        fh.write("3,1 2 3\n")  # malformed row: a reader's drop
        fh.write("9," + rows[0].split(",")[1] + ",Training\n")  # unmapped code: a label drop
        for k, row in enumerate(rows[:9]):  # copies of earlier rows, in later ranges
            e, px, use = row.split(",")
            fh.write(f'{e},"{px}",{use}\n' if k % 2 else f"{row}\n")
        fh.write("\n")
    layouts.make_celeba(src / "celeba", n=8)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FACEDATA_HOME", str(tmp / "home"))
        mp.setattr(cuts, "MIN_RANGE", 1)  # ranges as small as batch_size asks, not 256 KiB
        manifests = tmp / "manifests"
        for base in ("fer2013", "celeba"):
            write_local_copy(manifests, base, f"{base}-local", "the test")
        cat = Catalog.load([manifests])
        for ds in DATASETS:
            fetch_dataset(cat.get(ds), from_path=src / ds.removesuffix("-local"))
        base = Recipe(
            datasets=DATASETS,
            out=tmp / "out" / "driver",
            workers=1,
            batch_size=4,  # many ranges
            shard_rows=7,
            near_dup_distance=4,
            manifests=[manifests],
        )
        mp.setattr(pipeline, "READ_IN_PARTS", False)
        on_driver = build(base)
        mp.setattr(pipeline, "READ_IN_PARTS", True)
        yield {"tmp": tmp, "base": base, "corpus": on_driver, "mp": mp}


def _same(a: dict, b: dict, out_a: Path, out_b: Path) -> None:
    for key in SAME:
        assert a[key] == b[key], key
    assert [(s["path"], s["rows"], s["sha256"]) for s in a["shards"]] == [
        (s["path"], s["rows"], s["sha256"]) for s in b["shards"]
    ]
    assert _shards(out_a) == _shards(out_b)
    assert not (out_b / STAGING).exists()


def test_the_fixture_exercises_every_kind_of_count(world) -> None:
    c = world["corpus"]
    drops = c["drops"]
    assert drops["fer2013-local: malformed row"]["stage"] == "reader"
    assert drops["fer2013-local: unmapped expression code '9'"]["stage"] == "labels"
    assert drops["fer2013-local: bad pixels"]["stage"] == "image"
    assert c["dedup"]["exact"] + c["dedup"]["near"] >= 9
    assert c["counts"]["total"] >= 16 and len(c["shards"]) >= 3


@pytest.mark.parametrize("workers", [1, 2])
def test_ranges_build_the_corpus_read_on_the_driver(world, workers) -> None:
    out = world["tmp"] / "out" / f"ranges-{workers}"
    c = build(world["base"].model_copy(update={"out": out, "workers": workers}))
    _same(world["corpus"], c, world["base"].out, out)


@needs("ray")
def test_ray_reads_ranges_into_the_same_corpus(world) -> None:
    out = world["tmp"] / "out" / "ranges-ray"
    world["mp"].delenv("RAY_ADDRESS", raising=False)
    c = build(world["base"].model_copy(update={"out": out, "workers": 2, "engine": "ray"}))
    assert c["recipe"]["engine"] == "ray"
    _same(world["corpus"], c, world["base"].out, out)


def test_the_driver_never_tokenizes_the_csv(world, monkeypatch) -> None:
    """Rows are made from the CSV only in the forked workers: in the driver the row
    function raises, and the build still succeeds (and fails reading on the driver)."""
    driver = os.getpid()
    real = pixels_csv._rows

    def rows_outside_the_driver(*args, **kwargs):
        if os.getpid() == driver:
            raise RuntimeError("the driver tokenized the CSV")
        yield from real(*args, **kwargs)

    monkeypatch.setattr(pixels_csv, "_rows", rows_outside_the_driver)
    out = world["tmp"] / "out" / "no-tokens"
    c = build(world["base"].model_copy(update={"out": out, "workers": 2}))
    _same(world["corpus"], c, world["base"].out, out)
    monkeypatch.setattr(pipeline, "READ_IN_PARTS", False)
    with pytest.raises(RuntimeError, match="tokenized"):
        build(world["base"].model_copy(update={"out": world["tmp"] / "out" / "tok", "workers": 2}))


LEDGER = Withdrawal("nobody", "fer2013-local", "2020-01-01T00:00:00+00:00")


def _refuse_fer(self: Admission, sid: str | None) -> tuple[bool, str]:
    """A rule that refuses every FER row and names a withdrawal: applied by a worker,
    it must refuse and record exactly what the driver would."""
    if self.dataset != "fer2013-local":
        return True, ""
    if self.on_withdrawn is not None:
        self.on_withdrawn(LEDGER)
    return False, "refused by the test rule"


@pytest.mark.parametrize("workers", [1, 2])
def test_the_consent_rule_travels_with_the_ranges(world, monkeypatch, workers) -> None:
    monkeypatch.setattr(Admission, "one", _refuse_fer)
    outs = {}
    for parts in (False, True):
        monkeypatch.setattr(pipeline, "READ_IN_PARTS", parts)
        out = world["tmp"] / "out" / f"refused-{workers}-{parts}"
        recipe = world["base"].model_copy(update={"out": out, "workers": workers})
        outs[parts] = (build(recipe), out)
    (a, out_a), (b, out_b) = outs[False], outs[True]
    refused = b["drops"]["fer2013-local: refused by the test rule"]
    assert refused["stage"] == "consent" and refused["count"] > 16
    assert [w["subject_id"] for w in b["withdrawals_applied"]] == ["nobody"]
    _same(a, b, out_a, out_b)


def test_parquet_row_groups_build_the_corpus_read_on_the_driver(tmp_path, monkeypatch) -> None:
    """A Hub snapshot of FER2013 in Parquet, two rows a row group: read a group per
    task, the corpus is the one read on the driver (the reader's count note included)."""
    import pyarrow.parquet as pq

    from tests.deliveries import shapes

    monkeypatch.setenv("FACEDATA_HOME", str(tmp_path / "home"))
    d = shapes.fer2013_hf_snapshot(tmp_path / "made")
    for f in sorted(Path(d.path).rglob("*.parquet")):
        pq.write_table(pq.read_table(f), f, row_group_size=2)
    fetch_dataset(Catalog.load().get(d.dataset), source_id=d.source, from_path=d.path)
    recipe = Recipe(datasets=[f"{d.dataset}:{d.source}"], out=tmp_path / "a", batch_size=3)
    outs = {}
    for parts in (False, True):
        monkeypatch.setattr(pipeline, "READ_IN_PARTS", parts)
        out = tmp_path / f"out-{parts}"
        outs[parts] = (build(recipe.model_copy(update={"out": out, "workers": 2})), out)
    (a, out_a), (b, out_b) = outs[False], outs[True]
    assert b["counts"]["read"] == 12 and b["counts"]["total"] >= 6
    _same(a, b, out_a, out_b)


def test_affectnet_lists_in_ranges_build_the_corpus_read_on_the_driver(
    tmp_path, monkeypatch
) -> None:
    monkeypatch.setenv("FACEDATA_HOME", str(tmp_path / "home"))
    monkeypatch.setattr(cuts, "MIN_RANGE", 1)  # ranges as small as batch_size asks
    layouts.make_affectnet(tmp_path / "src")
    manifests = tmp_path / "manifests"
    write_local_copy(manifests, "affectnet", "affectnet-local", "the test")
    cat = Catalog.load([manifests])
    fetch_dataset(cat.get("affectnet-local"), from_path=tmp_path / "src")
    recipe = Recipe(
        datasets=["affectnet-local"], out=tmp_path / "a", batch_size=3, manifests=[manifests]
    )
    outs = {}
    for parts in (False, True):
        monkeypatch.setattr(pipeline, "READ_IN_PARTS", parts)
        out = tmp_path / f"out-{parts}"
        outs[parts] = (build(recipe.model_copy(update={"out": out, "workers": 2})), out)
    (a, out_a), (b, out_b) = outs[False], outs[True]
    assert b["counts"]["read"] == 16 and b["counts"]["total"] >= 8
    assert any("expression 9" in k for k in b["drops"]), b["drops"]
    _same(a, b, out_a, out_b)
