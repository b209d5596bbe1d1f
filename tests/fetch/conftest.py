"""Every fetch test gets its own cache, no proxies, no real credentials, fast retries."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from facedata.label.taxonomy import load_taxonomy
from facedata.manifest.schema import Manifest, load_manifest


@pytest.fixture(autouse=True)
def fetch_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "cache"
    monkeypatch.setenv("FACEDATA_HOME", str(home))
    monkeypatch.setenv("HOME", str(tmp_path / "userhome"))  # no ~/.kaggle, ~/.cache/huggingface
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    for var in (
        "FACEDATA_MIRROR",
        "KAGGLE_API_TOKEN",
        "KAGGLE_USERNAME",
        "KAGGLE_KEY",
        "KAGGLE_CONFIG_DIR",
        "HF_TOKEN",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "http_proxy",
        "https_proxy",
    ):
        monkeypatch.delenv(var, raising=False)
    import facedata.fetch.http as fhttp

    monkeypatch.setattr(fhttp, "BACKOFF", 0.0)
    return home


MINIMAL = {
    "name": "Test set",
    "tasks": ["smile"],
    "license": {"id": "CC-BY-4.0", "tier": "commercial"},
    "citation": "@misc{t, title={T}}",
    "format": {"reader": "local"},
}


def write_manifest(folder: Path, dataset_id: str, sources: list[dict]) -> Manifest:
    """Write a manifest into a tmp folder (never the real ones) and load it."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{dataset_id}.yaml"
    path.write_text(yaml.safe_dump({"id": dataset_id, **MINIMAL, "sources": sources}))
    return load_manifest(path, load_taxonomy())


@pytest.fixture
def manifest_dir(tmp_path: Path) -> Path:
    d = tmp_path / "manifests"
    d.mkdir()
    return d
