"""The catalog commands as a user runs them (through the real entry point)."""

from __future__ import annotations

import json
from pathlib import Path

from facedata.manifest.catalog import Catalog
from facedata.manifest.listing import licenses_markdown
from tests.helpers.cli import run_cli

REPO = Path(__file__).resolve().parents[2]


def test_list_shows_every_dataset(capsys):
    res = run_cli(capsys, "list", "--json")
    assert res.code == 0
    rows = json.loads(res.out)
    assert [r["id"] for r in rows] == Catalog.load().ids
    for r in rows:
        assert r["tier"] in {"commercial", "noncommercial", "research-only", "unknown"}
        assert r["access"] in {"open", "account", "agreement"}


def test_list_commercial_says_why_each_public_set_is_refused(capsys):
    res = run_cli(capsys, "list", "--commercial")
    assert res.code == 0
    for m in Catalog.load():
        line = next(ln for ln in res.out.splitlines() if ln.strip().startswith(f"{m.id}:"))
        assert "refused" in line, line
    rows = json.loads(run_cli(capsys, "list", "--json").out)
    assert not any(r["commercial"] for r in rows)


def test_list_commercial_with_clearance(capsys, tmp_path):
    path = tmp_path / "clear.yaml"
    path.write_text(
        "clearances:\n  - dataset: genki4k\n    cleared_by: Legal\n"
        "    evidence: written permission from MPLab, ref 42\n    expires: 2999-01-01\n"
    )
    rows = json.loads(run_cli(capsys, "list", "--json", "--clearances", str(path)).out)
    by_id = {r["id"]: r for r in rows}
    assert by_id["genki4k"]["commercial"] is True
    assert "written permission from MPLab" in by_id["genki4k"]["commercial_reason"]


def test_info_prints_terms_citation_and_access(capsys):
    res = run_cli(capsys, "info", "genki4k")
    assert res.code == 0
    assert "LicenseRef-GENKI-MPLab" in res.out
    assert "@misc{genki4k" in res.out
    assert "http://mplab.ucsd.edu, The MPLab GENKI-4K Dataset." in res.out


def test_info_celeba(capsys):
    res = run_cli(capsys, "info", "celeba")
    assert res.code == 0
    assert "non-commercial" in res.out.replace("\n", " ").lower()
    assert "liu2015faceattributes" in res.out


def test_info_gated_set_explains_access(capsys):
    gated = [m for m in Catalog.load() if m.access == "agreement"]
    assert gated, "expected at least one agreement-gated dataset in the catalog"
    res = run_cli(capsys, "info", gated[0].id)
    assert "how to get access" in res.out


def test_unknown_id_suggests(capsys):
    res = run_cli(capsys, "info", "genki")
    assert res.code == 1
    assert "unknown dataset 'genki'" in res.err and "genki4k" in res.err
    assert "Traceback" not in res.err + res.out


def test_licenses_md_is_up_to_date(capsys):
    committed = (REPO / "LICENSES.md").read_text()
    res = run_cli(capsys, "licenses", "--markdown")
    assert res.out == licenses_markdown(Catalog.load())
    assert committed == res.out, (
        "LICENSES.md is stale: run `facedata licenses --markdown > LICENSES.md`"
    )


def test_manifest_validate_ok_and_bad(capsys, tmp_path):
    res = run_cli(capsys, "manifest", "validate", str(REPO / "manifests"))
    assert res.code == 0, res.err
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        (REPO / "manifests" / "genki4k.yaml").read_text().replace("id: genki4k", "id: mine\nfoo: 1")
    )
    res = run_cli(capsys, "manifest", "validate", str(bad))
    assert res.code == 1
    assert "bad.yaml:2: foo: unknown field" in res.err
    assert "Traceback" not in res.err


def test_manifest_validate_duplicate_of_builtin(capsys, tmp_path):
    dup = tmp_path / "dup.yaml"
    dup.write_text((REPO / "manifests" / "genki4k.yaml").read_text())
    res = run_cli(capsys, "manifest", "validate", str(dup))
    assert res.code == 1 and "duplicate dataset id 'genki4k'" in res.err


def test_manifests_option_adds_folder(capsys, tmp_path):
    text = (REPO / "manifests" / "genki4k.yaml").read_text().replace("id: genki4k", "id: my-smiles")
    (tmp_path / "mine.yaml").write_text(text)
    res = run_cli(capsys, "list", "--json", "--manifests", str(tmp_path))
    assert "my-smiles" in [r["id"] for r in json.loads(res.out)]
