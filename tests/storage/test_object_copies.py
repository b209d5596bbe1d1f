"""A node's copies of cache objects (`$FACEDATA_HOME/remote/objects/`): a copy is
used only once this process has hashed it, and a damaged one is fetched again."""

from __future__ import annotations

import hashlib

import pytest

import facedata.storage.objects as objects
from facedata.storage.objects import ObjectBlob, local_path
from tests.storage.conftest import BUCKET, S3

GOOD = b"emotion,pixels,Usage\n0,1 2 3,Training\n"
SHA = hashlib.sha256(GOOD).hexdigest()


@pytest.fixture
def blob(s3: S3, tmp_path, monkeypatch) -> ObjectBlob:
    monkeypatch.setenv("FACEDATA_HOME", str(tmp_path / "home"))
    monkeypatch.setattr(objects, "_VERIFIED", set())  # a fresh process
    s3.put("cache/objects/x", GOOD)
    return ObjectBlob(f"s3://{BUCKET}/cache", "objects/x", len(GOOD), SHA, "x.csv")


def test_a_damaged_copy_of_the_same_size_is_fetched_again(blob: ObjectBlob) -> None:
    copy = local_path(SHA)
    copy.parent.mkdir(parents=True)
    copy.write_bytes(GOOD.replace(b"0,1", b"6,1"))  # same size, other bytes
    assert blob.read_range(0, len(GOOD)) == GOOD
    assert copy.read_bytes() == GOOD  # replaced in place, for every later reader


def test_a_copy_is_hashed_once_per_process(blob: ObjectBlob, monkeypatch) -> None:
    assert blob.read_range(0, 6) == b"emotio"  # downloaded and verified here
    hashed: list[str] = []
    real = hashlib.sha256
    monkeypatch.setattr(objects.hashlib, "sha256", lambda *a: hashed.append("x") or real(*a))
    assert blob.read_range(6, 12) == b"n,pixe"
    assert hashed == []  # what this process wrote is not hashed again
    monkeypatch.setattr(objects, "_VERIFIED", set())  # another process: hashes it first
    assert blob.read_range(0, 6) == b"emotio" and hashed == ["x"]
