"""The fetch cache on object storage: trees pushed by `fetch --cache`, builds that read
their inputs from it in a second, empty FACEDATA_HOME, and a store that lies.

The reference is the build from the local cache: a build from the store must write
the same shards (sha256) and rows, image bytes included.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from facedata.assemble.pipeline import build
from facedata.assemble.recipe import Recipe
from facedata.storage.cachepush import push_tree
from facedata.storage.location import parse
from tests.fixtures import layouts
from tests.helpers.cli import run_cli
from tests.helpers.extras import needs
from tests.helpers.manifests import write_local_copy
from tests.storage.conftest import S3, SECRET

pytestmark = needs("moto", "boto3")

URL = "s3://faces-bucket/cache"
DATASETS = ["celeba-local", "fer2013-local", "smilesmiled-local"]
SAME = ("counts", "dedup", "drops", "leaks", "labels", "datasets", "image_errors")
SOURCE = "local-copy"


@pytest.fixture(scope="module")
def local(tmp_path_factory):
    """CelebA (JPEGs + label files), FER2013 (CSV pixels) and SMILEsmileD (JPEGs whose
    reader compares their bytes on the driver), fetched into one home and built there
    from the local cache: the reference every build from the store meets."""
    tmp = tmp_path_factory.mktemp("cache")
    src = tmp / "src"
    layouts.make_celeba(src / "celeba", n=12)
    layouts.make_fer2013(src / "fer2013")
    layouts.make_smilesmiled(src / "smilesmiled")
    # same size as a negative, other bytes: only the listing's hashes tell them apart
    smiles = src / "smilesmiled" / "SMILEsmileD-master" / "SMILEs"
    twin = bytearray((smiles / "negatives" / "negatives7" / "700.jpg").read_bytes())
    twin[-10] ^= 1
    (smiles / "positives" / "positives7" / "77.jpg").write_bytes(bytes(twin))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FACEDATA_HOME", str(tmp / "home"))
        mp.delenv("FACEDATA_CACHE_URL", raising=False)
        for base in ("celeba", "fer2013", "smilesmiled"):
            write_local_copy(tmp / "manifests", base, f"{base}-local", "the test")
        from facedata.fetch import fetch_dataset
        from facedata.manifest.catalog import Catalog

        cat = Catalog.load([tmp / "manifests"])
        for ds in DATASETS:
            fetch_dataset(cat.get(ds), from_path=src / ds.removesuffix("-local"))
        recipe = Recipe(
            datasets=DATASETS,
            out=tmp / "out" / "local",
            batch_size=5,
            shard_rows=7,
            manifests=[tmp / "manifests"],
        )
        corpus = build(recipe)
    return {"tmp": tmp, "src": src, "recipe": recipe, "corpus": corpus, "home": tmp / "home"}


def _rows(out: Path) -> dict[str, list[dict]]:
    return {f.name: pq.read_table(f).to_pylist() for f in sorted((out / "data").glob("*.parquet"))}


def _push_all(local, monkeypatch) -> None:
    monkeypatch.setenv("FACEDATA_HOME", str(local["home"]))
    for ds in DATASETS:
        push_tree(parse(URL), ds, SOURCE)


def _second_home(tmp_path: Path, monkeypatch) -> Path:
    home = tmp_path / "second-home"
    monkeypatch.setenv("FACEDATA_HOME", str(home))
    return home


def _build_from_cache(local, tmp_path: Path, name: str = "remote", **update):
    recipe = local["recipe"].model_copy(update={"out": tmp_path / name, "cache": URL, **update})
    return recipe, build(recipe)


def _same_corpus(local, corpus, out: Path) -> None:
    ref = local["corpus"]
    for key in SAME:
        assert corpus[key] == ref[key], key
    assert [(s["path"], s["rows"], s["sha256"]) for s in corpus["shards"]] == [
        (s["path"], s["rows"], s["sha256"]) for s in ref["shards"]
    ]
    assert _rows(out) == _rows(local["recipe"].out)


def test_fetch_pushes_and_a_build_in_an_empty_home_reads_the_store(
    local, s3: S3, tmp_path: Path, monkeypatch, capsys
) -> None:
    monkeypatch.setenv("FACEDATA_HOME", str(local["home"]))
    manifests = str(local["tmp"] / "manifests")
    src = local["src"]
    res = run_cli(
        capsys, "fetch", "celeba-local", "--from", str(src / "celeba"), "--cache", URL,
        "--manifests", manifests,
    )  # fmt: skip
    assert res.code == 0, res.err
    assert "pushed to s3://faces-bucket/cache/trees/celeba-local/local-copy.json" in res.out
    assert "files uploaded" in res.out
    monkeypatch.setenv("FACEDATA_CACHE_URL", URL)  # the environment names the cache too
    res = run_cli(capsys, "fetch", "fer2013-local", "--manifests", manifests)
    assert res.code == 0, res.err
    assert "already fetched" in res.out and "pushed to" in res.out
    push_tree(parse(URL), "smilesmiled-local", SOURCE)
    monkeypatch.delenv("FACEDATA_CACHE_URL")
    keys = s3.objects("cache/")
    assert "cache/trees/celeba-local/local-copy.json" in keys
    assert all(k.startswith(("cache/objects/sha256/", "cache/trees/")) for k in keys), keys

    home = _second_home(tmp_path, monkeypatch)
    out = tmp_path / "remote"
    recipe = local["recipe"].model_copy(update={"out": out, "cache": URL})
    path = tmp_path / "recipe.yaml"
    path.write_text(recipe.to_yaml())
    res = run_cli(capsys, "build", str(path))
    assert res.code == 0, res.err
    corpus = json.loads((out / "corpus.json").read_text())
    _same_corpus(local, corpus, out)
    assert not (home / "datasets").exists() and not (home / "facedata.lock").exists()
    # the driver downloaded label files only: images are placeholders, never fetched
    views = list((home / "remote" / "cache").iterdir())
    assert len(views) == 3
    jpgs = list((home / "remote" / "cache").rglob("*.jpg"))
    assert len(jpgs) == 12 + 13 and all(set(p.read_bytes()) == {0} for p in jpgs)
    downloaded = list((home / "remote" / "objects").rglob("*"))
    assert not any(p.is_file() and p.stat().st_size and p.read_bytes()[:2] == b"\xff\xd8"
                   for p in downloaded)  # fmt: skip

    # the same build again from the cache, with --cache on the command line: up to date
    res = run_cli(capsys, "build", str(path), "--cache", URL)
    assert res.code == 0, res.err
    assert "up to date" in res.out


def test_a_repush_uploads_nothing(local, s3: S3, monkeypatch) -> None:
    monkeypatch.setenv("FACEDATA_HOME", str(local["home"]))
    first = push_tree(parse(URL), "celeba-local", SOURCE)
    assert first.uploaded > 12 and first.present == 0
    again = push_tree(parse(URL), "celeba-local", SOURCE)
    assert (again.uploaded, again.uploaded_bytes) == (0, 0)
    assert again.present == first.uploaded


def test_an_interrupted_push_leaves_no_tree(local, s3: S3, tmp_path: Path, monkeypatch) -> None:
    from facedata.errors import BuildError
    from facedata.storage import remote

    monkeypatch.setenv("FACEDATA_HOME", str(local["home"]))

    def lost(self, rel, data):  # noqa: ANN001, ANN202 - the connection drops at the end
        raise remote.StorageError("connection lost")

    with monkeypatch.context() as mp:
        mp.setattr(remote.S3Store, "write_bytes", lost)
        with pytest.raises(remote.StorageError):
            push_tree(parse(URL), "celeba-local", SOURCE)
    assert s3.objects("cache/objects/") and not s3.objects("cache/trees/")
    _second_home(tmp_path, monkeypatch)
    with pytest.raises(BuildError, match="not on the fetch cache") as err:
        _build_from_cache(local, tmp_path)
    assert "--cache s3://faces-bucket/cache" in (err.value.hint or "")


def test_a_tree_edited_since_fetch_is_not_pushed(local, s3: S3, tmp_path, monkeypatch) -> None:
    from facedata.errors import FetchError
    from facedata.fetch.store import tree_dir

    monkeypatch.setenv("FACEDATA_HOME", str(local["home"]))
    labels = tree_dir("celeba-local", SOURCE) / "Anno" / "list_attr_celeba.txt"
    before = labels.read_bytes()
    stat = labels.stat()
    try:
        labels.chmod(0o644)
        labels.write_bytes(before.replace(b" 1", b"-1", 1))  # same size, and same time:
        import os

        os.utime(labels, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # caught while hashing
        with pytest.raises(FetchError, match="list_attr_celeba.txt is not the file"):
            push_tree(parse(URL), "celeba-local", SOURCE)
    finally:
        labels.write_bytes(before)
        os.utime(labels, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert not s3.objects("cache/trees/")
    # the edited bytes are not left under the hash the list gives for the file
    from facedata.fetch import treelist

    sha = treelist.read("celeba-local", SOURCE)[0]["Anno/list_attr_celeba.txt"].sha256
    assert f"cache/objects/sha256/{sha[:2]}/{sha}" not in s3.objects("cache/objects/")


def _image_key(s3: S3) -> tuple[str, str]:
    """(the listing key, an image's object key) of the pushed CelebA tree."""
    listing = json.loads(s3.get("cache/trees/celeba-local/local-copy.json"))
    rel, (_, sha) = next((r, v) for r, v in sorted(listing["files"].items()) if r.endswith(".jpg"))
    return rel, f"cache/objects/sha256/{sha[:2]}/{sha}"


def test_an_image_changed_on_the_store_is_a_named_counted_failure(
    local, s3: S3, tmp_path: Path, monkeypatch
) -> None:
    _push_all(local, monkeypatch)
    rel, key = _image_key(s3)
    s3.put(key, s3.get(key)[:-1] + b"\x00")  # same size, other bytes
    _second_home(tmp_path, monkeypatch)
    _, corpus = _build_from_cache(local, tmp_path)
    errors = corpus["image_errors"]
    assert len(errors) == 1, errors
    text = json.dumps(errors)
    assert f"s3://faces-bucket/cache:{rel}" in text
    assert "unreadable image" in text and "not the file its listing names" in text
    assert corpus["counts"]["total"] == local["corpus"]["counts"]["total"] - 1


def test_a_missing_object_is_a_counted_failure(local, s3: S3, tmp_path, monkeypatch) -> None:
    _push_all(local, monkeypatch)
    rel, key = _image_key(s3)
    s3.client().delete_object(Bucket=s3.bucket, Key=key)
    _second_home(tmp_path, monkeypatch)
    _, corpus = _build_from_cache(local, tmp_path)
    (error,) = corpus["image_errors"]
    assert error["where"] == f"s3://faces-bucket/cache:{rel}"
    assert error["reason"] == "unreadable image"
    assert corpus["counts"]["total"] == local["corpus"]["counts"]["total"] - 1


def _hostile_listing(s3: S3, edit) -> None:  # noqa: ANN001 - a function of the document
    key = "cache/trees/celeba-local/local-copy.json"
    doc = json.loads(s3.get(key))
    edit(doc)
    s3.put(key, json.dumps(doc).encode())


@pytest.mark.parametrize(
    ("edit", "says"),
    [
        (lambda d: d["files"].update({"../../escape.txt": [3, "a" * 64]}), "climbs out"),
        (lambda d: d["files"].update({"/etc/passwd": [3, "a" * 64]}), "absolute path"),
        (lambda d: d["files"].update({"Anno\\..\\..\\x.txt": [3, "a" * 64]}), "backslash"),
        (lambda d: d["files"].update({"readme.TXT": [3, "a" * 64]}), "differ only by case"),
        (lambda d: d["files"].update({"a.txt": [3, "not-a-hash"]}), "sha256"),
        (lambda d: d["lock"].update({"dataset": "other"}), "not celeba-local"),
        (lambda d: d.update({"files": [[[[[[[[[[]]]]]]]]]]}), "not JSON"),
    ],
)
def test_a_hostile_listing_is_refused(
    local, s3: S3, tmp_path: Path, monkeypatch, edit, says
) -> None:
    from facedata.storage.cachetree import ListingError

    _push_all(local, monkeypatch)
    _hostile_listing(s3, edit)
    home = _second_home(tmp_path, monkeypatch)
    with pytest.raises(ListingError, match=says) as err:
        _build_from_cache(local, tmp_path)
    assert "s3://faces-bucket/cache/trees/celeba-local/local-copy.json" in err.value.message
    assert not (home / "remote" / "cache").exists() or not any(
        (home / "remote" / "cache").rglob("escape.txt")
    )


def test_a_huge_listing_is_refused_unread(local, s3: S3, tmp_path, monkeypatch) -> None:
    from facedata.storage import cachetree

    _push_all(local, monkeypatch)
    monkeypatch.setattr(cachetree, "MAX_FILES", 10)
    _second_home(tmp_path, monkeypatch)
    with pytest.raises(cachetree.ListingError, match="over the 10 allowed"):
        _build_from_cache(local, tmp_path)
    monkeypatch.setattr(cachetree, "MAX_LISTING_BYTES", 1000)
    monkeypatch.setattr("facedata.storage.cacheview.MAX_LISTING_BYTES", 1000)
    with pytest.raises(cachetree.StorageError, match="over the 1,000 allowed"):
        _build_from_cache(local, tmp_path)


def test_a_label_file_changed_on_the_store_is_refused(
    local, s3: S3, tmp_path: Path, monkeypatch, capsys
) -> None:
    _push_all(local, monkeypatch)
    listing = json.loads(s3.get("cache/trees/celeba-local/local-copy.json"))
    _, sha = listing["files"]["Anno/list_attr_celeba.txt"]
    key = f"cache/objects/sha256/{sha[:2]}/{sha}"
    s3.put(key, s3.get(key).replace(b" 1", b"-1"))  # every smile flipped
    home = _second_home(tmp_path, monkeypatch)
    recipe = local["recipe"].model_copy(update={"out": tmp_path / "x", "cache": URL})
    path = tmp_path / "r.yaml"
    path.write_text(recipe.to_yaml())
    res = run_cli(capsys, "build", str(path))
    assert res.code == 1, res.out
    assert "celeba-local/local-copy/Anno/list_attr_celeba.txt" in res.err
    assert "not the file its listing names" in res.err and "Traceback" not in res.err
    assert not (tmp_path / "x").exists()
    assert not list((home / "remote" / "objects").rglob(sha))


def test_a_keyed_cache_url_is_refused_and_never_printed(
    local, s3: S3, tmp_path: Path, monkeypatch, capsys
) -> None:
    monkeypatch.setenv("FACEDATA_HOME", str(local["home"]))
    keyed = f"s3://AKIA:{SECRET}@faces-bucket/cache"
    manifests = str(local["tmp"] / "manifests")
    res = run_cli(capsys, "fetch", "celeba-local", "--cache", keyed, "--manifests", manifests)
    assert res.code == 1 and "carries credentials" in res.err
    assert SECRET not in res.out + res.err
    res = run_cli(
        capsys, "build", "-d", "celeba-local", "--out", str(tmp_path / "o"), "--cache",
        f"s3://faces-bucket/cache?secret={SECRET}", "--manifests", manifests,
    )  # fmt: skip
    assert res.code != 0 and SECRET not in res.out + res.err
    assert "credentials" in res.err
    assert not s3.objects()


def test_a_store_that_is_down_is_a_clear_error(local, tmp_path: Path, monkeypatch, capsys):
    monkeypatch.setenv("FACEDATA_HOME", str(local["home"]))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAFACEDATATEST0001")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    down = "s3://faces-bucket/cache?endpoint=http://127.0.0.1:9"
    manifests = str(local["tmp"] / "manifests")
    res = run_cli(capsys, "fetch", "celeba-local", "--cache", down, "--manifests", manifests)
    assert res.code == 1, res.out
    assert "cannot look up s3://faces-bucket/cache/objects/" in res.err
    assert "Traceback" not in res.err and SECRET not in res.out + res.err
    _second_home(tmp_path, monkeypatch)
    res = run_cli(
        capsys, "build", "-d", "celeba-local", "--out", str(tmp_path / "o"), "--cache", down,
        "--manifests", manifests,
    )  # fmt: skip
    assert res.code == 1, res.out
    # the first request is the copy check's listing of every tree on the cache
    assert "cannot list s3://faces-bucket/cache/trees" in res.err
    assert "Traceback" not in res.err and SECRET not in res.out + res.err


def test_a_zip_member_is_read_from_the_nodes_own_copy_of_its_archive(
    s3: S3, tmp_path: Path, monkeypatch
) -> None:
    """A worker copies an archive once into its node's object folder (verified) and
    reads members from there; a damaged archive is a named unreadable image."""
    import hashlib
    import io
    import pickle
    import zipfile

    from facedata.fetch.core import FetchResult
    from facedata.manifest.catalog import Catalog
    from facedata.read.sample import ObjectZipMemberImage, Sample, ZipMemberImage
    from facedata.storage import inputs
    from facedata.storage.cacheview import CacheView
    from facedata.storage.objects import ObjectImageError

    monkeypatch.setenv("FACEDATA_HOME", str(tmp_path / "node"))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("a/face.jpg", b"\xff\xd8 the face's bytes")
    archive = buf.getvalue()
    sha = hashlib.sha256(archive).hexdigest()
    key = f"objects/sha256/{sha[:2]}/{sha}"
    s3.put(f"cache/{key}", archive)

    # what the driver hands the worker for a member of an archive in a view
    view = tmp_path / "view"
    src = Catalog.load([]).get("genki4k").sources[0]
    fetched = CacheView(
        "genki4k", src, view, [], store=f"{URL}?endpoint={s3.endpoint}",
        objects={"faces.zip": (len(archive), sha)}, prefixes=(f"{view}/",),
    )  # fmt: skip
    sample = Sample("genki4k", "k", ZipMemberImage(view / "faces.zip", "a/face.jpg"))
    ref = inputs.remote(sample, fetched).image
    assert isinstance(ref, ObjectZipMemberImage)
    assert ref.describe() == "s3://faces-bucket/cache:faces.zip!a/face.jpg"
    plain = Sample("genki4k", "k", ZipMemberImage(view / "faces.zip", "a/face.jpg"))
    assert inputs.remote(plain, FetchResult("genki4k", src, view, [])).image == plain.image

    ref = pickle.loads(pickle.dumps(ref))  # as it reaches a worker
    assert ref.read_bytes() == b"\xff\xd8 the face's bytes"
    copy = tmp_path / "node" / "remote" / "objects" / sha[:2] / sha
    assert copy.read_bytes() == archive
    s3.client().delete_object(Bucket=s3.bucket, Key=f"cache/{key}")
    assert ref.read_bytes() == b"\xff\xd8 the face's bytes"  # the node's copy, once fetched

    damaged = archive[:-3] + b"xyz"
    other = "0" * 64
    s3.put(f"cache/objects/sha256/00/{other}", damaged)
    bad = ObjectZipMemberImage(
        ref.store, f"objects/sha256/00/{other}", len(damaged), other, "b.zip", "a/face.jpg"
    )
    with pytest.raises(ObjectImageError, match="b.zip!a/face.jpg on the cache is not the file"):
        bad.read_bytes()
    assert not list((tmp_path / "node" / "remote" / "objects" / "00").iterdir())


def test_a_view_gives_its_images_hashes_without_reading_them(
    local, s3: S3, tmp_path: Path, monkeypatch
) -> None:
    """A reader that compares image contents on the driver (smiles/smiled's duplicate
    check) gets them from the listing: the view's placeholders are all zeros."""
    from facedata.manifest.catalog import Catalog
    from facedata.storage.cacheview import listed_sha256, remote_fetched

    _push_all(local, monkeypatch)
    _second_home(tmp_path, monkeypatch)
    manifest = Catalog.load([local["tmp"] / "manifests"]).get("celeba-local")
    view = remote_fetched(manifest, None, parse(URL))
    assert view is not None
    jpg = next(view.root.rglob("*.jpg"))
    rel = jpg.relative_to(view.root).as_posix()
    assert set(jpg.read_bytes()) == {0}
    assert listed_sha256(jpg) == view.objects[rel][1] != listed_sha256(tmp_path / "x.jpg")
    assert listed_sha256(tmp_path / "x.jpg") is None


def test_a_view_is_reused_whole_and_laid_out_again_when_damaged(
    local, s3: S3, tmp_path: Path, monkeypatch
) -> None:
    from facedata.manifest.catalog import Catalog
    from facedata.storage.cacheview import remote_fetched

    _push_all(local, monkeypatch)
    _second_home(tmp_path, monkeypatch)
    manifest = Catalog.load([local["tmp"] / "manifests"]).get("celeba-local")
    first = remote_fetched(manifest, None, parse(URL))
    labels = first.root / "Anno" / "list_attr_celeba.txt"
    inode = labels.stat().st_ino
    again = remote_fetched(manifest, None, parse(URL))
    assert again.root == first.root and labels.stat().st_ino == inode  # nothing laid out
    jpg = next(first.root.rglob("*.jpg"))
    jpg.unlink()
    third = remote_fetched(manifest, None, parse(URL))
    assert third.root == first.root and jpg.is_file() and labels.is_file()
    assert not [p for p in first.root.parent.iterdir() if p.name.startswith(".")]


def test_a_pixels_csv_on_the_cache_is_read_in_ranges_from_the_store(
    local, s3: S3, tmp_path: Path, monkeypatch
) -> None:
    """FER's CSV is a label file of the view: the build's workers read its ranges from
    the store's object (verified whole), not from the driver's copy, and the corpus is
    the local build's."""
    from facedata.storage.objects import ObjectBlob

    _push_all(local, monkeypatch)
    _second_home(tmp_path, monkeypatch)
    read: list[str] = []
    real = ObjectBlob.read_range

    def spy(self: ObjectBlob, start: int, end: int) -> bytes:
        read.append(self.relpath)
        return real(self, start, end)

    monkeypatch.setattr(ObjectBlob, "read_range", spy)
    recipe, corpus = _build_from_cache(local, tmp_path)
    _same_corpus(local, corpus, recipe.out)
    assert read and {r.rsplit("/", 1)[-1] for r in read} == {"fer2013.csv"}
