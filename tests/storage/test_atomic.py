"""Publishing is atomic where rename is not, and what the bucket holds is hostile input."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from facedata import storage
from facedata.corpus import CORPUS_JSON
from facedata.corpus.record import CorpusError
from facedata.errors import FacedataError
from facedata.storage import publishing
from facedata.storage.layout import new_version
from facedata.storage.remote import connect
from tests.helpers.corpus import make_corpus
from tests.helpers.extras import needs
from tests.storage.conftest import S3, SECRET

pytestmark = needs("moto", "boto3")
URL = "s3://faces-bucket/atomic/corpus"
KEY = "atomic/corpus"


@pytest.fixture
def corpus(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("FACEDATA_HOME", str(tmp_path / "home"))
    make_corpus(tmp_path / "local", 30)
    return tmp_path / "local"


def _record(s3: S3) -> dict:
    return json.loads(s3.get(f"{KEY}/{CORPUS_JSON}"))


def _rows(url: str) -> int:
    with storage.local_corpus(url) as staged:
        return json.loads((staged / CORPUS_JSON).read_text())["counts"]["total"]


class Boom(RuntimeError):
    pass


def test_a_crash_mid_publish_keeps_the_old_corpus(corpus: Path, s3: S3, tmp_path: Path):
    storage.publish(corpus, URL)
    old = _record(s3)
    old_keys = s3.objects(KEY)
    make_corpus(tmp_path / "bigger", 50)
    done = []

    def dies_after_two(store, src: Path, rel: str) -> None:
        if len(done) == 2:
            raise Boom("the network went away")
        store.upload(src, rel)
        done.append(rel)

    with pytest.raises(Boom):
        storage.publish(tmp_path / "bigger", URL, upload=dies_after_two)
    assert _record(s3) == old  # the commit point was never reached
    assert set(old_keys) <= set(s3.objects(KEY))  # nothing of the old version removed
    assert _rows(URL) == 30  # and it reads whole
    # the next publish succeeds; the half-written version is swept once it is stale
    storage.publish(tmp_path / "bigger", URL)
    assert _rows(URL) == 50
    store = connect(storage.parse(URL))
    later = dt.datetime.now(dt.UTC) + publishing.STALE + dt.timedelta(minutes=1)
    current = _record(s3)["storage"]["version"]
    publishing.sweep(store, keep=current, replaced=None, now=later)
    assert {k.split("/")[3] for k in s3.objects(f"{KEY}/v/")} == {current}


def test_a_reader_never_sees_half_a_corpus(corpus: Path, s3: S3, tmp_path: Path):
    """Between any two uploads of a publish, a reader gets the old corpus whole."""
    storage.publish(corpus, URL)
    make_corpus(tmp_path / "next", 45)
    seen = []

    def reads_between(store, src: Path, rel: str) -> None:
        store.upload(src, rel)
        seen.append(_rows(URL))

    storage.publish(tmp_path / "next", URL, upload=reads_between)
    assert seen and set(seen) == {30}
    assert _rows(URL) == 45


def test_two_publishes_at_once_leave_one_whole_corpus(corpus: Path, s3: S3, tmp_path: Path):
    make_corpus(tmp_path / "other", 25)
    inner = []

    def publishes_meanwhile(store, src: Path, rel: str) -> None:
        store.upload(src, rel)
        if not inner:
            inner.append(storage.publish(tmp_path / "other", URL))

    outer = storage.publish(corpus, URL, upload=publishes_meanwhile)
    assert _record(s3)["storage"]["version"] == outer  # the last record written wins
    assert _rows(URL) == 30
    # the record it replaced was the other publish's: that version is removed with it
    assert {k.split("/")[3] for k in s3.objects(f"{KEY}/v/")} == {outer}


def _hostile(s3: S3, corpus: Path, change) -> None:  # noqa: ANN001 - a callable on the record
    storage.publish(corpus, URL)
    record = _record(s3)
    change(record)
    s3.put(f"{KEY}/{CORPUS_JSON}", json.dumps(record).encode())


@pytest.mark.parametrize(
    "path",
    [
        "../../elsewhere/x.parquet",
        "/etc/passwd",
        "v/{version}/../../../outside.parquet",
        "v/{version}/data/../../x.parquet",
        "v/20000101T000000Z-00000000/data/a.parquet",
    ],
)
def test_shards_outside_their_version_are_refused(corpus: Path, s3: S3, tmp_path: Path, path: str):
    def change(record: dict) -> None:
        record["shards"][0]["path"] = path.format(version=record["storage"]["version"])

    _hostile(s3, corpus, change)
    with pytest.raises(FacedataError) as err:
        _rows(URL)
    assert "Traceback" not in str(err.value)
    assert not list((tmp_path / "home").rglob("outside.parquet"))
    assert not (tmp_path / "elsewhere").exists()


def test_an_object_larger_than_its_record_says_is_refused(corpus: Path, s3: S3):
    storage.publish(corpus, URL)
    record = _record(s3)
    shard = record["shards"][0]
    s3.put(f"{KEY}/{shard['path']}", b"x" * (shard["bytes"] + 10_000))
    with pytest.raises(FacedataError, match="larger than its record|changed"):
        _rows(URL)


def test_a_huge_record_is_refused_before_it_is_read(
    corpus: Path, s3: S3, monkeypatch: pytest.MonkeyPatch
):
    from facedata.corpus import record

    storage.publish(corpus, URL)
    monkeypatch.setattr(record, "MAX_RECORD", 1000)  # the store's record, not the local one
    with pytest.raises(storage.StorageError, match="over the 1,000 allowed"):
        _rows(URL)


def test_a_listing_with_climbing_keys_is_never_acted_on(corpus: Path, s3: S3):
    storage.publish(corpus, URL)
    for key in (f"{KEY}/v/../../keep-me", f"{KEY}/v//x", f"{KEY}/v/{new_version()}/../y"):
        s3.put(key, b"not ours")
    s3.put("keep-me", b"another prefix")
    storage.publish(corpus, URL)
    assert "keep-me" in s3.objects("keep")
    assert f"{KEY}/v/../../keep-me" in s3.objects(KEY)


def test_a_record_without_a_version_is_not_a_published_corpus(s3: S3, corpus: Path):
    s3.put(f"{KEY}/{CORPUS_JSON}", (corpus / CORPUS_JSON).read_bytes())
    with pytest.raises(CorpusError, match="names no version"):
        _rows(URL)


@pytest.mark.parametrize(
    "text",
    [
        "s3://AKIA:" + SECRET + "@bucket/x",
        "s3:/AKIA:" + SECRET + "@bucket/x",  # through a path option
        "failed on gs://bucket/x?token=" + SECRET + " now",
        "http://user:" + SECRET + "@127.0.0.1:9000/",
        "aws_secret_access_key=" + SECRET,
    ],
)
def test_redact_removes_secrets(text: str):
    assert SECRET not in storage.redact(text)


def test_locations_parse_and_print_without_secrets():
    # keys in a URL are refused (docs/storage.md), and the refusal does not echo them
    with pytest.raises(storage.StorageError) as refused:
        storage.parse(f"s3://KEY:{SECRET}@my-bucket/a/b/?endpoint=http://h:9000")
    assert SECRET not in str(refused.value) and SECRET not in (refused.value.hint or "")
    loc = storage.parse("s3://my-bucket/a/b/?endpoint=http://h:9000")
    assert loc is not None
    assert (loc.bucket, loc.key, loc.url) == ("my-bucket", "a/b", "s3://my-bucket/a/b")
    assert loc.address == "s3://my-bucket/a/b?endpoint=http://h:9000"
    assert storage.parse("s3:/my-bucket/c").url == "s3://my-bucket/c"
    assert storage.parse("gcs://my-bucket/c").url == "gs://my-bucket/c"
    assert storage.parse("/data/corpus") is None and storage.parse("C:/corpus") is None
    with pytest.raises(storage.StorageError):
        storage.parse("s3://my-bucket/a/../b")


@needs("s3fs")
def test_datasets_reads_the_published_shards(corpus: Path, s3: S3):
    import datasets

    storage.publish(corpus, URL)
    record = _record(s3)
    root = f"s3://faces-bucket/{KEY}/{record['storage']['root']}"
    options = {"client_kwargs": {"endpoint_url": s3.endpoint}}
    ds = datasets.load_dataset(
        "parquet",
        data_files={"train": f"{root}/data/train-*.parquet"},
        storage_options=options,
        split="train",
    )
    assert ds.num_rows == record["counts"]["splits"]["train"]
