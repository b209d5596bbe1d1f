"""The bundle's text files: attribution, references, CFF, licenses and the dataset card."""

from __future__ import annotations

import json
import os
import re
from typing import Any

import pytest
import yaml

from facedata.bundle import render_bundle, write_bundle
from facedata.manifest.catalog import Catalog

from .conftest import DATASETS, GENKI_ATTRIBUTION, TDP_ATTRIBUTION, make_corpus

EXPECTED = {
    "references.bib",
    "CITATION.cff",
    "ATTRIBUTION.md",
    "croissant.json",
    "README.md",
    "LICENSES/README.md",
    *(f"LICENSES/{d['id']}.md" for d in DATASETS),
}


def _front_matter(text: str) -> tuple[dict[str, Any], str]:
    m = re.match(r"---\n(.*?)\n---\n(.*)", text, re.S)
    assert m, "README.md must start with YAML front matter"
    return yaml.safe_load(m.group(1)), m.group(2)


def test_writes_every_file(corpus_dir):
    root, corpus = corpus_dir
    written = write_bundle(root, corpus)
    assert {p.relative_to(root).as_posix() for p in written} == EXPECTED
    assert all(p.stat().st_size > 0 for p in written)
    assert not [p for p in root.rglob("*.tmp")], "temp files left behind"


def test_attribution_strings_appear_verbatim(corpus_dir):
    root, corpus = corpus_dir
    write_bundle(root, corpus)
    text = (root / "ATTRIBUTION.md").read_text()
    assert GENKI_ATTRIBUTION in text
    assert TDP_ATTRIBUTION in text  # quotes, *, `, _ and | untouched
    for d in DATASETS:
        assert f"## {d['name']} (`{d['id']}`)" in text
        assert d["license_id"] in text and d["terms_url"] in text
    mirror = text.split("(`ckplus-kaggle`)")[1]
    assert "unofficial mirror `kaggle`" in mirror.split("## ")[0]
    card = (root / "README.md").read_text()
    assert GENKI_ATTRIBUTION in card and TDP_ATTRIBUTION in card


def test_references_hold_each_key_once_verbatim(corpus_dir):
    root, corpus = corpus_dir
    write_bundle(root, corpus)
    bib = (root / "references.bib").read_text()
    keys = re.findall(r"@\w+\{([^,]+),", bib)
    assert sorted(keys) == sorted(
        ["genki4k", "lucey2010ckplus", "kanade2000comprehensive", "trainingdatapro_fer"]
    )
    first = DATASETS[1]["citation"].split("\n@")[0]
    assert first in bib  # cut out, not reformatted


def test_citation_cff_is_valid_yaml_with_required_keys(corpus_dir):
    root, corpus = corpus_dir
    write_bundle(root, corpus)
    doc = yaml.safe_load((root / "CITATION.cff").read_text())
    assert doc["cff-version"] == "1.2.0"
    assert doc["type"] == "dataset"
    assert doc["message"] and doc["title"] and doc["authors"]
    assert all(isinstance(a, dict) and a for a in doc["authors"])
    assert doc["date-released"] == "2025-01-02"
    refs = {r["abbreviation"]: r for r in doc["references"]}
    assert set(refs) == {
        "genki4k",
        "lucey2010ckplus",
        "kanade2000comprehensive",
        "trainingdatapro_fer",
    }
    for ref in refs.values():
        assert ref["type"] and ref["title"] and ref["authors"]
    lucey = refs["lucey2010ckplus"]
    assert lucey["type"] == "conference-paper"
    assert lucey["authors"][0] == {"family-names": "Lucey", "given-names": "Patrick"}
    assert (lucey["start"], lucey["end"], lucey["year"]) == ("94", "101", 2010)
    assert lucey["doi"] == "10.1109/CVPRW.2010.5543262"
    assert "ckplus, ckplus-kaggle" in lucey["notes"]
    assert refs["genki4k"]["authors"] == [{"name": "MPLab, UC San Diego"}]
    assert refs["genki4k"]["url"] == "http://mplab.ucsd.edu"


def test_card_front_matter_and_terms_for_a_research_build(corpus_dir):
    root, corpus = corpus_dir
    write_bundle(root, corpus)
    meta, prose = _front_matter((root / "README.md").read_text())
    assert meta["license"] == "other"
    assert meta["license_link"] == "LICENSES/README.md"
    assert re.fullmatch(r"[a-z0-9-]+", meta["license_name"])
    assert meta["task_categories"] == ["image-classification"]
    assert {"non-commercial", "no-derivatives", "no-redistribution"} <= set(meta["tags"])
    files = meta["configs"][0]["data_files"]
    assert files == [
        {"split": "train", "path": "data/train-*.parquet"},
        {"split": "test", "path": "data/test-*.parquet"},
    ]
    features = {f["name"]: f for f in meta["dataset_info"]["features"]}
    assert features["image"] == {"name": "image", "dtype": "image"}
    assert features["smile"]["dtype"] == {"class_label": {"names": {"0": "no_smile", "1": "smile"}}}
    names = features["expression"]["dtype"]["class_label"]["names"]
    assert list(names.values())[:2] == ["neutral", "happy"] and names["7"] == "contempt"
    assert features["landmarks"] == {"name": "landmarks", "sequence": "float32"}
    splits = {s["name"]: s["num_examples"] for s in meta["dataset_info"]["splits"]}
    assert splits == {"train": 6, "test": 3}
    assert "non-commercial research only" in prose
    assert "Derivatives may not be shared" in prose
    assert "Not for redistribution" in prose
    assert "| train | 6 |" in prose and "| total | 9 |" in prose
    assert "| happy |" in prose  # expression counts per class
    assert "```bibtex" in prose and "@inproceedings{lucey2010ckplus," in prose
    assert "corpus.json" in prose


