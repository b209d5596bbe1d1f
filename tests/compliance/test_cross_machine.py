"""Withdrawals and terms across machines, through the real CLI.

Home A fetches, pushes to the fetch cache on an S3 server on 127.0.0.1 and forgets;
home B (a second FACEDATA_HOME: a second machine) builds from the cache only. Each
test names the promise it holds the code to.
"""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml

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
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def world(tmp_path: Path) -> dict[str, Path]:
    """CelebA's layout (with identities) and a byte-for-byte copy of it under
    another id, `celeba-mirror`; manifests for both."""
    layouts.make_celeba(tmp_path / "celeba", n=12)
    manifests = tmp_path / "manifests"
    write_local_copy(manifests, "celeba", "celeba-local", "the test")
    write_local_copy(manifests, "celeba", "celeba-mirror", "the test")
    return {"tmp": tmp_path, "src": tmp_path / "celeba", "manifests": manifests}


def _cli(capsys, *args: str) -> CliResult:
    try:
        return run_cli(capsys, *args)
    except Exception as exc:  # noqa: BLE001 - what a user would see as a traceback
        pytest.fail(f"a traceback instead of an error: {type(exc).__name__}: {exc}")


def _home(tmp: Path, name: str, monkeypatch) -> Path:
    home = tmp / f"home-{name}"
    monkeypatch.setenv("FACEDATA_HOME", str(home))
    monkeypatch.delenv("FACEDATA_CACHE_URL", raising=False)
    return home


def _subjects(corpus: Path) -> set[str]:
    record = json.loads((corpus / "corpus.json").read_text())
    out: set[str] = set()
    for shard in record["shards"]:
        col = pq.read_table(corpus / shard["path"]).column("subject_id").to_pylist()
        out |= {str(v) for v in col if v is not None}
    return out


def _fetch_push(capsys, world, dataset: str, src: Path | None = None) -> None:
    res = _cli(capsys, "fetch", dataset, "--from", str(src or world["src"]), "--cache", URL,
               "--manifests", str(world["manifests"]))  # fmt: skip
    assert res.code == 0, res.out + res.err


def _build(capsys, world, dataset: str, out: Path, *more: str) -> CliResult:
    return _cli(capsys, "build", "-d", dataset, "--cache", URL, "--out", str(out),
                "--manifests", str(world["manifests"]), *more)  # fmt: skip


def _victim_forgotten_on_a(capsys, world, monkeypatch, *forget_args: str) -> tuple[str, set]:
    """Home A fetches celeba-local, pushes it, builds, and forgets one person with
    the cache configured; returns the person and every subject of the build."""
    _home(world["tmp"], "A", monkeypatch)
    _fetch_push(capsys, world, "celeba-local")
    out = world["tmp"] / "a"
    res = _build(capsys, world, "celeba-local", out)
    assert res.code == 0, res.err
    ids = _subjects(out)
    victim = sorted(ids)[0]
    res = _cli(capsys, "forget", "--subject", victim, *forget_args, "--cache", URL,
               str(out), "--manifests", str(world["manifests"]))  # fmt: skip
    assert res.code == 0, res.out + res.err
    return victim, ids


# Promise 1: a copy of the same photos pushed under another dataset id AFTER the
# withdrawal (from a third home) is recognised by its image hashes; the person stays
# out of home B's build of the copy.
def test_a_copy_pushed_after_the_forget_under_another_id_leaves_the_person_out(
    world, store: S3, monkeypatch, capsys
) -> None:
    victim, ids = _victim_forgotten_on_a(capsys, world, monkeypatch, "--dataset", "celeba-local")
    _home(world["tmp"], "C", monkeypatch)
    _fetch_push(capsys, world, "celeba-mirror")
    _home(world["tmp"], "B", monkeypatch)
    out = world["tmp"] / "b"
    res = _build(capsys, world, "celeba-mirror", out)
    assert res.code == 0, res.err
    got = _subjects(out)
    assert got, "the copy built no rows at all"
    assert victim not in got, f"{victim} forgotten on home A is back in a copy built on home B"


