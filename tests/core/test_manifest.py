"""Manifest schema and loader: every error class names file, line, field, expectation."""

from __future__ import annotations

from pathlib import Path

import pytest

from facedata.errors import ManifestError, UnknownDatasetError
from facedata.label.taxonomy import load_taxonomy
from facedata.manifest.catalog import Catalog
from facedata.manifest.schema import load_manifest

GOOD = """\
id: demo
name: Demo faces
tasks: [expression]
license:
  id: CC-BY-NC-4.0
  tier: noncommercial
  terms_url: https://example.org/terms
citation: |
  @misc{demo, title = {Demo}}
sources:
  - id: official
    kind: http
    official: true
    files:
      - name: demo.zip
        url: http://127.0.0.1/demo.zip
        sha256: {sha}
format:
  reader: imagefolder
labels:
  expression:
    codes: {"0": anger, "1": happy}
    drop: {"8": "None"}
"""
SHA = "a" * 64


def good(sha: str = SHA) -> str:
    return GOOD.replace("{sha}", sha)


def write(tmp_path: Path, text: str, name: str = "demo.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def taxonomy():
    return load_taxonomy()


def test_good_manifest_loads(tmp_path, taxonomy):
    m = load_manifest(write(tmp_path, good(SHA)), taxonomy)
    assert m.id == "demo"
    assert m.labels.expression.codes == {"0": "anger", "1": "happy"}
    assert m.sources[0].files[0].sha256 == SHA
    assert m.citation_keys == ["demo"]


def expect_error(tmp_path, taxonomy, text: str) -> str:
    with pytest.raises(ManifestError) as info:
        load_manifest(write(tmp_path, text), taxonomy)
    return str(info.value)


def test_yaml_syntax_error_names_line(tmp_path, taxonomy):
    msg = expect_error(tmp_path, taxonomy, "id: demo\nname: [unclosed\ntasks: x\n")
    assert "demo.yaml:" in msg and "YAML syntax error" in msg


def test_unknown_field_names_field_and_line(tmp_path, taxonomy):
    text = good(SHA).replace("name: Demo faces", "name: Demo faces\nhomepgae: x")
    msg = expect_error(tmp_path, taxonomy, text)
    assert "demo.yaml:3: homepgae: unknown field" in msg


def test_wrong_type_names_field(tmp_path, taxonomy):
    text = good(SHA).replace("tasks: [expression]", "tasks: [expression]\nimages: many")
    msg = expect_error(tmp_path, taxonomy, text)
    assert "demo.yaml:4: images:" in msg and "integer" in msg


def test_bad_sha256_length(tmp_path, taxonomy):
    msg = expect_error(tmp_path, taxonomy, good("abc123"))
    assert "sources.0.files.0.sha256" in msg and "demo.yaml:17" in msg
    assert "64" in msg or "pattern" in msg


def test_label_outside_taxonomy(tmp_path, taxonomy):
    text = good(SHA).replace('"1": happy', '"1": joyous')
    msg = expect_error(tmp_path, taxonomy, text)
    assert "labels.expression.codes.1" in msg and "'joyous' is not in the taxonomy" in msg
    assert "demo.yaml:22" in msg


def test_bad_tier(tmp_path, taxonomy):
    text = good(SHA).replace("tier: noncommercial", "tier: free")
    msg = expect_error(tmp_path, taxonomy, text)
    assert "license.tier" in msg and "'commercial'" in msg


def test_duplicate_key(tmp_path, taxonomy):
    msg = expect_error(tmp_path, taxonomy, good(SHA) + "name: again\n")
    assert "duplicate key 'name'" in msg


def test_happy_is_not_smile(tmp_path, taxonomy):
    text = (
        good(SHA)
        .replace("tasks: [expression]", "tasks: [smile]")
        .replace("  expression:\n    codes", "  smile:\n    codes")
        .replace('{"0": anger, "1": happy}', '{"happy": 1, "sad": 0}')
    )
    msg = expect_error(tmp_path, taxonomy, text)
    assert "names an emotion, not a visible smile" in msg
    # The same map is accepted once it says it is a derivation.
    derived = text.replace("    drop:", "    derived: true\n    drop:")
    m = load_manifest(write(tmp_path, derived), taxonomy)
    assert m.labels.smile.derived


def test_smile_labels_need_smile_task(tmp_path, taxonomy):
    text = good(SHA).replace("  expression:\n    codes", "  smile:\n    codes")
    text = text.replace('{"0": anger, "1": happy}', '{"0": 0, "1": 1}')
    msg = expect_error(tmp_path, taxonomy, text)
    assert "tasks lacks 'smile'" in msg


def test_http_source_needs_urls(tmp_path, taxonomy):
    text = good(SHA).replace("        url: http://127.0.0.1/demo.zip\n", "")
    msg = expect_error(tmp_path, taxonomy, text)
    assert "each with a url" in msg


def test_duplicate_id_across_folders(tmp_path, monkeypatch):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    write(a, good(SHA))
    write(b, good(SHA), "other.yaml")
    with pytest.raises(ManifestError, match="duplicate dataset id 'demo'"):
        Catalog.load([a, b])


def test_user_folder_from_env(tmp_path, monkeypatch):
    write(tmp_path, good(SHA))
    monkeypatch.setenv("FACEDATA_MANIFESTS", str(tmp_path))
    assert "demo" in Catalog.load()


def test_missing_user_folder_is_clear(tmp_path):
    with pytest.raises(ManifestError, match="does not exist"):
        Catalog.load([tmp_path / "nope"])


def test_unknown_id_suggests_nearest():
    with pytest.raises(UnknownDatasetError) as info:
        Catalog.load().get("genki")
    assert "genki4k" in (info.value.hint or "")
