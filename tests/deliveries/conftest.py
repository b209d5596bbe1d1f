"""Every delivery test gets its own cache and a copy of the real manifests.

The copy differs from the shipped manifests in one way only: the sizes and hashes of
listed files are removed, because fixtures cannot reproduce the real files' bytes.
Everything else (file sets, optional files, formats, labels, faces) is used as shipped.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from facedata.paths import builtin_manifest_dir
from tests.fixtures import layouts
from tests.helpers import photos


def _strip_hashes(path: Path) -> None:
    data = yaml.safe_load(path.read_text())
    for src in data.get("sources", []):
        for f in src.get("files", []):
            for key in ("size", "sha256", "md5"):
                f.pop(key, None)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


@pytest.fixture(autouse=True)
def delivery_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "cache"
    monkeypatch.setenv("FACEDATA_HOME", str(home))
    monkeypatch.setenv("HOME", str(tmp_path / "userhome"))
    for var in (
        "FACEDATA_MIRROR",
        "FACEDATA_MANIFESTS",
        "KAGGLE_API_TOKEN",
        "KAGGLE_USERNAME",
        "KAGGLE_KEY",
    ):
        monkeypatch.delenv(var, raising=False)
    manifests = tmp_path / "manifests"
    shutil.copytree(builtin_manifest_dir(), manifests)
    for path in manifests.glob("*.yaml"):
        if path.name != "taxonomy.yaml":
            _strip_hashes(path)
    import facedata.label.taxonomy
    import facedata.manifest.catalog

    monkeypatch.setattr(facedata.manifest.catalog, "builtin_manifest_dir", lambda: manifests)
    monkeypatch.setattr(facedata.label.taxonomy, "builtin_manifest_dir", lambda: manifests)
    # distinct real faces: a default build's near-duplicate removal keeps every one
    monkeypatch.setattr(layouts, "FACE", photos.lfw_face)
    return home