# Promise 1: home A fetched and pushed the dataset (the cache holds it) but built no
# corpus; the person's withdrawal for that dataset must still reach the cache, and
# home B's build leave them out. Today forget refuses the id as unknown: nothing is
# logged anywhere and home B keeps building the person.
def test_forget_on_the_home_that_pushed_the_dataset_reaches_the_cache(
    world, store: S3, monkeypatch, capsys
) -> None:
    _home(world["tmp"], "A", monkeypatch)
    _fetch_push(capsys, world, "celeba-local")
    _home(world["tmp"], "B", monkeypatch)
    first = world["tmp"] / "b1"
    assert _build(capsys, world, "celeba-local", first).code == 0
    victim = sorted(_subjects(first))[0]
    _home(world["tmp"], "A", monkeypatch)
    res = _cli(capsys, "forget", "--subject", victim, "--dataset", "celeba-local",
               "--cache", URL, "--manifests", str(world["manifests"]))  # fmt: skip
    assert res.code == 0, res.out + res.err
    assert store.objects("cache/withdrawals/celeba-local/")
    _home(world["tmp"], "B", monkeypatch)
    out = world["tmp"] / "b2"
    assert _build(capsys, world, "celeba-local", out).code == 0
    assert victim not in _subjects(out)


# Promise 1: `train` on home B on a corpus it built before the forget (an old copy),
# with the cache configured, refuses it.
def test_train_on_an_old_copy_on_another_home_refuses_a_withdrawn_person(
    world, store: S3, monkeypatch, capsys
) -> None:
    _home(world["tmp"], "A", monkeypatch)
    _fetch_push(capsys, world, "celeba-local")
    _home(world["tmp"], "B", monkeypatch)
    old = world["tmp"] / "b-old"
    assert _build(capsys, world, "celeba-local", old).code == 0
    victim = sorted(_subjects(old))[0]
    _home(world["tmp"], "A", monkeypatch)
    a = world["tmp"] / "a"
    assert _build(capsys, world, "celeba-local", a).code == 0
    res = _cli(capsys, "forget", "--subject", victim, "--dataset", "celeba-local",
               "--cache", URL, str(a), "--manifests", str(world["manifests"]))  # fmt: skip
    assert res.code == 0, res.out + res.err
    _home(world["tmp"], "B", monkeypatch)
    monkeypatch.setenv("FACEDATA_CACHE_URL", URL)
    res = _cli(capsys, "train", str(old), "--out", str(world["tmp"] / "model"),
               "--epochs", "1")  # fmt: skip
    assert res.code != 0, f"train on a corpus holding withdrawn {victim} succeeded:\n{res.out}"
    assert victim in res.out + res.err


DETECTOR_CLEARANCE = """clearances:
  - detector: retinaface-mnet025
    cleared_by: Legal team
    evidence: WIDER FACE weights review WF-2026-2
    expires: 2099-12-31
"""


@pytest.fixture
def fer(tmp_path: Path) -> dict[str, Path]:
    """FER2013's layout (terms unknown: never commercial) fetched as `fer2013-local`,
    and `fer-free`: a manifest claiming commercial terms for the same photos."""
    layouts.make_fer2013(tmp_path / "fer")
    manifests = tmp_path / "manifests"
    write_local_copy(manifests, "fer2013", "fer2013-local", "the test")
    write_local_copy(manifests, "fer2013", "fer-free", "the test",
                     license={"id": "LicenseRef-Fer-Free", "tier": "commercial",
                              "derivatives": "allowed", "redistribution": "allowed"})  # fmt: skip
    clearances = tmp_path / "clearances.yaml"
    clearances.write_text(DETECTOR_CLEARANCE)
    return {"tmp": tmp_path, "src": tmp_path / "fer", "manifests": manifests,
            "clearances": clearances}  # fmt: skip


