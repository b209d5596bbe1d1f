"""Gated sources: instructions and exit code 2, then registering what a person obtained."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from facedata.errors import AccessRequiredError, FetchError, IntegrityError
from facedata.fetch import fetch_dataset, fetched, verify
from facedata.fetch.store import blob_path, get_source_lock
from tests.fetch.conftest import write_manifest
from tests.helpers.cli import run_cli
from tests.helpers.servers import make_zip, serve_files, sha256, throttle

ALIGNED = make_zip({"aligned/train_00001_aligned.jpg": b"jpeg1", "__MACOSX/._x": b"junk"})
GATED = {
    "id": "official",
    "kind": "manual",
    "official": True,
    "access": {
        "level": "agreement",
        "instructions": "Sign the EULA and e-mail it to the lab.",
        "request_url": "https://example.org/raf/request",
        "contact": "lab@example.org",
    },
    "files": [{"name": "basic/Image/aligned.zip", "sha256": sha256(ALIGNED)}],
}
MIRROR = {"id": "kaggle", "kind": "kaggle", "official": False, "kaggle": "someone/rafdb"}


def gated(folder: Path):
    return write_manifest(folder, "gset", [GATED, MIRROR])


def test_gated_source_prints_instructions_and_names_alternatives(manifest_dir):
    with pytest.raises(AccessRequiredError) as err:
        fetch_dataset(gated(manifest_dir))
    assert err.value.exit_code == 2
    for text in ("Sign the EULA", "https://example.org/raf/request", "lab@example.org"):
        assert text in err.value.message
    assert "--from PATH" in err.value.hint and "kaggle (kaggle, unofficial)" in err.value.hint


def test_cli_exits_2_with_the_instructions(manifest_dir, capsys):
    gated(manifest_dir)
    res = run_cli(capsys, "fetch", "gset", "--manifests", str(manifest_dir))
    assert res.code == 2
    assert "Sign the EULA" in res.err and "--from PATH" in res.err


def test_from_archive_is_checked_unpacked_in_place_and_pinned(manifest_dir, tmp_path):
    download = tmp_path / "Downloads" / "aligned.zip"
    download.parent.mkdir()
    download.write_bytes(ALIGNED)
    m = gated(manifest_dir)
    res = fetch_dataset(m, from_path=download)
    assert res.source.id == "official" and res.official
    assert (res.root / "basic/Image/aligned/train_00001_aligned.jpg").read_bytes() == b"jpeg1"
    assert not (res.root / "basic/Image/__MACOSX").exists()
    (entry,) = res.files
    assert entry.origin == str(download) and entry.sha256 == sha256(ALIGNED)
    assert download.read_bytes() == ALIGNED and os.access(download, os.W_OK)  # theirs, untouched
    assert fetch_dataset(m).cached  # now fetched: no more instructions
    assert all(v.ok for v in verify(m))


def test_from_wrong_archive_is_refused(manifest_dir, tmp_path):
    other = tmp_path / "aligned.zip"
    other.write_bytes(make_zip({"x.jpg": b"other"}))
    m = gated(manifest_dir)
    with pytest.raises(IntegrityError, match="expected " + sha256(ALIGNED)):
        fetch_dataset(m, from_path=other)
    assert fetched(m) is None


def test_from_unrelated_file_names_what_is_expected(manifest_dir, tmp_path):
    two = {**GATED, "files": [{"name": "a.zip"}, {"name": "b.zip"}]}
    m = write_manifest(manifest_dir, "gtwo", [two])
    stray = tmp_path / "c.zip"
    stray.write_bytes(ALIGNED)
    with pytest.raises(FetchError, match="none of the files") as err:
        fetch_dataset(m, from_path=stray)
    assert "a.zip, b.zip" in err.value.message


def test_from_folder_copies_loose_files_unpacks_archives_and_verify_sees_changes(
    manifest_dir, tmp_path
):
    folder = tmp_path / "RAF-DB"
    (folder / "basic/Image").mkdir(parents=True)
    (folder / "basic/Image/aligned.zip").write_bytes(ALIGNED)
    (folder / "basic/EmoLabel").mkdir()
    (folder / "basic/EmoLabel/list_patition_label.txt").write_text("train_00001.jpg 5\n")
    (folder / "basic/Annotation.zip").write_bytes(make_zip({"manual/1.txt": b"pts"}))
    m = gated(manifest_dir)
    res = fetch_dataset(m, from_path=folder)
    root = res.root
    assert (root / "basic/EmoLabel/list_patition_label.txt").read_text() == "train_00001.jpg 5\n"
    assert (root / "basic/Image/aligned/train_00001_aligned.jpg").exists()
    assert (root / "basic/manual/1.txt").read_bytes() == b"pts"
    names = sorted(e.name for e in res.files)
    assert names == ["RAF-DB/", "basic/Annotation.zip", "basic/Image/aligned.zip"]
    assert all(v.ok for v in verify(m))
    label = root / "basic/EmoLabel/list_patition_label.txt"
    label.unlink()
    label.write_text("tampered\n")
    bad = [v for v in verify(m) if not v.ok]
    assert [v.name for v in bad] == ["RAF-DB/"]


def test_from_missing_path(manifest_dir, tmp_path):
    with pytest.raises(FetchError, match="no such file"):
        fetch_dataset(gated(manifest_dir), from_path=tmp_path / "nope.zip")


def test_cli_fetch_and_verify(manifest_dir, tmp_path, capsys):
    download = tmp_path / "aligned.zip"
    download.write_bytes(ALIGNED)
    gated(manifest_dir)
    args = ("--manifests", str(manifest_dir))
    res = run_cli(capsys, "fetch", "gset", "--from", str(download), *args)
    assert res.code == 0, res.err
    assert f"registered from {download} as source official" in " ".join(res.out.split())
    res = run_cli(capsys, "verify", "gset", *args)
    assert res.code == 0 and "all 1 verified" in res.out
    blob = blob_path(sha256(ALIGNED))
    blob.chmod(0o644)
    blob.write_bytes(b"damaged")
    res = run_cli(capsys, "verify", *args)
    assert res.code == 1 and "failed verification" in res.err and "--force" in res.err


# -- a kill -9 in the middle of a download


CHILD = """
import sys
from facedata.fetch import fetch_dataset
from facedata.manifest.schema import load_manifest
from facedata.label.taxonomy import load_taxonomy
fetch_dataset(load_manifest(__import__("pathlib").Path(sys.argv[1]), load_taxonomy()))
"""


def test_kill_9_during_fetch_leaves_a_cache_the_next_fetch_completes(manifest_dir, fetch_env):
    data = os.urandom(3_000_000)
    blob = make_zip({"big.bin": data})
    with serve_files({"big.zip": blob}) as url:
        url.fault("big.zip", throttle(1_000_000, times=1))
        files = [{"name": "big.zip", "url": f"{url}/big.zip"}]
        m = write_manifest(
            manifest_dir, "kset", [{"id": "x", "kind": "http", "official": True, "files": files}]
        )
        env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src")}
        child = subprocess.Popen([sys.executable, "-c", CHILD, str(m.path)], env=env)
        deadline = time.monotonic() + 90  # the child's imports alone are slow on a loaded machine
        while time.monotonic() < deadline:
            parts = list((fetch_env / "partial").rglob("*.part")) if fetch_env.exists() else []
            if parts and parts[0].stat().st_size > len(blob) // 2:
                break
            time.sleep(0.02)
        else:
            child.kill()
            pytest.fail("the child never got a third of the way")
        child.kill()  # SIGKILL: no cleanup handlers run
        child.wait()
        assert child.returncode == -9
        assert fetched(m) is None  # nothing half-done is visible
        sent_before = url.bytes_sent("big.zip")
        res = fetch_dataset(m)
        resumed = url.requests_for("big.zip")[-1]
        assert resumed.headers.get("Range", "").startswith("bytes=")
        assert url.bytes_sent("big.zip") - sent_before < len(blob) * 2 // 3
    assert (res.root / "big.bin").read_bytes() == data
    assert get_source_lock("kset", "x").files[0].sha256 == sha256(blob)
    assert all(v.ok for v in verify(m))


# -- messages a person reads when a delivery or the network lets them down


def test_unresolvable_host_fails_at_once_and_names_the_offline_ways(manifest_dir, monkeypatch):
    import requests

    calls = []
    real_get = requests.Session.get

    def counting_get(self, *args, **kwargs):
        calls.append(args[0] if args else kwargs.get("url"))
        return real_get(self, *args, **kwargs)

    monkeypatch.setattr(requests.Session, "get", counting_get)
    files = [{"name": "x.zip", "url": "http://facedata-test.invalid/x.zip"}]
    m = write_manifest(
        manifest_dir, "dns", [{"id": "web", "kind": "http", "official": True, "files": files}]
    )
    with pytest.raises(FetchError) as err:
        fetch_dataset(m)
    assert "does not resolve" in err.value.message
    assert "--from" in err.value.hint and "FACEDATA_MIRROR" in err.value.hint
    assert len(calls) == 1  # no retries: another try cannot resolve the name either


def test_when_every_source_fails_offline_the_last_hint_names_the_offline_ways(
    manifest_dir, monkeypatch, tmp_path
):
    """GENKI-4K's shape: an official web file, then a Kaggle mirror. Offline and without a
    Kaggle token the last error is about credentials; its hint must still say how to go on."""
    for var in ("KAGGLE_API_TOKEN", "KAGGLE_USERNAME", "KAGGLE_KEY", "KAGGLE_CONFIG_DIR"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "nohome"))
    files = [{"name": "x.tar", "url": "http://facedata-test.invalid/x.tar"}]
    mirror = {"id": "kaggle", "kind": "kaggle", "official": False, "kaggle": "someone/x"}
    m = write_manifest(
        manifest_dir,
        "twofail",
        [{"id": "web", "kind": "http", "official": True, "files": files}, mirror],
    )
    with pytest.raises(FetchError) as err:
        fetch_dataset(m)
    assert "does not resolve" in err.value.message  # the first failure is reported too
    assert "--from" in err.value.hint and "FACEDATA_MIRROR" in err.value.hint


def test_integrity_hint_for_a_registered_file_does_not_say_download_again(tmp_path, capsys):
    """The real fer2013 manifest knows icml_face_data.csv's md5 (torchvision's); a
    fixture's bytes differ, as a wrong or damaged copy would."""
    from tests.fixtures import layouts

    layouts.make_fer2013(tmp_path / "fer")
    res = run_cli(capsys, "fetch", "fer2013", "--from", str(tmp_path / "fer/icml_face_data.csv"))
    assert res.code != 0
    text = " ".join(res.err.split())
    assert "md5 is" in text and "expected b114b9e04e6949e5fe8b6a98b3892b1d" in text
    assert "afresh" not in text and "download" not in text.split("hint:", 1)[-1]
    assert "icml_face_data.csv is not the file the manifest describes" in text


