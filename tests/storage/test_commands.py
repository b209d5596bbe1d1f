"""report, cite, forget and train on a corpus published to s3://, and no secret left behind."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from facedata import storage
from facedata.corpus import CORPUS_JSON
from tests.helpers.cli import run_cli
from tests.helpers.corpus import make_corpus
from tests.helpers.extras import needs
from tests.storage.conftest import KEY_ID, S3, SECRET

pytestmark = needs("moto", "boto3")
URL = "s3://faces-bucket/shared/corpus"
KEY = "shared/corpus"


@pytest.fixture
def published(s3: S3, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict:
    monkeypatch.setenv("FACEDATA_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("FACEDATA_MANIFESTS", raising=False)
    record = make_corpus(tmp_path / "local", 40)
    storage.publish(tmp_path / "local", URL)
    return record


def _subjects(s3: S3) -> set[str]:
    remote = json.loads(s3.get(f"{KEY}/{CORPUS_JSON}"))
    found: set[str] = set()
    for shard in remote["shards"]:
        body = s3.get(f"{KEY}/{shard['path']}")
        import io

        found |= set(pq.read_table(io.BytesIO(body)).column("subject_id").to_pylist())
    return found


def _no_secret(*texts: str) -> None:
    for text in texts:
        assert SECRET not in text


def test_report_on_a_remote_corpus(published: dict, tmp_path: Path, capsys):
    page = tmp_path / "page.html"
    res = run_cli(capsys, "report", URL, "--out", str(page))
    assert res.code == 0, res.err
    assert page.stat().st_size > 1000
    _no_secret(res.out, res.err, page.read_text())


def test_cite_rewrites_the_bundle_and_publishes_it(published: dict, s3: S3, capsys):
    before = json.loads(s3.get(f"{KEY}/{CORPUS_JSON}"))["storage"]["version"]
    for name in [f["path"] for f in json.loads(s3.get(f"{KEY}/{CORPUS_JSON}"))["storage"]["files"]]:
        assert name != "references.bib"
    res = run_cli(capsys, "cite", URL)
    assert res.code == 0, res.err
    assert URL in " ".join(res.out.split())
    after = json.loads(s3.get(f"{KEY}/{CORPUS_JSON}"))
    assert after["storage"]["version"] != before
    files = {f["path"] for f in after["storage"]["files"]}
    assert {"references.bib", "CITATION.cff", "ATTRIBUTION.md"} <= files
    assert f"{KEY}/v/{after['storage']['version']}/references.bib" in s3.objects(KEY)
    assert not any(f"/v/{before}/" in k for k in s3.objects(KEY))  # replaced, then removed
    _no_secret(res.out, res.err)


def test_forget_erases_from_the_remote_corpus_and_republishes(
    published: dict, s3: S3, tmp_path: Path, capsys
):
    assert "smiles-s3" in _subjects(s3)
    res = run_cli(capsys, "forget", "--subject", "smiles-s3", "--by", "dpo@example.org", URL)
    assert res.code == 0, res.err
    assert "smiles-s3" not in _subjects(s3)
    remote = json.loads(s3.get(f"{KEY}/{CORPUS_JSON}"))
    assert remote["forgotten"][-1]["subject_id"] == "smiles-s3"
    assert remote["counts"]["total"] < published["counts"]["total"]
    # no staged copy of the old version (which still holds the subject) is left behind
    staged = list((tmp_path / "home" / "remote").glob("*/data/*.parquet"))
    for shard in staged:
        assert "smiles-s3" not in pq.read_table(shard).column("subject_id").to_pylist()
    home = tmp_path / "home"
    _no_secret(res.out, res.err, *(p.read_text() for p in home.rglob("*.json*") if p.is_file()))


@needs("torch")
def test_train_on_a_remote_corpus(published: dict, tmp_path: Path, capsys):
    out = tmp_path / "model"
    res = run_cli(
        capsys,
        "train",
        URL,
        "--out",
        str(out),
        "--epochs",
        "1",
        "--max-steps",
        "2",
        "--width",
        "4",
        "--batch-size",
        "8",
    )
    assert res.code == 0, res.err
    assert (out / "metrics.json").is_file()
    _no_secret(res.out, res.err, (out / "metrics.json").read_text())


def test_credentials_in_the_url_are_refused_and_never_written(
    s3: S3, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
):
    """Keys in a URL are refused (they would be echoed and recorded): the error names
    the URL redacted and points at the AWS environment variables or a profile."""
    monkeypatch.setenv("FACEDATA_HOME", str(tmp_path / "home"))
    make_corpus(tmp_path / "local", 20)
    storage.publish(tmp_path / "local", "s3://faces-bucket/creds/corpus")
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    secret_url = f"s3://{KEY_ID}:{SECRET}@faces-bucket/creds/corpus?endpoint={s3.endpoint}"
    with pytest.raises(storage.StorageError):
        storage.publish(tmp_path / "local", secret_url)
    res = run_cli(capsys, "report", secret_url, "--out", str(tmp_path / "r.html"))
    assert res.code == 1 and "credentials" in res.err
    assert "AWS_ACCESS_KEY_ID" in " ".join(res.err.split())
    assert "faces-bucket/creds/corpus" in res.err
    _no_secret(s3.get("creds/corpus/corpus.json").decode(), res.out, res.err)
    assert "Traceback" not in res.err
    assert not (tmp_path / "r.html").exists()