def _repacked(src: Path, dst: Path, how: str) -> Path:
    """The same photos, packed otherwise: the CSV with CRLF line ends, or in a zip."""
    shutil.copytree(src, dst)
    csv = dst / "fer2013" / "fer2013.csv"
    if how == "crlf":
        csv.write_bytes(csv.read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))
        return dst
    archive = dst.with_suffix(".zip")
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for p in sorted(dst.rglob("*"), reverse=True):  # another member order
            if p.is_file():
                zf.write(p, p.relative_to(dst).as_posix())
    return archive


# Promise 2: photos carried as pixels in a label CSV (FER2013, terms unknown) re-packed
# (CRLF, or zipped) and pushed under an id claiming commercial terms are still a copy:
# `--commercial` from the cache on an empty home refuses them.
@pytest.mark.parametrize("how", ["same", "crlf", "zip"])
def test_a_repacked_fer_csv_under_commercial_terms_is_refused(
    fer, store: S3, monkeypatch, capsys, how: str
) -> None:
    _home(fer["tmp"], "A", monkeypatch)
    _fetch_push(capsys, fer, "fer2013-local")
    _home(fer["tmp"], "C", monkeypatch)
    src = fer["src"] if how == "same" else _repacked(fer["src"], fer["tmp"] / "copy", how)
    _fetch_push(capsys, fer, "fer-free", src)
    _home(fer["tmp"], "B", monkeypatch)
    res = _cli(capsys, "build", "-d", "fer-free", "--commercial", "--cache", URL,
               "--out", str(fer["tmp"] / "b"), "--manifests", str(fer["manifests"]),
               "--clearances", str(fer["clearances"]))  # fmt: skip
    assert res.code != 0, "FER2013's photos were built as commercial:\n" + res.out
    assert not (fer["tmp"] / "b" / "corpus.json").exists()


# Promise 1: a withdrawal made on home A BEFORE home B built, that reaches the cache only
# AFTER (A forgot without a cache configured, and later pushed the dataset again:
# `fetch --cache` carries the ledger's withdrawals). Home B's rebuild of its corpus must
# leave the person out; today it is "up to date" (the withdrawal is older than the
# corpus) and the person stays in it.
@pytest.mark.parametrize("where", ["folder", "s3"])
def test_a_withdrawal_that_reaches_the_cache_late_is_not_up_to_date(
    world, store: S3, monkeypatch, capsys, where: str
) -> None:
    import time

    _home(world["tmp"], "A", monkeypatch)
    _fetch_push(capsys, world, "celeba-local")
    a = world["tmp"] / "a"
    assert _build(capsys, world, "celeba-local", a).code == 0
    victim = sorted(_subjects(a))[0]
    res = _cli(capsys, "forget", "--subject", victim, "--dataset", "celeba-local", str(a),
               "--manifests", str(world["manifests"]))  # fmt: skip
    assert res.code == 0, res.out + res.err
    time.sleep(1.1)  # the corpus on B is made in a later second than the withdrawal
    _home(world["tmp"], "B", monkeypatch)
    b = world["tmp"] / "b"
    out = str(b) if where == "folder" else "s3://faces-bucket/corpora/b"
    assert _build(capsys, world, "celeba-local", out).code == 0
    if where == "s3":
        _download(store, "corpora/b", b)
    assert victim in _subjects(b)  # B could not know yet
    _home(world["tmp"], "A", monkeypatch)
    _fetch_push(capsys, world, "celeba-local")
    assert store.objects("cache/withdrawals/celeba-local/"), "the push carried no withdrawal"
    _home(world["tmp"], "B", monkeypatch)
    res = _build(capsys, world, "celeba-local", out)
    assert res.code == 0, res.out + res.err
    if where == "s3":
        shutil.rmtree(b)
        _download(store, "corpora/b", b)
    assert victim not in _subjects(b), f"rebuild said: {res.out}"


