"""Behaviour the source-kind union changed, checked through the real entry point.

Before sources became one model per kind, a source was one flat model: every source
field was known to every kind, and a field another kind owns (a Kaggle source's page
`url`, an http source's `revision`) was accepted and ignored. Manifests written that
way load today; these tests keep them loading, since one such manifest in
FACEDATA_MANIFESTS stops `list`, `info` and `build` for every dataset.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.helpers.cli import CliResult, run_cli

REPO = Path(__file__).resolve().parents[2]

_ASK = {"level": "open", "instructions": "ask the team for the files"}

# a source of one kind carrying a field that another kind owns, accepted before
CROSS_KIND = {
    "kaggle-page-url": {
        "kind": "kaggle",
        "kaggle": "talhasar/genki4k",
        "url": "https://www.kaggle.com/datasets/talhasar/genki4k",
    },
    "hf-page-url": {
        "kind": "huggingface",
        "repo_id": "someone/genki4k",
        "url": "https://huggingface.co/datasets/someone/genki4k",
    },
    "local-page-url": {
        "kind": "local",
        "path": "recordings",
        "consent": "recordings/consent.csv",
        "url": "https://example.org/our-study",
    },
    "kaggle-path": {"kind": "kaggle", "kaggle": "talhasar/genki4k", "path": "genki"},
    "manual-repo-id": {"kind": "manual", "access": _ASK, "repo_id": "someone/genki4k"},
    "manual-kaggle-version": {"kind": "manual", "access": _ASK, "kaggle_version": 3},
}


@pytest.fixture(autouse=True)
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    monkeypatch.setenv("FACEDATA_HOME", str(home))
    monkeypatch.delenv("FACEDATA_MANIFESTS", raising=False)
    monkeypatch.delenv("FACEDATA_MIRROR", raising=False)
    return home


def _manifest(folder: Path, name: str, source: dict[str, Any]) -> Path:
    """genki4k.yaml as `g-NAME` whose second source is `source`."""
    data = yaml.safe_load((REPO / "manifests" / "genki4k.yaml").read_text())
    data["id"] = f"g-{name}"
    data["sources"] = [data["sources"][0], {"id": "extra", "official": False, **source}]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"g-{name}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _ok(res: CliResult) -> None:
    assert res.code == 0, (res.code, res.out, res.err)
    assert "Traceback" not in res.out + res.err


@pytest.mark.parametrize("name", sorted(CROSS_KIND))
def test_a_source_with_a_field_of_another_kind_still_validates(capsys, tmp_path, name):
    path = _manifest(tmp_path / "m", name, CROSS_KIND[name])
    res = run_cli(capsys, "manifest", "validate", str(path))
    _ok(res)
    assert f"g-{name}" in res.out


def test_an_http_source_with_a_revision_still_validates(capsys, tmp_path):
    data = yaml.safe_load((REPO / "manifests" / "genki4k.yaml").read_text())
    data["id"] = "g-http-revision"
    data["sources"][0]["revision"] = "main"
    path = tmp_path / "g-http-revision.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    _ok(run_cli(capsys, "manifest", "validate", str(path)))


def test_a_kaggle_source_with_its_page_url_does_not_stop_list_and_info(capsys, tmp_path):
    folder = tmp_path / "m"
    _manifest(folder, "kaggle-page-url", CROSS_KIND["kaggle-page-url"])
    res = run_cli(capsys, "list", "--manifests", str(folder))
    _ok(res)
    assert "g-kaggle-page-url" in res.out and "genki4k" in res.out
    _ok(run_cli(capsys, "info", "g-kaggle-page-url", "--manifests", str(folder)))
