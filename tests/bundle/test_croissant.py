"""croissant.json: valid for mlcroissant, file hashes right, records readable."""

from __future__ import annotations

import hashlib
import json
import logging

import pytest

from facedata.bundle import corpus_from_manifests, write_bundle
from facedata.manifest.catalog import Catalog
from tests.helpers.extras import needs, optional

mlc = optional("mlcroissant")

pytestmark = [
    needs("mlcroissant"),
    pytest.mark.filterwarnings("ignore:ConjunctiveGraph is deprecated"),
    pytest.mark.filterwarnings("ignore:The inplace keyword"),
]


def _validate(path, caplog):
    """Load with mlcroissant; it raises on errors and logs warnings (bad @context too)."""
    with caplog.at_level(logging.WARNING):
        ds = mlc.Dataset(jsonld=path)
    issues = ds.metadata.ctx.issues
    assert not issues.errors, issues.report()
    assert not issues.warnings, issues.report()
    logged = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert not logged, logged
    return ds


def test_validates_and_hashes_match_the_shards(corpus_dir, caplog):
    root, corpus = corpus_dir
    write_bundle(root, corpus)
    path = root / "croissant.json"
    doc = json.loads(path.read_text())
    assert doc["conformsTo"] == "http://mlcommons.org/croissant/1.0"
    assert "@inproceedings{lucey2010ckplus," in doc["citeAs"]
    assert doc["citeAs"].count("lucey2010ckplus") == 1
    assert "https://creativecommons.org/licenses/by-nc-nd/4.0/" in doc["license"]
    assert "https://inc.ucsd.edu/mplab/398/" in doc["license"]
    objects = [d for d in doc["distribution"] if d["@type"] == "cr:FileObject"]
    assert {o["contentUrl"] for o in objects} == {s["path"] for s in corpus["shards"]}
    for o in objects:
        assert o["encodingFormat"] == "application/x-parquet"
        assert o["sha256"] == hashlib.sha256((root / o["contentUrl"]).read_bytes()).hexdigest()

    ds = _validate(path, caplog)
    assert {f.name for f in ds.metadata.record_sets[1].fields} >= {"image", "smile", "split"}


def test_records_read_back_through_the_file_set(corpus_dir):
    root, corpus = corpus_dir
    write_bundle(root, corpus)
    ds = mlc.Dataset(jsonld=root / "croissant.json")
    records = list(ds.records("faces"))
    assert len(records) == corpus["counts"]["total"]
    datasets = {r["faces/dataset"].decode() for r in records}
    assert datasets == {d["id"] for d in corpus["datasets"]}
    assert {r["faces/split"].decode() for r in records} == {"train", "test"}


def test_a_bundle_before_any_build_validates(tmp_path, caplog):
    catalog = Catalog.load()
    corpus = corpus_from_manifests([catalog.get("genki4k")])
    write_bundle(tmp_path, corpus)
    doc = json.loads((tmp_path / "croissant.json").read_text())
    assert [d["@type"] for d in doc["distribution"]] == ["cr:FileSet"]
    _validate(tmp_path / "croissant.json", caplog)


def test_rai_fields_for_face_data_validate_and_read_back(corpus_dir, caplog):
    root, corpus = corpus_dir
    write_bundle(root, corpus)
    ds = _validate(root / "croissant.json", caplog)
    meta = ds.metadata
    personal = " ".join(meta.personal_sensitive_information or [])
    assert "biometric" in personal and "subject_id" in personal
    assert "Consent:" in (meta.data_collection or "")
    assert "ckplus: collected by its creators" in meta.data_collection
    assert meta.data_collection_type == ["Secondary Data Analysis"]
    assert any("Art. 5(1)(f)" in u for u in meta.data_use_cases or [])
    assert any("aligned" in p for p in meta.data_preprocessing_protocol or [])
    assert meta.data_social_impact and meta.data_release_maintenance_plan