def _download(store: S3, prefix: str, to: Path) -> None:
    """The corpus the record at `prefix` names, as a local folder."""
    record = json.loads(store.get(f"{prefix}/corpus.json"))
    to.mkdir(parents=True)
    (to / "corpus.json").write_text(json.dumps(record))
    for shard in record["shards"]:
        (to / shard["path"]).parent.mkdir(parents=True, exist_ok=True)
        (to / shard["path"]).write_bytes(store.get(f"{prefix}/{shard['path']}"))


# Promise 2: the same image files of a research-only/unknown-terms folder dataset
# (fer2013-folders), renamed to an extension the copy's manifest reads
# (`format.options.extensions`), pushed under an id claiming commercial terms. The
# copy check knows trees by their image files of the usual extensions only, so the
# renamed photos are no copy; `--commercial` from the cache on an empty home must
# still refuse them.
@pytest.mark.parametrize("ext", [".jpg", ".bin"])  # .jpg: the copy as it was fetched
def test_renamed_image_files_under_commercial_terms_are_refused(
    tmp_path: Path, store: S3, monkeypatch, capsys, ext: str
) -> None:
    layouts.make_fer2013_folders(tmp_path / "ferf")
    manifests = tmp_path / "manifests"
    write_local_copy(manifests, "fer2013-folders", "ferf-local", "the test")
    data = yaml.safe_load((REPO / "manifests" / "fer2013-folders.yaml").read_text())
    fmt = data["format"]
    fmt["options"]["extensions"] = [ext]
    write_local_copy(manifests, "fer2013-folders", "ferf-free", "the test", format=fmt,
                     license={"id": "LicenseRef-Ferf-Free", "tier": "commercial",
                              "derivatives": "allowed", "redistribution": "allowed"})  # fmt: skip
    renamed = tmp_path / "renamed"
    shutil.copytree(tmp_path / "ferf", renamed)
    for p in list(renamed.rglob("*.jpg")):
        p.rename(p.with_suffix(ext))
    clearances = tmp_path / "clearances.yaml"
    clearances.write_text(DETECTOR_CLEARANCE)
    w = {"tmp": tmp_path, "src": tmp_path / "ferf", "manifests": manifests}
    _home(tmp_path, "A", monkeypatch)
    _fetch_push(capsys, w, "ferf-local")
    _home(tmp_path, "C", monkeypatch)
    _fetch_push(capsys, w, "ferf-free", renamed)
    _home(tmp_path, "B", monkeypatch)
    res = _cli(capsys, "build", "-d", "ferf-free", "--commercial", "--cache", URL,
               "--out", str(tmp_path / "b"), "--manifests", str(manifests),
               "--clearances", str(clearances))  # fmt: skip
    assert res.code != 0, "fer2013's photos were built as commercial:\n" + res.out
    assert not (tmp_path / "b" / "corpus.json").exists()


# Promise 4: a store lost once the build has begun stops the build (exit non-zero, no
# corpus, no traceback) with workers in other processes too: the local engine's pool
# and Ray (the endpoint the driver gives the tasks is one nothing listens on).
@pytest.mark.parametrize("engine", ["local", "ray"])
def test_a_store_lost_mid_build_stops_it_on_every_engine(
    world, store: S3, monkeypatch, capsys, engine: str
) -> None:
    import dataclasses
    import socket

    from facedata.read.sample import ObjectImage
    from facedata.storage import inputs

    _home(world["tmp"], "A", monkeypatch)
    _fetch_push(capsys, world, "celeba-local")
    _home(world["tmp"], "B", monkeypatch)
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{sock.getsockname()[1]}"
    real = inputs.remote

    def lost(item, fetched):  # noqa: ANN001, ANN202 - the store goes once the listing is read
        item = real(item, fetched)
        if isinstance(item.image, ObjectImage):
            store = item.image.store.split("?")[0] + f"?endpoint={dead}"
            item.image = dataclasses.replace(item.image, store=store)
        return item

    monkeypatch.setattr(inputs, "remote", lost)
    out = world["tmp"] / "b"
    res = _build(capsys, world, "celeba-local", out, "--engine", engine, "--workers", "2")
    assert res.code != 0, f"a corpus was written while the store was down:\n{res.out}"
    assert not (out / "corpus.json").exists()
    assert "Traceback" not in res.out + res.err
    assert "127.0.0.1" in res.err or "store" in res.err, res.err  # names the store