def test_a_zip_holding_the_listed_csv_is_unpacked_not_pinned_under_its_name(manifest_dir, tmp_path):
    csv = b"emotion,pixels,Usage\n6," + b" ".join([b"7"] * 4) + b",Training\n"
    download = tmp_path / "ckdataset.zip"
    download.write_bytes(make_zip({"ckextended.csv": csv}))
    src = {
        "id": "kaggle",
        "kind": "kaggle",
        "official": False,
        "kaggle": "someone/ck",
        "files": [{"name": "ckextended.csv"}],
    }
    m = write_manifest(manifest_dir, "ckz", [src])
    res = fetch_dataset(m, from_path=download)
    assert (res.root / "ckextended.csv").read_bytes() == csv
    (entry,) = res.files
    assert entry.name == "ckdataset.zip" and entry.sha256 == sha256(download.read_bytes())
    assert all(v.ok for v in verify(m))


def test_a_lone_non_archive_is_still_taken_as_the_only_listed_file(manifest_dir, tmp_path):
    renamed = tmp_path / "ckextended (1).csv"
    renamed.write_bytes(b"emotion,pixels\n")
    src = {
        "id": "kaggle",
        "kind": "kaggle",
        "official": False,
        "kaggle": "someone/ck",
        "files": [{"name": "ckextended.csv"}],
    }
    res = fetch_dataset(write_manifest(manifest_dir, "ckr", [src]), from_path=renamed)
    assert (res.root / "ckextended.csv").read_bytes() == b"emotion,pixels\n"