@pytest.mark.parametrize(
    "record_license",
    [None, {"tier": "unknown", "statement": "Research use.", "derivatives": "see inputs"}],
    ids=["no-license-record", "weaker-license-record"],
)
def test_inputs_restrictions_always_reach_the_card(tmp_path, record_license):
    """A record without (or with a weaker) statement still gets the inputs' restrictions."""
    root = tmp_path / "c"
    corpus = make_corpus(root, [DATASETS[0], DATASETS[3]])
    corpus["license"] = record_license
    write_bundle(root, corpus)
    _, prose = _front_matter((root / "README.md").read_text())
    assert "For non-commercial research only." in prose
    assert "Derivatives may not be shared" in prose
    readme = (root / "LICENSES" / "README.md").read_text()
    assert "Derivatives: may not be shared" in readme
    assert "Redistribution: forbidden" in readme


def test_no_derivative_warning_only_when_no_input_leaves_them_unallowed(tmp_path):
    root = tmp_path / "c"
    allowed = {**DATASETS[0], "derivatives": "allowed", "redistribution": "allowed"}
    corpus = make_corpus(root, [allowed])
    corpus["license"] = {"tier": "unknown", "statement": "For non-commercial research only."}
    write_bundle(root, corpus)
    card = (root / "README.md").read_text()
    readme = (root / "LICENSES" / "README.md").read_text()
    assert "may not be shared" not in card and "may not be shared" not in readme
    assert "non-commercial research only" in card


def test_unknown_derivatives_and_redistribution_count_as_forbidden(tmp_path):
    root = tmp_path / "c"
    assert DATASETS[0]["derivatives"] == DATASETS[0]["redistribution"] == "unknown"
    corpus = make_corpus(root, [DATASETS[0]])
    corpus["license"] = None
    write_bundle(root, corpus)
    meta = yaml.safe_load((root / "README.md").read_text().split("---")[1])
    assert {"no-derivatives", "no-redistribution"} <= set(meta["tags"])
    croissant = json.loads((root / "croissant.json").read_text())
    assert {"no-derivatives", "no-redistribution"} <= set(croissant["keywords"])
    assert "Not for redistribution" in croissant["description"]


def test_licenses_per_dataset(corpus_dir):
    root, corpus = corpus_dir
    write_bundle(root, corpus)
    readme = (root / "LICENSES" / "README.md").read_text()
    assert corpus["license"]["statement"] in readme
    assert "for non-commercial research only" in readme
    assert "Derivatives: may not be shared" in readme
    assert "retinaface-mnet025" in readme
    assert "- training data: WIDER FACE" in readme
    assert "- training data terms: non-commercial research purposes" in readme
    genki = (root / "LICENSES" / "genki4k.md").read_text()
    assert "LicenseRef-GENKI-MPLab" in genki and "https://inc.ucsd.edu/mplab/398/" in genki
    assert "images are available for public use" in genki  # verbatim excerpt
    assert "No named license." in genki
    assert "all rights reserved" in genki  # tier unknown
    mirror = (root / "LICENSES" / "ckplus-kaggle.md").read_text()
    assert "unofficial mirror (kaggle)" in mirror and "cannot" in mirror
    nd = (root / "LICENSES" / "trainingdatapro-fer.md").read_text()
    assert "| Derivatives | forbidden |" in nd


def test_manifests_fill_only_what_the_record_lacks(tmp_path):
    root = tmp_path / "c"
    record = {k: v for k, v in DATASETS[0].items() if k not in ("license_text", "license_notes")}
    record["attribution"] = "as recorded at build time"
    corpus = make_corpus(root, [record])
    genki = Catalog.load().get("genki4k")
    files = render_bundle(root, corpus, {"genki4k": genki})
    assert "as recorded at build time" in files["ATTRIBUTION.md"]
    assert genki.attribution not in files["ATTRIBUTION.md"]
    assert (genki.license.text or "") in files["LICENSES/genki4k.md"]  # filled in


def test_rewrite_replaces_files_and_drops_stale_license_files(corpus_dir):
    root, corpus = corpus_dir
    write_bundle(root, corpus)
    mine = root / "LICENSES" / "NOTES.md"
    mine.write_text("kept: not written by facedata\n")
    corpus["datasets"] = corpus["datasets"][:1]
    write_bundle(root, corpus)
    assert sorted(p.name for p in (root / "LICENSES").iterdir()) == [
        "NOTES.md",
        "README.md",
        "genki4k.md",
    ]


def test_a_failed_render_leaves_the_old_bundle_untouched(corpus_dir, monkeypatch):
    root, corpus = corpus_dir
    write_bundle(root, corpus)
    before = {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}
    from facedata.bundle import croissant

    def boom(_corpus):
        raise RuntimeError("render failed")

    monkeypatch.setattr(croissant, "render", boom)
    corpus["datasets"][0]["attribution"] = "changed"
    with pytest.raises(RuntimeError):
        write_bundle(root, corpus)
    after = {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}
    assert after == before
    assert not any(name.endswith(".tmp") for _, _, names in os.walk(root) for name in names)