# Promise 1: own recordings copied to a second machine (home B) before a withdrawal;
# home A forgets the person with the cache configured (the cache now holds
# withdrawals/own-data/...), and home B, building its copy with that cache, must leave
# them out. Own data is read where it lies, so the build never reads the cache's
# withdrawals for it.
def test_own_recordings_on_another_home_follow_a_withdrawal_on_the_cache(
    tmp_path: Path, store: S3, monkeypatch, capsys
) -> None:
    from facedata.consent.owndata import new_local_manifest
    from tests.helpers.photos import face_variant

    rec = tmp_path / "recordings"
    lines = ["file,subject_id,smile"]
    for i, sid in enumerate(("P001", "P002", "P003")):
        img = rec / "images" / f"{sid}_0001.jpg"
        img.parent.mkdir(parents=True, exist_ok=True)
        face_variant(300 + 10 * i, (200, 240)).save(img)
        lines.append(f"images/{sid}_0001.jpg,{sid},{i % 2}")
    (rec / "annotations.csv").write_text("\n".join(lines) + "\n")
    (rec / "consent.csv").write_text(
        "subject_id,scopes,signed,withdrawn\n"
        + "".join(f"{s},research;commercial,2026-01-10,\n" for s in ("P001", "P002", "P003"))
    )
    rec_b = tmp_path / "machine-b" / "recordings"
    shutil.copytree(rec, rec_b)  # machine B's copy, made before any withdrawal
    for folder, where in ((tmp_path / "manifests-a", rec), (tmp_path / "manifests-b", rec_b)):
        folder.mkdir()
        new_local_manifest(where, "own-data", out=folder / "own-data.yaml")
    _home(tmp_path, "A", monkeypatch)
    a = tmp_path / "a"
    res = _cli(capsys, "build", "-d", "own-data", "--cache", URL, "--out", str(a),
               "--manifests", str(tmp_path / "manifests-a"))  # fmt: skip
    assert res.code == 0, res.out + res.err
    assert "P001" in _subjects(a)
    res = _cli(capsys, "forget", "--subject", "P001", "--cache", URL, str(a),
               "--manifests", str(tmp_path / "manifests-a"))  # fmt: skip
    assert res.code == 0, res.out + res.err
    assert store.objects("cache/withdrawals/"), "forget wrote nothing to the cache"
    _home(tmp_path, "B", monkeypatch)
    b = tmp_path / "b"
    res = _cli(capsys, "build", "-d", "own-data", "--cache", URL, "--out", str(b),
               "--manifests", str(tmp_path / "manifests-b"))  # fmt: skip
    assert res.code == 0, res.out + res.err
    assert _subjects(b), "home B built no rows"
    assert "P001" not in _subjects(b), "P001, forgotten on home A, is back on home B"


def _paths_or_files_holding(root: Path, needle: str) -> list[str]:
    found = []
    for p in root.rglob("*"):
        named = needle in str(p)
        if named or (p.is_file() and not p.is_symlink() and needle.encode() in p.read_bytes()):
            found.append(str(p))
    return found


