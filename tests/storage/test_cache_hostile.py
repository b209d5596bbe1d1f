"""Attacks on the fetch cache on object storage, mostly through the real CLI.

Each test names the promise of docs/storage.md ("The fetch cache on object storage")
it holds the code to. Home A fetches and pushes; home B is a second machine with an
empty FACEDATA_HOME that builds from the store only.
"""

from __future__ import annotations

import hashlib
import json
import tarfile
from pathlib import Path

import pytest
import yaml

from facedata.storage.cachepush import push_tree
from facedata.storage.cachetree import object_key
from facedata.storage.location import parse
from tests.fixtures import layouts
from tests.helpers.cli import CliResult, run_cli
from tests.helpers.extras import needs
from tests.helpers.manifests import write_local_copy
from tests.storage import conftest as storage
from tests.storage.conftest import KEY_ID, S3, SECRET

pytestmark = needs("moto", "boto3")

# the S3 server of tests/storage: `store` is an empty bucket on it
s3_server = storage.s3_server
store = storage.s3

URL = "s3://faces-bucket/cache"
REPO = Path(__file__).resolve().parents[2]
DETECTOR_CLEARANCE = """clearances:
  - detector: retinaface-mnet025
    cleared_by: Legal team
    evidence: WIDER FACE weights review WF-2026-2
    expires: 2099-12-31
"""


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """GENKI-4K's layout in one tar, fetched in home A twice: as the built-in genki4k
    and as `happy-faces`, a user manifest claiming a commercial licence for it."""
    tmp = tmp_path_factory.mktemp("rtcache")
    layouts.make_genki4k(tmp / "src")
    archive = tmp / "g.tar"
    with tarfile.open(archive, "w") as tf:
        tf.add(tmp / "src" / "GENKI4K", arcname=".")
    manifests = tmp / "manifests"
    manifests.mkdir()
    data = yaml.safe_load((REPO / "manifests" / "genki4k.yaml").read_text())
    data.update(
        id="happy-faces",
        name="happy-faces (re-upload)",
        license={"id": "LicenseRef-Happy-Faces", "tier": "commercial", "derivatives": "allowed"},
    )
    data["sources"] = [
        {
            "id": "local-copy",
            "kind": "manual",
            "official": True,
            "access": {"level": "open", "instructions": "a download"},
        }
    ]
    (manifests / "happy-faces.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    layouts.make_celeba(tmp / "celeba", n=12)
    write_local_copy(manifests, "celeba", "celeba-local", "the test")
    clearances = tmp / "clearances.yaml"
    clearances.write_text(DETECTOR_CLEARANCE)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FACEDATA_HOME", str(tmp / "A"))
        mp.delenv("FACEDATA_CACHE_URL", raising=False)
        from facedata.fetch import fetch_dataset
        from facedata.manifest.catalog import Catalog

        cat = Catalog.load([manifests])
        fetch_dataset(cat.get("genki4k"), from_path=archive)
        fetch_dataset(cat.get("happy-faces"), from_path=archive)
        fetch_dataset(cat.get("celeba-local"), from_path=tmp / "celeba")
    return {"tmp": tmp, "A": tmp / "A", "manifests": manifests, "clearances": clearances}


def _cli(capsys, *args: str) -> CliResult:
    """The CLI as a user runs it; an exception escaping main() is a traceback."""
    try:
        return run_cli(capsys, *args)
    except Exception as exc:  # noqa: BLE001 - what a user would see as a traceback
        pytest.fail(f"a traceback instead of an error: {type(exc).__name__}: {exc}")


def _push(world, monkeypatch, *datasets: str) -> None:
    monkeypatch.setenv("FACEDATA_HOME", str(world["A"]))
    sources = {"genki4k": "official", "happy-faces": "local-copy", "celeba-local": "local-copy"}
    for ds in datasets:
        push_tree(parse(URL), ds, sources[ds])


def _home_b(tmp_path: Path, monkeypatch) -> Path:
    home = tmp_path / "B"
    monkeypatch.setenv("FACEDATA_HOME", str(home))
    return home


def _tree(store: S3, dataset: str, source: str) -> dict:
    return json.loads(store.get(f"cache/trees/{dataset}/{source}.json"))


# Promise 5: a copy of a dataset pushed under another id is still recognised as a copy.
def test_a_copy_pushed_under_another_id_is_a_twin_on_an_empty_home(
    world, store: S3, tmp_path: Path, monkeypatch, capsys
) -> None:
    _push(world, monkeypatch, "genki4k", "happy-faces")
    common = ("-d", "happy-faces", "--commercial", "--manifests", str(world["manifests"]),
              "--clearances", str(world["clearances"]))  # fmt: skip
    # home A, from its local cache: refused, genki4k's bytes under a new name
    res = _cli(capsys, "build", *common, "--out", str(tmp_path / "a"))
    assert res.code == 1 and "genki4k" in res.err and "same fetched bytes" in res.err
    # home A, from the store: the same decision
    res = _cli(capsys, "build", *common, "--cache", URL, "--out", str(tmp_path / "a2"))
    assert res.code == 1 and "genki4k" in res.err, res.out + res.err
    # home B, an empty home reading the same store: the same decision
    _home_b(tmp_path, monkeypatch)
    res = _cli(capsys, "build", *common, "--cache", URL, "--out", str(tmp_path / "b"))
    assert res.code == 1, "a research copy under a commercial id was built:\n" + res.out
    assert "genki4k" in res.err


# Promise 3 (store hostile) + 5: a listing whose lock record lost its pinned files.
def test_a_listing_stripped_of_its_pins_does_not_launder_a_copy(
    world, store: S3, tmp_path: Path, monkeypatch, capsys
) -> None:
    _push(world, monkeypatch, "genki4k", "happy-faces")
    tree = _tree(store, "happy-faces", "local-copy")
    tree["lock"]["files"] = []
    store.put("cache/trees/happy-faces/local-copy.json", json.dumps(tree).encode())
    res = _cli(capsys, "build", "-d", "happy-faces", "--commercial", "--cache", URL,
               "--manifests", str(world["manifests"]), "--clearances", str(world["clearances"]),
               "--out", str(tmp_path / "a"))  # fmt: skip
    assert res.code == 1, "home A built genki4k's bytes as commercial:\n" + res.out


def _files_holding(root: Path, needle: str) -> list[str]:
    found = []
    for p in root.rglob("*"):
        if p.is_file() and not p.is_symlink():
            try:
                if needle.encode() in p.read_bytes():
                    found.append(str(p))
            except OSError:
                pass
    return found


# Promise 4: keyed URLs are refused; credentials never appear anywhere.
def test_an_endpoint_carrying_credentials_in_the_cache_url_is_refused(
    world, store: S3, tmp_path: Path, monkeypatch, capsys
) -> None:
    _push(world, monkeypatch, "genki4k")
    host = store.endpoint.removeprefix("http://")
    keyed = f"{URL}?endpoint=http://{KEY_ID}:{SECRET}@{host}"
    home = _home_b(tmp_path, monkeypatch)
    out = tmp_path / "b"
    res = _cli(capsys, "build", "-d", "genki4k", "--cache", keyed, "--out", str(out))
    assert SECRET not in res.out + res.err
    leaks = _files_holding(home, SECRET) + (_files_holding(out, SECRET) if out.exists() else [])
    assert not leaks, f"the secret was written to {leaks}"
    assert res.code == 1 and "credentials" in res.err, res.out


# Promise 4: an endpoint from the environment that carries credentials.
def test_an_endpoint_with_credentials_from_the_environment_is_never_recorded(
    world, store: S3, tmp_path: Path, monkeypatch, capsys
) -> None:
    _push(world, monkeypatch, "genki4k")
    host = store.endpoint.removeprefix("http://")
    home = _home_b(tmp_path, monkeypatch)
    monkeypatch.setenv("FACEDATA_S3_ENDPOINT", f"http://{KEY_ID}:{SECRET}@{host}")
    out = tmp_path / "b"
    res = _cli(capsys, "build", "-d", "genki4k", "--cache", URL, "--out", str(out))
    assert SECRET not in res.out + res.err
    leaks = _files_holding(home, SECRET) + (_files_holding(out, SECRET) if out.exists() else [])
    assert not leaks, f"the secret was written to {leaks}"


# Promise 3: a listing that gives an image an absurd size: an error, never a traceback.
@pytest.mark.parametrize("size", [2**62, 2**63 - 1])
def test_a_listing_with_a_huge_image_size_is_refused_not_a_traceback(
    world, store: S3, tmp_path: Path, monkeypatch, capsys, size: int
) -> None:
    _push(world, monkeypatch, "genki4k")
    tree = _tree(store, "genki4k", "official")
    rel = next(r for r in tree["files"] if r.endswith(".jpg"))
    tree["files"][rel][0] = size
    store.put("cache/trees/genki4k/official.json", json.dumps(tree).encode())
    _home_b(tmp_path, monkeypatch)
    res = _cli(capsys, "build", "-d", "genki4k", "--cache", URL, "--out", str(tmp_path / "b"))
    assert res.code != 0 or "unreadable" in res.out, res.out
    assert "Traceback" not in res.err


# Promise 1: content-addressed objects; a re-push repairs nothing it believes present.
def test_a_push_over_a_wrong_object_of_the_right_size_repairs_it(
    world, store: S3, tmp_path: Path, monkeypatch, capsys
) -> None:
    from facedata.fetch import treelist

    monkeypatch.setenv("FACEDATA_HOME", str(world["A"]))
    files, _ = treelist.read("genki4k", "official")
    rel, state = next((r, s) for r, s in sorted(files.items()) if r.endswith(".jpg"))
    store.put("cache/" + object_key(state.sha256), b"\0" * state.size)  # there first, other bytes
    res = _cli(capsys, "fetch", "genki4k", "--cache", URL)
    assert res.code == 0, res.err
    got = store.get("cache/" + object_key(state.sha256))
    assert hashlib.sha256(got).hexdigest() == state.sha256, (
        f"{rel}: the store keeps bytes under a hash they do not have after a push:\n{res.out}"
    )


# Promise 4: the same keyed endpoint on `fetch --cache` and on `build --out`.
@pytest.mark.parametrize("where", ["fetch", "out"])
def test_a_keyed_endpoint_is_refused_by_fetch_and_by_out(
    world, store: S3, tmp_path: Path, monkeypatch, capsys, where: str
) -> None:
    host = store.endpoint.removeprefix("http://")
    keyed = f"?endpoint=http://{KEY_ID}:{SECRET}@{host}"
    if where == "fetch":
        monkeypatch.setenv("FACEDATA_HOME", str(world["A"]))
        res = _cli(capsys, "fetch", "genki4k", "--cache", URL + keyed)
    else:
        _push(world, monkeypatch, "genki4k")
        _home_b(tmp_path, monkeypatch)
        out = "s3://faces-bucket/corpora/smile" + keyed
        res = _cli(capsys, "build", "-d", "genki4k", "--cache", URL, "--out", out)
        stored = [k for k in store.objects("corpora/") if SECRET.encode() in store.get(k)]
        assert not stored, f"the secret was published in {stored}"
        leaks = _files_holding(tmp_path / "B", SECRET)
        assert not leaks, f"the secret was written to {leaks}"
    assert SECRET not in res.out + res.err
    assert res.code == 1 and "credentials" in res.err, res.out


def _subjects(store: S3, prefix: str) -> set[str]:
    import io

    import pyarrow.parquet as pq

    record = json.loads(store.get(f"{prefix}/corpus.json"))
    out: set[str] = set()
    for shard in record["shards"]:
        table = pq.read_table(io.BytesIO(store.get(f"{prefix}/{shard['path']}")))
        out |= {str(v) for v in table.column("subject_id").to_pylist() if v is not None}
    return out


# Promises 5 and 6: a subject erased from the corpus on s3:// from home A never comes
# back when home B (an empty home) rebuilds that corpus from the cache.
@pytest.mark.parametrize("change", [["--overwrite"], ["--size", "96", "--overwrite"]])
def test_a_rebuild_from_the_cache_on_another_home_keeps_an_erasure(
    world, store: S3, tmp_path: Path, monkeypatch, capsys, change: list[str]
) -> None:
    _push(world, monkeypatch, "celeba-local")
    m = ("--manifests", str(world["manifests"]))
    out = "s3://faces-bucket/corpora/c"
    res = _cli(capsys, "build", "-d", "celeba-local", "--cache", URL, "--out", out, *m)
    assert res.code == 0, res.err
    subjects = _subjects(store, "corpora/c")
    victim = sorted(subjects)[0]
    res = _cli(capsys, "forget", "--subject", victim, out, *m)
    assert res.code == 0, res.err
    assert victim not in _subjects(store, "corpora/c")
    _home_b(tmp_path, monkeypatch)
    res = _cli(capsys, "build", "-d", "celeba-local", "--cache", URL, "--out", out, *m, *change)
    assert res.code == 0, res.err
    assert victim not in _subjects(store, "corpora/c"), f"{victim} is back:\n{res.out}"


# Promise 3: the store down (or unreachable from the workers) once the build has begun:
# a stopped build naming the store, never a corpus whose every image "failed".
def test_a_store_lost_after_the_listing_stops_the_build(
    world, store: S3, tmp_path: Path, monkeypatch, capsys
) -> None:
    import socket

    from facedata.storage import cacheview

    _push(world, monkeypatch, "genki4k")
    _home_b(tmp_path, monkeypatch)
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")  # a refused connection fails at once
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{sock.getsockname()[1]}"  # nothing listens there
    real = cacheview.worker_address
    monkeypatch.setattr(
        cacheview, "worker_address", lambda loc: real(loc).split("?")[0] + f"?endpoint={dead}"
    )
    out = tmp_path / "b"
    res = _cli(capsys, "build", "-d", "genki4k", "--cache", URL, "--out", str(out))
    assert res.code == 1, f"a corpus was written while the store was down:\n{res.out}"
    assert not (out / "corpus.json").exists()


# Promise 3 (the store down or slow): `build --cache gs://...` with no route to Google
# waits in pyarrow's GCS client, which retries for 15 minutes by default: seen through
# the CLI as a build that prints nothing and does not end. The client must be given a
# bounded retry time, so an unreachable store is the promised clear error.
def test_a_gcs_cache_bounds_its_retries(world, tmp_path: Path, monkeypatch, capsys) -> None:
    import pyarrow.fs as pafs

    made: list[dict] = []

    class Unreachable:
        def __init__(self, *args, **kwargs) -> None:
            made.append(kwargs)

        def get_file_info(self, *args, **kwargs):  # noqa: ANN002, ANN003, ANN201
            raise OSError("Could not resolve host: storage.googleapis.com")

        def open_input_stream(self, *args, **kwargs):  # noqa: ANN002, ANN003, ANN201
            raise OSError("Could not resolve host: storage.googleapis.com")

    monkeypatch.setattr(pafs, "GcsFileSystem", Unreachable)
    _home_b(tmp_path, monkeypatch)
    res = _cli(capsys, "build", "-d", "genki4k", "--cache", "gs://faces-bucket/cache",
               "--out", str(tmp_path / "b"))  # fmt: skip
    assert res.code == 1 and "gs://faces-bucket/cache" in res.err, res.out + res.err
    assert made and all(k.get("retry_time_limit") is not None for k in made), made


# Promise 6: home B rebuilds the corpus from the cache while home A erases a subject
# from it; B's publish must not put the subject back, and every named object exists.
def test_an_erasure_made_while_another_home_builds_from_the_cache_holds(
    world, store: S3, tmp_path: Path, monkeypatch, capsys
) -> None:
    import os

    from facedata.storage import build as remote_build

    _push(world, monkeypatch, "celeba-local")
    m = ("--manifests", str(world["manifests"]))
    out = "s3://faces-bucket/corpora/c"
    res = _cli(capsys, "build", "-d", "celeba-local", "--cache", URL, "--out", out, *m)
    assert res.code == 0, res.err
    victim = sorted(_subjects(store, "corpora/c"))[0]
    real = remote_build.publish
    calls: list[str] = []

    def erased_first(built: Path, loc, **kw):  # noqa: ANN001, ANN202
        if not calls:
            saved = os.environ["FACEDATA_HOME"]
            os.environ["FACEDATA_HOME"] = str(world["A"])
            try:
                assert _cli(capsys, "forget", "--subject", victim, out, *m).code == 0
            finally:
                os.environ["FACEDATA_HOME"] = saved
        calls.append(kw.get("base") or "")
        return real(built, loc, **kw)

    _home_b(tmp_path, monkeypatch)
    monkeypatch.setattr(remote_build, "publish", erased_first)
    res = _cli(capsys, "build", "-d", "celeba-local", "--cache", URL, "--out", out, *m,
               "--size", "96", "--overwrite")  # fmt: skip
    assert res.code == 0, res.err
    assert len(calls) == 2
    assert victim not in _subjects(store, "corpora/c")
    record = json.loads(store.get("corpora/c/corpus.json"))
    keys = set(store.objects("corpora/c/"))
    named = [s["path"] for s in record["shards"]]
    assert all(f"corpora/c/{p}" in keys for p in named), named


def _record(path: Path) -> dict:
    return json.loads((path / "corpus.json").read_text())


# Promise 6: a withdrawal made on home A travels with the cache: home B (an empty home)
# building a NEW corpus from the cache leaves the subject out and counts it.
def test_a_subject_forgotten_on_one_home_stays_out_of_a_new_corpus_on_another(
    world, store: S3, tmp_path: Path, monkeypatch, capsys
) -> None:
    _push(world, monkeypatch, "celeba-local")
    m = ("--manifests", str(world["manifests"]))
    res = _cli(capsys, "build", "-d", "celeba-local", "--cache", URL,
               "--out", str(tmp_path / "a"), *m)  # fmt: skip
    assert res.code == 0, res.err
    ids = pq_subjects(tmp_path / "a")
    victim = sorted(ids)[0]
    res = _cli(capsys, "forget", "--subject", victim, "--dataset", "celeba-local",
               "--cache", URL, str(tmp_path / "a"), *m)  # fmt: skip
    assert res.code == 0, res.err
    assert "written to the fetch cache" in res.out
    assert store.objects("cache/withdrawals/celeba-local/")
    _home_b(tmp_path, monkeypatch)
    res = _cli(capsys, "build", "-d", "celeba-local", "--cache", URL,
               "--out", str(tmp_path / "b"), *m)  # fmt: skip
    assert res.code == 0, res.err
    assert victim not in pq_subjects(tmp_path / "b")
    assert pq_subjects(tmp_path / "b") == ids - {victim}
    record = _record(tmp_path / "b")
    # (with any withdrawal home A made before: its push carried them too)
    assert victim in [w["subject_id"] for w in record["withdrawals_applied"]]


# Promise 6: a home that forgot before it pushed: `fetch --cache` takes the ledger's
# withdrawals of the dataset with the tree.
def test_a_push_carries_the_homes_withdrawals_of_the_dataset(
    world, store: S3, tmp_path: Path, monkeypatch, capsys
) -> None:
    from facedata.consent.withdrawals import append

    monkeypatch.setenv("FACEDATA_HOME", str(tmp_path / "A2"))
    home_a = world["A"]
    import shutil

    # home A's trees, with a ledger of its own

    shutil.copytree(home_a, tmp_path / "A2", symlinks=True)
    (tmp_path / "A2" / "erasure-log.jsonl").unlink(missing_ok=True)  # a ledger of its own
    _build_a = _cli(capsys, "build", "-d", "celeba-local", "--out", str(tmp_path / "a"),
                    "--manifests", str(world["manifests"]))  # fmt: skip
    assert _build_a.code == 0, _build_a.err
    victim = sorted(pq_subjects(tmp_path / "a"))[-1]
    append({"subject_id": victim, "dataset": "celeba-local", "when": "2026-01-02T00:00:00+00:00"})
    append({"subject_id": "someone", "dataset": "genki4k", "when": "2026-01-02T00:00:00+00:00"})
    res = _cli(capsys, "fetch", "celeba-local", "--cache", URL,
               "--manifests", str(world["manifests"]))  # fmt: skip
    assert res.code == 0, res.err
    assert "1 withdrawal(s) with it" in res.out
    assert len(store.objects("cache/withdrawals/celeba-local/")) == 1
    assert not store.objects("cache/withdrawals/genki4k/")
    again = _cli(capsys, "fetch", "celeba-local", "--cache", URL,
                 "--manifests", str(world["manifests"]))  # fmt: skip
    assert again.code == 0 and len(store.objects("cache/withdrawals/celeba-local/")) == 1
    _home_b(tmp_path, monkeypatch)
    res = _cli(capsys, "build", "-d", "celeba-local", "--cache", URL,
               "--out", str(tmp_path / "b"), "--manifests", str(world["manifests"]))  # fmt: skip
    assert res.code == 0, res.err
    assert victim not in pq_subjects(tmp_path / "b")
    assert victim in pq_subjects(tmp_path / "a")


# Promise 3: the store is hostile: a withdrawal object that does not hash to its name, or
# is not a withdrawal, stops the build (skipping it could bring a person back).
@pytest.mark.parametrize("damage", ["renamed", "not-json"])
def test_a_damaged_withdrawal_on_the_cache_stops_the_build(
    world, store: S3, tmp_path: Path, monkeypatch, capsys, damage: str
) -> None:
    _push(world, monkeypatch, "celeba-local")
    body = b'{"subject_id": "x", "when": "2026-01-01"}' if damage == "renamed" else b"{nope"
    name = "0" * 64 if damage == "renamed" else hashlib.sha256(body).hexdigest()
    store.put(f"cache/withdrawals/celeba-local/{name}.json", body)
    _home_b(tmp_path, monkeypatch)
    out = tmp_path / "b"
    res = _cli(capsys, "build", "-d", "celeba-local", "--cache", URL, "--out", str(out),
               "--manifests", str(world["manifests"]))  # fmt: skip
    assert res.code == 1 and "withdrawal" in res.err, res.out + res.err
    assert not (out / "corpus.json").exists()


def pq_subjects(corpus: Path) -> set[str]:
    import pyarrow.parquet as pq

    out: set[str] = set()
    for shard in _record(corpus)["shards"]:
        table = pq.read_table(corpus / shard["path"])
        out |= {str(v) for v in table.column("subject_id").to_pylist() if v is not None}
    return out


# Decision 1: a setting's VALUE that is a URL with user-info, however percent-encoded.
@pytest.mark.parametrize(
    "url",
    [
        "s3://bkt/c?endpoint=http://KEY:Zq9secretZq9@host:9000",
        "s3://bkt/c?endpoint=http%3A%2F%2FKEY%3AZq9secretZq9%40host",
        "s3://bkt/c?endpoint=http%253A%252F%252FKEY%253AZq9secretZq9%2540host",
        "s3://bkt/c?region=x&endpoint_url=https://Zq9secretZq9@host",
        "gs://bkt/c?endpoint=http://host/?endpoint=http://KEY:Zq9secretZq9@other",
    ],
)
def test_a_keyed_url_inside_a_setting_is_refused_and_never_printed(url: str) -> None:
    from facedata.storage.location import StorageError, cache_location, refuse_keyed

    for check in (parse, refuse_keyed, cache_location):
        with pytest.raises(StorageError) as err:
            check(url)
        assert "Zq9secretZq9" not in str(err.value) + (err.value.hint or "")
        assert "credentials" in str(err.value)


def test_a_plain_endpoint_setting_is_still_kept() -> None:
    loc = parse("s3://bkt/c?endpoint=http://host:9000&region=eu-west-1")
    assert loc is not None and loc.address == (
        "s3://bkt/c?endpoint=http://host:9000&region=eu-west-1"
    )


def test_an_endpoint_from_the_environment_reaches_workers_without_its_user_info(
    monkeypatch,
) -> None:
    from facedata.storage.cacheview import worker_address

    monkeypatch.setenv("FACEDATA_S3_ENDPOINT", f"http://{KEY_ID}:{SECRET}@127.0.0.1:9000")
    address = worker_address(parse(URL))
    assert SECRET not in address and KEY_ID not in address
    assert parse(address).option("endpoint") == "http://127.0.0.1:9000"


# Decision 6: every image extension a tree may hold is a placeholder in a view.
@pytest.mark.parametrize("name", ["a.tiff", "b.WEBP", "c.jfif", "d.jpg", "e.TIF"])
def test_image_files_of_every_kind_are_never_downloaded_as_labels(name: str) -> None:
    from facedata.storage.cacheview import is_image_name

    assert is_image_name(f"faces/{name}")
    assert not is_image_name("labels.csv") and not is_image_name("list.txt")


# Decision 3: S3 vouches for an object by the checksum it computed as it was written,
# for a single PUT and for a multipart upload (parts of PART bytes) alike.
@pytest.mark.parametrize("size", [1000, 11 << 20])
def test_the_store_vouches_for_an_object_only_by_its_own_checksum(
    store: S3, tmp_path: Path, monkeypatch, size: int
) -> None:
    import io

    from facedata.storage import remote

    monkeypatch.setattr(remote, "PART", 5 << 20)  # S3's smallest part: 11 MiB is 3 parts
    data = hashlib.sha256(b"seed").digest() * (size // 32) + b"x" * (size % 32)
    local = tmp_path / "f"
    local.write_bytes(data)
    sha = hashlib.sha256(data).hexdigest()
    s3store = remote.connect(parse(URL))
    s3store.upload_stream(io.BytesIO(data), "objects/x")
    assert s3store.holds("objects/x", sha, size, local)
    store.put("cache/objects/x", data)  # the same bytes written without a checksum
    assert not s3store.holds("objects/x", sha, size, local)
    s3store.upload_stream(io.BytesIO(b"\0" * size), "objects/x")  # right size, other bytes
    assert not s3store.holds("objects/x", sha, size, local)
    assert not s3store.holds("objects/missing", sha, size, local)


# Decision 2: a missing object is that image's failure; an unreachable store is not.
def test_a_missing_object_and_a_lost_store_are_told_apart(store: S3, monkeypatch) -> None:
    import socket

    from facedata.storage.objects import ObjectImageError, StoreUnreachable, read_object

    with pytest.raises(ObjectImageError, match="not on the cache"):
        read_object(f"{URL}?endpoint={store.endpoint}", "objects/none", 3, "0" * 64, "x.jpg")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{sock.getsockname()[1]}"
    with pytest.raises(StoreUnreachable, match="faces-bucket/cache") as err:
        read_object(f"{URL}?endpoint={dead}", "objects/none", 3, "0" * 64, "x.jpg")
    assert SECRET not in str(err.value)
