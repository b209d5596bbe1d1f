"""A build publishing to object storage never undoes what was written meanwhile.

A build reads the published record when it starts and commits only over that record
(or only where there is none): an erasure made from another machine while it ran is
applied to what it built before it publishes, and a version an erasure's sweep
removed while it was uploading is uploaded again once its record names it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import facedata.storage.build as remote_build
from facedata import storage
from facedata.corpus import CORPUS_JSON
from facedata.demo import DATASET_ID, OWN_ID
from tests.cli.conftest import World
from tests.helpers.cli import run_cli
from tests.helpers.corpus import make_corpus
from tests.helpers.extras import needs
from tests.storage.conftest import S3
from tests.storage.test_erasure import _subjects

pytestmark = needs("moto", "boto3")


def _recipe(world: World, path: Path, out: str) -> Path:
    lines = [
        f"datasets: [{DATASET_ID}, {OWN_ID}]",
        f"out: {out}",
        f"manifests: [{world.manifests}]",
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _record(s3: S3, key: str) -> dict:
    return json.loads(s3.get(f"{key}/{CORPUS_JSON}"))


def _named_objects_exist(s3: S3, key: str) -> None:
    record = _record(s3, key)
    there = set(s3.objects(key))
    root = record["storage"]["root"]
    named = {f"{key}/{s['path']}" for s in record["shards"]}
    named |= {f"{key}/{root}/{f['path']}" for f in record["storage"]["files"]}
    assert named <= there, sorted(named - there)


def test_an_erasure_from_another_home_during_a_build_is_not_undone(
    world: World, home: Path, s3: S3, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
):
    url, key = "s3://faces-bucket/race/own", "race/own"
    recipe = _recipe(world, tmp_path / "own.yaml", url)
    assert run_cli(capsys, "build", str(recipe)).code == 0
    assert "P03" in _subjects(s3, key)
    beside = {p: p.read_bytes() for p in world.demo.root.rglob("withdrawals.jsonl")}
    real = remote_build.publish
    calls: list[str] = []

    def erased_first(out: Path, loc, **kw):  # noqa: ANN001, ANN202
        """Home B erases P03 after home A's build finished and before it commits."""
        if not calls:
            from facedata.consent.forget import forget

            saved = os.environ["FACEDATA_HOME"]
            os.environ["FACEDATA_HOME"] = str(tmp_path / "home-b")
            try:
                forget("P03", [url])
            finally:
                os.environ["FACEDATA_HOME"] = saved
            # home A knows nothing of it but the record: no withdrawals file to read
            for path in world.demo.root.rglob("withdrawals.jsonl"):
                if path in beside:
                    path.write_bytes(beside[path])
                else:
                    path.unlink()
        calls.append(kw.get("base") or "")
        return real(out, loc, **kw)

    monkeypatch.setattr(remote_build, "publish", erased_first)
    res = run_cli(capsys, "build", str(recipe), "--overwrite")
    assert res.code == 0, res.err
    assert len(calls) == 2 and calls[0] != calls[1]  # refused over the old base, then caught up
    assert "P03" not in _subjects(s3, key)
    marks = _record(s3, key).get("forgotten") or []
    assert [m["subject_id"] for m in marks] == ["P03"]
    _named_objects_exist(s3, key)


def test_a_new_corpus_published_meanwhile_is_not_overwritten_blindly(
    world: World, home: Path, s3: S3, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
):
    """Two builds into the same new URL: the second commits only over the first's
    record (never blindly over it), and every object its record names exists."""
    url, key = "s3://faces-bucket/race/new", "race/new"
    other_local = tmp_path / "other"
    make_corpus(other_local, 12)
    real = remote_build.publish
    bases: list[str] = []

    def raced(out: Path, loc, **kw):  # noqa: ANN001, ANN202
        if not bases:
            storage.publish(other_local, url)  # another home's build lands first
        bases.append(kw.get("base") or "")
        return real(out, loc, **kw)

    monkeypatch.setattr(remote_build, "publish", raced)
    res = run_cli(capsys, "build", str(_recipe(world, tmp_path / "new.yaml", url)))
    assert res.code == 0, res.err
    assert bases[0] == "new" and len(bases) == 2 and bases[1] != "new"
    record = _record(s3, key)
    assert {d["id"] for d in record["datasets"]} == {DATASET_ID, OWN_ID}
    _named_objects_exist(s3, key)


def test_objects_swept_before_the_commit_are_uploaded_again(s3: S3, tmp_path: Path):
    """An erasure's sweep deletes unnamed versions whatever their age, so it may take
    objects of a version still uploading: once the record names them, they are back."""
    make_corpus(tmp_path / "local", 20)
    url, key = "s3://faces-bucket/race/swept", "race/swept"
    done: list[str] = []

    def upload(store, src: Path, rel: str) -> None:  # noqa: ANN001
        store.upload(src, rel)
        done.append(rel)
        if len(done) == 3:  # a concurrent sweep takes the first two
            for gone in done[:2]:
                store.delete(gone)

    storage.publish(tmp_path / "local", url, upload=upload)
    _named_objects_exist(s3, key)
