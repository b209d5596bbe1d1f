"""Each license family, from a manifest to the bundle, says what that license requires.

Manifests are written to a folder and the real `facedata cite --datasets` renders the
bundle a build would write; the build-only facts (a clearance, the corpus.json
statement, the notice of what the build did) go through a real `facedata build`.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from facedata.bundle.obligations import terms_and_obligations
from tests.helpers.cli import run_cli

from .conftest import make_corpus

BIB = (
    "@article{doe2020faces,\n  author = {Doe, Jane and Roe, Richard},\n"
    "  title = {Smiles in the Wild},\n  year = {2020}\n}\n"
)


def _manifest(folder: Path, dataset_id: str, license: dict[str, Any], **extra: Any) -> None:
    data = {
        "id": dataset_id,
        "name": f"Set {dataset_id}",
        "homepage": f"https://example.org/{dataset_id}",
        "tasks": ["smile"],
        "license": license,
        "citation": BIB.replace("doe2020faces", f"doe2020{dataset_id.replace('-', '')}"),
        "format": {"reader": "local"},
        "sources": [
            {
                "id": "manual",
                "kind": "manual",
                "official": True,
                "access": {"level": "open", "instructions": "copy it by hand"},
            }
        ],
        **extra,
    }
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{dataset_id}.yaml").write_text(yaml.safe_dump(data, sort_keys=False))


FAMILIES: dict[str, dict[str, Any]] = {
    "cc-by": {
        "id": "CC-BY-4.0",
        "tier": "commercial",
        "derivatives": "allowed",
        "redistribution": "allowed",
        "terms_url": "https://creativecommons.org/licenses/by/4.0/",
    },
    "cc-by-sa": {
        "id": "CC-BY-SA-4.0",
        "tier": "commercial",
        "derivatives": "allowed",
        "redistribution": "allowed",
        "terms_url": "https://creativecommons.org/licenses/by-sa/4.0/",
    },
    "cc-by-nc": {
        "id": "CC-BY-NC-4.0",
        "tier": "noncommercial",
        "derivatives": "allowed",
        "redistribution": "allowed",
    },
    "nd": {
        "id": "CC-BY-ND-4.0",
        "tier": "commercial",
        "derivatives": "forbidden",
        "redistribution": "allowed",
    },
    "no-redistribution": {
        "id": "LicenseRef-Lab-Agreement",
        "tier": "research-only",
        "derivatives": "allowed",
        "redistribution": "forbidden",
    },
    "unknown": {"id": "LicenseRef-No-License", "tier": "unknown"},
    "cc0": {
        "id": "CC0-1.0",
        "tier": "commercial",
        "derivatives": "allowed",
        "redistribution": "allowed",
    },
}


def _cite(capsys, tmp_path: Path, family: str, **extra: Any) -> dict[str, str]:
    folder = tmp_path / "manifests"
    _manifest(folder, f"set-{family}", FAMILIES[family], **extra)
    out = tmp_path / "bundle"
    res = run_cli(
        capsys, "cite", "--datasets", f"set-{family}", "--out", str(out), "--manifests", str(folder)
    )
    assert res.code == 0, res.err
    return {
        p.relative_to(out).as_posix(): p.read_text(encoding="utf-8")
        for p in out.rglob("*")
        if p.is_file()
    }


def _flat(text: str) -> str:
    return " ".join(text.split())


def _card_meta(card: str) -> dict[str, Any]:
    return yaml.safe_load(card.split("---\n")[1])


def test_cc_by_without_a_string_gets_a_composed_credit(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("FACEDATA_HOME", str(tmp_path / "home"))
    files = _cite(capsys, tmp_path, "cc-by")
    attribution = files["ATTRIBUTION.md"]
    assert "No attribution" not in attribution and "not required" not in attribution
    assert "composed from the citation" in attribution
    credit = '"Set set-cc-by" by Jane Doe, Richard Roe, from Smiles in the Wild (2020)'
    assert credit in attribution
    assert "https://creativecommons.org/licenses/by/4.0/" in attribution
    assert credit in files["README.md"] and credit in files["LICENSES/set-cc-by.md"]
    assert (
        "Notice of modifications" in attribution and "Notice of modifications" in files["README.md"]
    )
    assert "ShareAlike" not in files["LICENSES/README.md"]


def test_cc_by_sa_is_carried_into_terms_card_croissant_and_licenses(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("FACEDATA_HOME", str(tmp_path / "home"))
    files = _cite(capsys, tmp_path, "cc-by-sa")
    readme = _flat(files["LICENSES/README.md"])
    assert "ShareAlike: set-cc-by-sa (CC-BY-SA-4.0)" in readme
    assert "| ShareAlike | yes" in files["LICENSES/set-cc-by-sa.md"]
    card = files["README.md"]
    assert "ShareAlike" in card and "share-alike" in _card_meta(card)["tags"]
    croissant = json.loads(files["croissant.json"])
    assert "share-alike" in croissant["keywords"]
    assert "ShareAlike" in croissant["description"]
    assert "ShareAlike" in files["ATTRIBUTION.md"]
    assert "composed from the citation" in files["ATTRIBUTION.md"]


@pytest.mark.parametrize(
    ("family", "card_says", "tag"),
    [
        ("cc-by-nc", "For non-commercial research only.", "non-commercial"),
        ("nd", "Derivatives may not be shared", "no-derivatives"),
        ("no-redistribution", "Not for redistribution", "no-redistribution"),
        ("unknown", "no known license grant", "no-derivatives"),
    ],
)
def test_restrictive_families_reach_every_file(
    tmp_path, capsys, monkeypatch, family, card_says, tag
):
    monkeypatch.setenv("FACEDATA_HOME", str(tmp_path / "home"))
    files = _cite(capsys, tmp_path, family)
    card = files["README.md"]
    assert card_says in card
    assert tag in _card_meta(card)["tags"]
    assert tag in json.loads(files["croissant.json"])["keywords"]
    assert "ShareAlike" not in card
    # every one of these asks for credit: none says it is not required
    assert "No attribution required" not in files["ATTRIBUTION.md"]
    assert "composed from the citation" in files["ATTRIBUTION.md"]


def test_only_a_waiving_license_says_no_attribution_is_required(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("FACEDATA_HOME", str(tmp_path / "home"))
    files = _cite(capsys, tmp_path, "cc0")
    assert "No attribution required: CC0-1.0 waives it" in files["ATTRIBUTION.md"]
    assert "not required (the license waives it)" in files["LICENSES/set-cc0.md"]


def test_a_manifest_string_is_used_verbatim_not_composed(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("FACEDATA_HOME", str(tmp_path / "home"))
    files = _cite(capsys, tmp_path, "cc-by", attribution="Photos (c) Jane Doe, CC BY 4.0")
    assert "Required attribution (verbatim)" in files["ATTRIBUTION.md"]
    assert "Photos (c) Jane Doe, CC BY 4.0" in files["ATTRIBUTION.md"]
    assert "composed" not in files["ATTRIBUTION.md"]


def test_an_old_record_without_share_alike_still_states_it(tmp_path):
    """A corpus.json written before share-alike was stated: the bundle states it anyway."""
    root = tmp_path / "c"
    from .conftest import DATASETS

    sa = {**DATASETS[0], "license_id": "CC-BY-SA-4.0", "attribution": None}
    corpus = make_corpus(root, [sa])
    facts = terms_and_obligations(corpus)
    assert "ShareAlike" in facts["statement"]
    assert facts["share_alike"] == ["genki4k (CC-BY-SA-4.0)"]
    (entry,) = facts["inputs"]
    assert entry["share_alike"] and entry["attribution_required"]
    assert entry["attribution_composed"] and "MPLab" in entry["attribution"]
    assert any("cropped and resized" in m for m in facts["modifications"])


def test_build_states_share_alike_clearance_and_what_it_did(team):
    """A real build: corpus.json's statement, the card and the notice of modifications."""
    from tests.compliance.conftest import DETECTOR_CLEARANCE

    team.edit_manifest(id="CC-BY-SA-4.0", tier="noncommercial")
    clear = team.clearances(
        DETECTOR_CLEARANCE + "  - dataset: own-data\n    cleared_by: Procurement\n"
        "    evidence: invoice INV-9\n    expires: 2099-06-30\n"
    )
    res = team.build("c", "--commercial", "--clearances", str(clear), "--image-mode", "L")
    assert res.code == 0, res.err
    out = team.out("c")
    record = json.loads((out / "corpus.json").read_text())
    assert "ShareAlike: own-data (CC-BY-SA-4.0)" in record["license"]["statement"]
    assert record["license"]["share_alike"] == ["own-data (CC-BY-SA-4.0)"]
    card = (out / "README.md").read_text()
    assert "invoice INV-9" in card and "2099-06-30" in card  # the clearance relied on
    assert "For non-commercial research only" not in card
    notice = card.split("## Notice of modifications")[1]
    assert "aligned" in notice and "converted to greyscale" in notice
    assert re.search(r"resized to \d+x\d+ pixels", notice)
    assert "converted to greyscale" in (out / "ATTRIBUTION.md").read_text()
    croissant = json.loads((out / "croissant.json").read_text())
    assert "consent register" in croissant["rai:dataCollection"]
    assert "Direct Measurement" in croissant["rai:dataCollectionType"]
    facts = terms_and_obligations(record)
    assert facts["statement"] == record["license"]["statement"]