def test_file_sets_accept_any_complete_alternative_and_refuse_none(manifest_dir, tmp_path):
    src = {
        **GATED,
        "files": [
            {"name": "a.csv"},
            {"name": "b1.csv"},
            {"name": "b2.csv"},
            {"name": "extra.txt", "optional": True},
        ],
        "file_sets": [{"id": "A", "files": ["a.csv"]}, {"id": "B", "files": ["b1.csv", "b2.csv"]}],
    }
    m = write_manifest(manifest_dir, "sets", [src])
    half = tmp_path / "half"
    half.mkdir()
    (half / "b1.csv").write_text("x\n")
    (half / "extra.txt").write_text("x\n")
    with pytest.raises(FetchError, match="no complete set") as err:
        fetch_dataset(m, from_path=half)
    assert "a.csv; or b1.csv + b2.csv" in err.value.hint
    assert fetched(m) is None  # nothing published
    (half / "b2.csv").write_text("y\n")
    res = fetch_dataset(m, from_path=half)
    assert any("file set B" in n for n in res.notes)


def test_file_set_naming_an_unlisted_file_is_a_manifest_error(manifest_dir):
    from facedata.errors import ManifestError

    src = {**GATED, "files": [{"name": "a.csv"}], "file_sets": [{"id": "A", "files": ["b.csv"]}]}
    with pytest.raises(ManifestError, match="does not list: b.csv"):
        write_manifest(manifest_dir, "badset", [src])


