"""Hugging Face sources through the real huggingface_hub client and a fake Hub."""

from __future__ import annotations

import pytest

from facedata.errors import AccessRequiredError, FetchError, IntegrityError
from facedata.fetch import fetch_dataset
from facedata.fetch.store import get_source_lock
from tests.fetch.conftest import write_manifest
from tests.helpers.servers import HubRepo, make_zip, serve_hub, sha256, wrong_bytes

COMMIT = "a" * 40
IMAGES = make_zip({"p1/anger.jpg": b"angry", "p2/happy.jpg": b"happy"})
FILES = {"README.md": b"# card", "data/images.zip": IMAGES, "data/labels.csv": b"id,label\n"}


@pytest.fixture
def hub(monkeypatch):
    with serve_hub() as fake:
        fake.add("org/fer", HubRepo(dict(FILES), commit=COMMIT))
        fake.add("org/gated", HubRepo({"a.csv": b"a"}, gated=True))
        monkeypatch.setenv("HF_ENDPOINT", fake.url)
        yield fake


def hf_manifest(folder, repo="org/fer", **extra):
    src = {"id": "hub", "kind": "huggingface", "official": False, "repo_id": repo, **extra}
    return write_manifest(folder, "hs", [src])


def test_repo_paths_land_at_the_root_and_zips_unpack_in_place(hub, manifest_dir):
    res = fetch_dataset(hf_manifest(manifest_dir))
    assert (res.root / "data/p1/anger.jpg").read_bytes() == b"angry"
    assert (res.root / "data/labels.csv").read_bytes() == b"id,label\n"
    assert not (res.root / "data/images.zip").exists()
    by_name = {e.name: e for e in res.files}
    assert by_name["data/images.zip"].sha256 == sha256(IMAGES)
    assert by_name["data/images.zip"].origin == f"hf:org/fer@{COMMIT}/data/images.zip"
    assert get_source_lock("hs", "hub").version == COMMIT


def test_listed_files_only_and_commit_pinned(hub, manifest_dir):
    m = hf_manifest(manifest_dir, files=[{"name": "data/labels.csv"}])
    res = fetch_dataset(m)
    assert [e.name for e in res.files] == ["data/labels.csv"]
    hub.repos["org/fer"].push("b" * 40)  # main moves on; the pin keeps the old commit
    fetch_dataset(m, force=True)
    revs = [r.path for r in hub.server.log if r.path.startswith("/api/datasets")]
    assert revs[-1].endswith(f"/revision/{COMMIT}")
    assert get_source_lock("hs", "hub").version == COMMIT


def test_gated_repo_explains_how_to_get_access(hub, manifest_dir, monkeypatch):
    m = hf_manifest(manifest_dir, repo="org/gated")
    with pytest.raises(AccessRequiredError, match="gated") as err:
        fetch_dataset(m)
    assert "HF_TOKEN" in err.value.hint and "/datasets/org/gated" in err.value.hint
    monkeypatch.setenv("HF_TOKEN", hub.token)
    res = fetch_dataset(m)
    assert (res.root / "a.csv").read_bytes() == b"a"


def test_missing_repo(hub, manifest_dir):
    with pytest.raises(FetchError, match="no dataset org/none"):
        fetch_dataset(hf_manifest(manifest_dir, repo="org/none"))


def test_bytes_not_matching_the_hubs_sha256_are_refused(hub, manifest_dir):
    hub.server.fault("_blobs/org/fer/data/labels.csv", wrong_bytes())
    with pytest.raises(IntegrityError, match="LFS"):
        fetch_dataset(hf_manifest(manifest_dir, files=[{"name": "data/labels.csv"}]))