# Promise 3: a keyed URL whose query holds a quote or a space before the keyed setting
# is not seen as a URL at all (`parse` gives None): `--out` then takes it for a local
# folder, and the secret lands in a folder name on disk and in the records.
@pytest.mark.parametrize("sep", ["'", " ", '"'])
def test_a_keyed_out_url_with_a_quote_or_space_is_refused(
    world, store: S3, monkeypatch, capsys, sep: str
) -> None:
    secret = "Zq9TestSecret00"
    _home(world["tmp"], "A", monkeypatch)
    _fetch_push(capsys, world, "celeba-local")
    monkeypatch.chdir(world["tmp"])
    url = f"s3://faces-bucket/c?region=us-east-1{sep}&endpoint=http://KEY:{secret}@127.0.0.1:9"
    res = _cli(capsys, "build", "-d", "celeba-local", "--out", url,
               "--manifests", str(world["manifests"]))  # fmt: skip
    assert secret not in res.out + res.err
    assert res.code != 0, "a keyed URL was accepted as --out:\n" + res.out
    leaks = _paths_or_files_holding(world["tmp"], secret)
    assert not leaks, f"the secret was written to {leaks}"


# Promise 2 (fail closed on anything unknown): the cache holds a research-only tree,
# `celeba-local`, pushed by home A under a manifest that home B's catalog does not have.
# Home C pushes the same photos as `celeba-free` (commercial terms claimed); home B,
# whose catalog knows only celeba-free, builds it `--commercial` from the cache. The
# copy check reads only trees of datasets B's catalog knows, so the overlap with a tree
# of unknown terms is never seen.
def test_a_copy_of_a_tree_of_unknown_terms_on_the_cache_is_refused(
    world, store: S3, monkeypatch, capsys
) -> None:
    tmp = world["tmp"]
    only_free = tmp / "manifests-free"
    write_local_copy(only_free, "celeba", "celeba-free", "the test",
                     license={"id": "LicenseRef-Celeba-Free", "tier": "commercial",
                              "derivatives": "allowed", "redistribution": "allowed"})  # fmt: skip
    clearances = tmp / "clearances.yaml"
    clearances.write_text(DETECTOR_CLEARANCE)
    _home(tmp, "A", monkeypatch)
    _fetch_push(capsys, world, "celeba-local")  # world's manifests: celeba-local, research
    _home(tmp, "C", monkeypatch)
    _fetch_push(capsys, {**world, "manifests": only_free}, "celeba-free")
    _home(tmp, "B", monkeypatch)
    res = _cli(capsys, "build", "-d", "celeba-free", "--commercial", "--cache", URL,
               "--out", str(tmp / "b"), "--manifests", str(only_free),
               "--clearances", str(clearances))  # fmt: skip
    assert res.code != 0, "photos of a research-only tree were built as commercial:\n" + res.out
    assert not (tmp / "b" / "corpus.json").exists()


# Promise 1: as above for a withdrawal: home A forgets a person of `celeba-local` with
# the cache; home C pushes the same photos as `celeba-mirror`; home B, whose catalog
# knows only celeba-mirror, builds it from the cache. The withdrawal is filed under
# withdrawals/celeba-local/, a dataset B does not know, and the person comes back.
def test_a_withdrawal_follows_a_copy_into_a_home_that_does_not_know_the_original(
    world, store: S3, monkeypatch, capsys
) -> None:
    victim, _ = _victim_forgotten_on_a(capsys, world, monkeypatch, "--dataset", "celeba-local")
    only_mirror = world["tmp"] / "manifests-mirror"
    only_mirror.mkdir()
    shutil.copy(world["manifests"] / "celeba-mirror.yaml", only_mirror)
    mirror = {**world, "manifests": only_mirror}
    _home(world["tmp"], "C", monkeypatch)
    _fetch_push(capsys, mirror, "celeba-mirror")
    _home(world["tmp"], "B", monkeypatch)
    out = world["tmp"] / "b"
    res = _build(capsys, mirror, "celeba-mirror", out)
    assert res.code == 0, res.out + res.err
    got = _subjects(out)
    assert got, "the copy built no rows at all"
    assert victim not in got, f"{victim} forgotten on home A is back in a copy built on home B"