def test_fetchers_are_one_table_keyed_by_source_kind(manifest_dir, tmp_path, monkeypatch):
    from typing import get_args

    from facedata.fetch import core
    from facedata.fetch.store import SourceLock, ingest_copy, now
    from facedata.fetch.tree import Placement
    from facedata.manifest.schema import SourceKind

    by_hand = {"manual", "local"}
    assert set(core.FETCHERS) == set(get_args(SourceKind)) - by_hand
    with pytest.raises(FetchError, match="manual sources cannot be downloaded"):
        core.choose_fetcher("manual")

    blob_src = tmp_path / "payload.txt"
    blob_src.write_text("from the table\n")
    seen = []

    class Fake:
        nested = False

        def fetch(self, job):
            manifest, src = job.manifest, job.src
            seen.append(src.id)
            blob = ingest_copy(blob_src, sha256(blob_src.read_bytes()))
            record = SourceLock(manifest.id, src.id, src.kind, True, "fake", None, now(), [])
            return [Placement("payload.txt", blob, False)], record

    monkeypatch.setitem(core.FETCHERS, "http", Fake())
    files = [{"name": "payload.txt", "url": "http://127.0.0.1:9/payload.txt"}]
    m = write_manifest(
        manifest_dir, "tbl", [{"id": "web", "kind": "http", "official": True, "files": files}]
    )
    res = fetch_dataset(m)
    assert seen == ["web"] and (res.root / "payload.txt").read_text() == "from the table\n"


def test_a_zip_saved_under_the_csv_name_is_unpacked_not_pinned_as_the_csv(manifest_dir, tmp_path):
    csv = b"emotion,pixels,Usage\n"
    download = tmp_path / "ckextended.csv"  # a browser kept the name, the bytes are a zip
    download.write_bytes(make_zip({"ckextended.csv": csv}))
    src = {
        "id": "kaggle",
        "kind": "kaggle",
        "official": False,
        "kaggle": "someone/ck",
        "files": [{"name": "ckextended.csv"}],
    }
    m = write_manifest(manifest_dir, "ckn", [src])
    res = fetch_dataset(m, from_path=download)
    assert (res.root / "ckextended.csv").read_bytes() == csv
    (entry,) = res.files
    assert entry.name == "ckextended.csv (archive)"  # the zip's bytes, not the CSV's
    assert all(v.ok for v in verify(m))
