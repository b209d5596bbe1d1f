"""Withdrawals on the fetch cache reach homes that built nothing, and copies trained on
another home: `forget --dataset --cache` on a home holding no corpus of the person, and
`train --cache` on an old copy."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from facedata.consent.withdrawals import read_ledger
from tests.fixtures import layouts
from tests.helpers.cli import CliResult, run_cli
from tests.helpers.extras import needs
from tests.helpers.manifests import write_local_copy
from tests.storage import conftest as storage
from tests.storage.conftest import S3

pytestmark = needs("moto", "boto3")

s3_server = storage.s3_server
store = storage.s3

URL = "s3://faces-bucket/cache"


@pytest.fixture
def world(tmp_path: Path, monkeypatch) -> dict[str, Path]:
    """CelebA's layout fetched and pushed to the cache by home A."""
    layouts.make_celeba(tmp_path / "celeba", n=12)
    manifests = tmp_path / "manifests"
    write_local_copy(manifests, "celeba", "celeba-local", "the test")
    monkeypatch.delenv("FACEDATA_CACHE_URL", raising=False)
    return {"tmp": tmp_path, "src": tmp_path / "celeba", "manifests": manifests}


def _cli(capsys, *args: str) -> CliResult:
    try:
        return run_cli(capsys, *args)
    except Exception as exc:  # noqa: BLE001 - what a user would see as a traceback
        pytest.fail(f"a traceback instead of an error: {type(exc).__name__}: {exc}")


def _home(world, name: str, monkeypatch) -> None:
    monkeypatch.setenv("FACEDATA_HOME", str(world["tmp"] / f"home-{name}"))


def _subjects(corpus: Path) -> set[str]:
    record = json.loads((corpus / "corpus.json").read_text())
    out: set[str] = set()
    for shard in record["shards"]:
        out |= {
            str(v) for v in pq.read_table(corpus / shard["path"]).column("subject_id").to_pylist()
        }
    return out


def _pushed_and_built_on_b(capsys, world, monkeypatch) -> Path:
    m = ("--manifests", str(world["manifests"]))
    _home(world, "A", monkeypatch)
    res = _cli(capsys, "fetch", "celeba-local", "--from", str(world["src"]), "--cache", URL, *m)
    assert res.code == 0, res.out + res.err
    _home(world, "B", monkeypatch)
    out = world["tmp"] / "b"
    res = _cli(capsys, "build", "-d", "celeba-local", "--cache", URL, "--out", str(out), *m)
    assert res.code == 0, res.err
    return out


def test_forget_of_an_id_unknown_here_needs_the_dataset_to_reach_the_cache(
    world, store: S3, monkeypatch, capsys
) -> None:
    old = _pushed_and_built_on_b(capsys, world, monkeypatch)
    victim = sorted(_subjects(old))[0]
    _home(world, "A", monkeypatch)
    m = ("--manifests", str(world["manifests"]))
    res = _cli(capsys, "forget", "--subject", victim, "--cache", URL, *m)
    assert res.code == 1 and "in no corpus" in res.err, res.out + res.err
    assert not store.objects("cache/withdrawals/")  # no dataset named: nothing to file it under

    res = _cli(
        capsys, "forget", "--subject", victim, "--dataset", "celeba-local", "--cache", URL, *m
    )
    assert res.code == 0, res.out + res.err
    said = " ".join(res.out.split())
    assert "withdrawal is recorded" in said and f"leave {victim} out" in said
    assert [w.subject_id for w in read_ledger()] == [victim]
    assert store.objects("cache/withdrawals/celeba-local/")


def test_train_with_the_cache_named_refuses_an_old_copy_and_a_damaged_withdrawal(
    world, store: S3, monkeypatch, capsys
) -> None:
    old = _pushed_and_built_on_b(capsys, world, monkeypatch)
    victim = sorted(_subjects(old))[0]
    _home(world, "A", monkeypatch)
    res = _cli(capsys, "forget", "--subject", victim, "--dataset", "celeba-local", "--cache", URL,
               "--manifests", str(world["manifests"]))  # fmt: skip
    assert res.code == 0, res.out + res.err
    _home(world, "B", monkeypatch)
    model = world["tmp"] / "model"
    res = _cli(capsys, "train", str(old), "--out", str(model), "--epochs", "1", "--cache", URL)
    assert res.code == 1 and victim in res.err, res.out + res.err
    assert not (model / "model.onnx").exists()

    for key in store.objects("cache/withdrawals/"):
        store.put(key, b"{nope")  # damaged: who withdrew cannot be known
    res = _cli(capsys, "train", str(old), "--out", str(model), "--epochs", "1", "--cache", URL)
    assert res.code == 1 and "withdrawal" in res.err, res.out + res.err
