"""A copy of a dataset is recognised by its photos, not only by its archive.

A research-only dataset re-registered under another id with commercial terms, from a
folder that is not byte-for-byte the original delivery (renamed, one file added), has
none of the original's addresses, license id or fetched-bytes digest; it has the same
image files. The gate refuses it for commercial use, in this home and from the fetch
cache on object storage in an empty home, and admits it when the original is unknown.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import facedata.gate.filetwins as filetwins
from tests.fixtures import layouts
from tests.helpers.cli import run_cli
from tests.helpers.extras import needs
from tests.helpers.manifests import write_local_copy
from tests.storage.conftest import s3, s3_server  # noqa: F401 - the S3 server fixtures

COMMERCIAL = {"id": "CC0-1.0", "tier": "commercial", "terms_url": "https://example.org/cc0"}


@pytest.fixture
def copies(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict:
    monkeypatch.setenv("FACEDATA_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("FACEDATA_CACHE_URL", raising=False)
    src = tmp_path / "src"
    layouts.make_celeba(src / "celeba", n=8)
    copy = tmp_path / "copy" / "my-faces"
    shutil.copytree(src / "celeba", copy)
    (copy / "README.txt").write_text("our own collection\n")  # another tree digest
    manifests = tmp_path / "manifests"
    write_local_copy(manifests, "celeba", "celeba-original", "the test")
    write_local_copy(manifests, "celeba", "my-faces", "the test", license=COMMERCIAL)
    return {"src": src / "celeba", "copy": copy, "manifests": str(manifests), "tmp": tmp_path}


def _fetch(capsys, copies: dict, dataset: str, path: Path, *extra: str) -> None:
    res = run_cli(
        capsys, "fetch", dataset, "--from", str(path), "--manifests", copies["manifests"], *extra
    )
    assert res.code == 0, res.err


def _commercial(capsys, copies: dict, *extra: str):  # noqa: ANN202
    out = copies["tmp"] / "out"
    return run_cli(
        capsys, "build", "--commercial", "--datasets", "my-faces",
        "--manifests", copies["manifests"], "--out", str(out), *extra,
    )  # fmt: skip


def test_a_relabelled_copy_is_admitted_while_the_original_is_unknown(copies: dict, capsys):
    _fetch(capsys, copies, "my-faces", copies["copy"])
    res = _commercial(capsys, copies)
    # the source passes the gate; only the detector's own terms are left to clear
    assert "refuses every requested source" not in res.err and "celeba" not in res.err
    assert "face detector" in res.err


def test_a_relabelled_copy_of_a_fetched_research_set_is_refused(copies: dict, capsys):
    _fetch(capsys, copies, "celeba-original", copies["src"])
    _fetch(capsys, copies, "my-faces", copies["copy"])
    res = _commercial(capsys, copies)
    assert res.code != 0
    assert "celeba-original" in res.err and "research-only" in res.err
    assert not (copies["tmp"] / "out").exists()


@needs("moto", "boto3")
@pytest.mark.usefixtures("s3")
def test_a_relabelled_copy_on_the_fetch_cache_is_refused_in_an_empty_home(
    copies: dict, capsys, monkeypatch: pytest.MonkeyPatch
):
    url = "s3://faces-bucket/twins-cache"
    _fetch(capsys, copies, "celeba-original", copies["src"], "--cache", url)
    _fetch(capsys, copies, "my-faces", copies["copy"], "--cache", url)
    monkeypatch.setenv("FACEDATA_HOME", str(copies["tmp"] / "empty-home"))
    res = _commercial(capsys, copies, "--cache", url)
    assert res.code != 0
    assert "celeba-original" in res.err and "research-only" in res.err
    assert not (copies["tmp"] / "out").exists()


def test_a_big_tree_is_known_by_a_sample_the_same_on_both_sides(monkeypatch):
    files = {
        "a/1.jpg": (10, "0" + "a" * 63),
        "a/2.JPG": (10, "0" + "b" * 63),
        "a/3.jpg": (10, "1" + "c" * 63),
        "a/empty.png": (0, "0" + "d" * 63),
        "labels.csv": (10, "0" + "e" * 63),
    }
    everything = {"0" + "a" * 63, "0" + "b" * 63, "1" + "c" * 63}
    assert filetwins.sampled(files) == everything  # small: every image file
    monkeypatch.setattr(filetwins, "FULL", 2)
    assert filetwins.sampled(files) == {"0" + "a" * 63, "0" + "b" * 63}
    renamed = {f"copy/{k.upper()}": v for k, v in files.items()}
    assert filetwins.sampled(renamed) == filetwins.sampled(files)


def test_a_withdrawal_named_for_the_original_reaches_the_copy(copies: dict, capsys):
    """The same photos are the same people: `forget --dataset ORIGINAL` erases them from
    a corpus built from the copy."""
    import pyarrow.parquet as pq

    _fetch(capsys, copies, "celeba-original", copies["src"])
    _fetch(capsys, copies, "my-faces", copies["copy"])
    out = copies["tmp"] / "research"
    res = run_cli(
        capsys, "build", "--datasets", "my-faces", "--manifests", copies["manifests"],
        "--out", str(out),
    )  # fmt: skip
    assert res.code == 0, res.err

    def subjects() -> list[str]:
        return [
            s
            for f in sorted((out / "data").glob("*.parquet"))
            for s in pq.read_table(f, columns=["subject_id"]).column("subject_id").to_pylist()
        ]

    who = next(s for s in subjects() if s)
    res = run_cli(
        capsys, "forget", "--subject", who, "--dataset", "celeba-original",
        "--manifests", copies["manifests"],
    )  # fmt: skip
    assert res.code == 0, res.err
    assert who not in subjects() and subjects()