# Promise 4: FER's label CSV missing on the store, or replaced there by other bytes (of
# the same size, or a CRLF copy), is refused by a build on an empty home, naming it.
@pytest.mark.parametrize("damage", ["missing", "same-size", "crlf"])
def test_a_label_csv_missing_or_changed_on_the_store_is_refused(
    fer, store: S3, monkeypatch, capsys, damage: str
) -> None:
    _home(fer["tmp"], "A", monkeypatch)
    _fetch_push(capsys, fer, "fer2013-local")
    tree = json.loads(store.get("cache/trees/fer2013-local/local-copy.json"))
    files = tree["files"]
    rel = "fer2013/fer2013.csv"
    entry = files[rel] if isinstance(files, dict) else next(f for f in files if rel in str(f))
    sha = entry[1] if isinstance(entry, list) else entry.get("sha256")
    key = next(k for k in store.objects("cache/objects/") if k.endswith(sha))
    body = store.get(key)
    if damage == "missing":
        store.client().delete_object(Bucket=store.bucket, Key=key)
    elif damage == "same-size":
        store.put(key, body[:-5] + b"1 2 3"[: len(body[-5:])])
    else:
        store.put(key, body.replace(b"\n", b"\r\n"))
    _home(fer["tmp"], "B", monkeypatch)
    out = fer["tmp"] / "b"
    res = _cli(capsys, "build", "-d", "fer2013-local", "--cache", URL, "--out", str(out),
               "--workers", "2", "--manifests", str(fer["manifests"]))  # fmt: skip
    assert res.code != 0, f"a build read a {damage} label file:\n{res.out}"
    assert "fer2013.csv" in res.err, res.err
    assert not (out / "corpus.json").exists()


# Promise 1: home A forgets a person with the cache configured while home B is building
# from the cache (after B read the cache's withdrawals, before it publishes). B reads
# the cache's withdrawals again last, before publishing: the person is not in the corpus
# B publishes, into a folder or to S3, and the corpus records the erasure.
@pytest.mark.parametrize("where", ["folder", "s3"])
def test_a_withdrawal_on_the_cache_during_a_build_is_applied_before_publishing(
    world, store: S3, monkeypatch, capsys, where: str
) -> None:
    import datetime as dt

    from facedata.assemble import pipeline
    from facedata.consent.withdrawals import parse_withdrawal
    from facedata.storage import cachewithdrawals
    from facedata.storage.location import cache_location

    _home(world["tmp"], "A", monkeypatch)
    _fetch_push(capsys, world, "celeba-local")
    a = world["tmp"] / "a"
    assert _build(capsys, world, "celeba-local", a).code == 0
    victim = sorted(_subjects(a))[0]

    real = pipeline.run_sharded
    forgotten: list[str] = []

    def forget_on_a_meanwhile(*args, **kwargs):
        shards = real(*args, **kwargs)  # B's rows are made, the victim's among them
        entry = {
            "subject_id": victim,
            "dataset": "celeba-local",
            "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "by": "home A",
        }
        # what `forget --cache` on home A writes (consent/forget.py `_record_on_cache`)
        forgotten.extend(
            cachewithdrawals.record(
                cache_location(URL), {"celeba-local"}, [parse_withdrawal(entry, "forget")]
            )
        )
        return shards

    monkeypatch.setattr(pipeline, "run_sharded", forget_on_a_meanwhile)
    _home(world["tmp"], "B", monkeypatch)
    b = world["tmp"] / "b"
    out = str(b) if where == "folder" else "s3://faces-bucket/corpora/b"
    res = _build(capsys, world, "celeba-local", out)
    assert res.code == 0, res.out + res.err
    assert forgotten, "the withdrawal was not written during the build"
    if where == "s3":
        _download(store, "corpora/b", b)
    got = _subjects(b)
    assert got, "the build kept no rows at all"
    assert victim not in got, f"{victim}, forgotten during the build, was published"
    record = json.loads((b / "corpus.json").read_text())
    marks = [m for m in record.get("forgotten") or [] if m.get("subject_id") == victim]
    assert marks and marks[0].get("source") == "withdrawn during the build", record.get("forgotten")


