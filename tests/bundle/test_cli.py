"""`facedata cite` through the real entry point."""

from __future__ import annotations

import json
import re

import yaml

from tests.helpers.cli import run_cli


def test_cite_rewrites_the_bundle_of_a_corpus(capsys, corpus_dir):
    root, _ = corpus_dir
    (root / "README.md").write_text("stale card\n")
    res = run_cli(capsys, "cite", str(root))
    assert res.code == 0, res.err
    assert "wrote 10 files" in res.out
    card = (root / "README.md").read_text()
    assert card.startswith("---\n") and "# smiles-v1" in card
    assert json.loads((root / "croissant.json").read_text())["name"] == "smiles-v1"


def test_cite_datasets_before_a_build(capsys, tmp_path):
    out = tmp_path / "cite-genki"
    res = run_cli(capsys, "cite", "--datasets", "genki4k", "--out", str(out))
    assert res.code == 0, res.err
    assert (
        "http://mplab.ucsd.edu, The MPLab GENKI-4K Dataset." in (out / "ATTRIBUTION.md").read_text()
    )
    bib = (out / "references.bib").read_text()
    assert re.findall(r"@\w+\{([^,]+),", bib) == ["genki4k"]
    meta = yaml.safe_load((out / "README.md").read_text().split("---\n")[1])
    assert meta["license"] == "other"
    assert "No data has been built yet" in (out / "README.md").read_text()
    assert (out / "LICENSES" / "genki4k.md").is_file()
    assert not (out / "corpus.json").exists()


def test_missing_corpus_json_is_a_clean_error(capsys, tmp_path):
    res = run_cli(capsys, "cite", str(tmp_path))
    assert res.code == 1
    assert "not a facedata corpus (no corpus.json)" in res.err
    assert "hint:" in res.err
    assert "Traceback" not in res.err + res.out


def test_unknown_dataset_and_bad_combinations(capsys, tmp_path, corpus_dir):
    res = run_cli(capsys, "cite", "--datasets", "genki4", "--out", str(tmp_path / "x"))
    assert res.code == 1 and "unknown dataset 'genki4'" in res.err and "genki4k" in res.err
    res = run_cli(capsys, "cite")
    assert res.code == 1 and "either a corpus folder or --datasets" in res.err
    res = run_cli(capsys, "cite", "--datasets", "genki4k")
    assert res.code == 1 and "--out" in res.err
    root, _ = corpus_dir
    res = run_cli(capsys, "cite", "--datasets", "genki4k", "--out", str(root))
    assert res.code == 1 and "holds a built corpus" in res.err
    assert not (tmp_path / "x").exists()