# Promise 1: home A forgets a person with the cache configured while home B trains on a
# corpus holding them (the training loop has run: the weights hold the person). B
# checks the cache's withdrawals again before writing the model: nothing is written.
@needs("torch", "onnxruntime")
def test_a_withdrawal_on_the_cache_during_training_stops_the_model_being_written(
    world, store: S3, monkeypatch, capsys
) -> None:
    import datetime as dt

    from facedata.consent.withdrawals import parse_withdrawal
    from facedata.learn import train as train_module
    from facedata.storage import cachewithdrawals
    from facedata.storage.location import cache_location

    _home(world["tmp"], "A", monkeypatch)
    _fetch_push(capsys, world, "celeba-local")
    _home(world["tmp"], "B", monkeypatch)
    corpus = world["tmp"] / "b"
    assert _build(capsys, world, "celeba-local", corpus).code == 0
    victim = sorted(_subjects(corpus))[0]
    real = train_module.model_terms

    def forget_on_a_while_training(*args, **kwargs):
        entry = {
            "subject_id": victim,
            "dataset": "celeba-local",
            "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "by": "home A",
        }
        cachewithdrawals.record(
            cache_location(URL), {"celeba-local"}, [parse_withdrawal(entry, "forget")]
        )
        return real(*args, **kwargs)

    monkeypatch.setattr(train_module, "model_terms", forget_on_a_while_training)
    model = world["tmp"] / "model"
    res = _cli(capsys, "train", str(corpus), "--out", str(model), "--cache", URL,
               "--epochs", "1", "--batch-size", "8", "--width", "4", "--threads", "1")  # fmt: skip
    assert res.code != 0, f"a model holding withdrawn {victim} was written:\n{res.out}"
    assert victim in res.err and "withdrew while this model trained" in res.err, res.err
    assert "Traceback" not in res.err
    assert not model.exists()


# Promise 1: a model trained on home B before a person was forgotten on home A (with
# the cache) is flagged by `predict` on home B once B has the cache configured: its
# weights hold someone who asked to leave, though no `forget` ran on B.
@needs("torch", "onnxruntime")
def test_predict_on_another_home_flags_a_model_holding_a_person_forgotten_on_the_cache(
    world, store: S3, monkeypatch, capsys
) -> None:
    _home(world["tmp"], "A", monkeypatch)
    _fetch_push(capsys, world, "celeba-local")
    _home(world["tmp"], "B", monkeypatch)
    corpus = world["tmp"] / "b"
    assert _build(capsys, world, "celeba-local", corpus).code == 0
    model = world["tmp"] / "model"
    res = _cli(capsys, "train", str(corpus), "--out", str(model), "--epochs", "1",
               "--batch-size", "8", "--width", "4", "--threads", "1")  # fmt: skip
    assert res.code == 0, res.out + res.err
    photo = next((world["src"]).rglob("*.jpg"))
    res = _cli(capsys, "predict", str(model), str(photo))
    assert res.code == 0 and "who withdrew" not in res.err, res.err
    victim = sorted(_subjects(corpus))[0]
    _home(world["tmp"], "A", monkeypatch)
    res = _cli(capsys, "forget", "--subject", victim, "--dataset", "celeba-local",
               "--cache", URL, "--manifests", str(world["manifests"]))  # fmt: skip
    assert res.code == 0, res.out + res.err
    _home(world["tmp"], "B", monkeypatch)
    monkeypatch.setenv("FACEDATA_CACHE_URL", URL)
    res = _cli(capsys, "predict", str(model), str(photo))
    assert res.code == 0, res.err
    assert f"subject {victim}, who withdrew" in res.err, res.err
    # a store that cannot be read is said, never taken as "no withdrawals"
    monkeypatch.setenv("FACEDATA_CACHE_URL", "s3://no-such-bucket/cache")
    res = _cli(capsys, "predict", str(model), str(photo))
    assert res.code == 0 and "withdrawals could not be read" in res.err, res.err
