"""The vocabulary: one home for heads, tiers, purposes, scopes and drop stages.

Every other module reads these names from facedata.vocabulary; the guard at the end
keeps it that way, so a second list that could fall out of step fails here first.
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path
from typing import get_args

import pytest

from facedata import vocabulary as v

SRC = Path(__file__).resolve().parents[2] / "src" / "facedata"
HEX = re.compile(r"^#[0-9a-f]{6}$")


# --- heads -------------------------------------------------------------------------


def test_heads_are_the_literal_in_canonical_order():
    assert v.HEADS == get_args(v.Head) == ("smile", "expression")
    assert list(v.HEAD_TERMS) == list(v.HEADS)
    for name, term in v.HEAD_TERMS.items():
        assert term.name == name
        assert term.title and term.meaning and term.eu_ai_act


def test_the_smile_classes_are_fixed_and_indexed_by_value():
    assert v.SMILE.classes == v.SMILE_NAMES == ("no_smile", "smile")
    assert v.EXPRESSION.classes is None  # each corpus chooses its expression classes


def test_canonical_heads_orders_and_filters():
    assert v.canonical_heads(["expression", "smile"]) == ("smile", "expression")
    assert v.canonical_heads({"smile"}) == ("smile",)
    assert v.canonical_heads(["smile", "age"]) == ("smile",)
    assert v.canonical_heads([]) == ()


def test_model_terms_state_each_heads_eu_ai_act_line():
    from facedata.learn.terms import EU_AI_ACT, parse_heads

    for head in v.HEADS:
        assert EU_AI_ACT[head] == v.HEAD_TERMS[head].eu_ai_act
    assert EU_AI_ACT["note"] == v.EU_AI_ACT_NOTE
    assert parse_heads("expression, smile") == v.HEADS


def test_models_take_their_head_type_from_the_vocabulary():
    from facedata.corpus import HEADS as CORPUS_HEADS
    from facedata.learn.dataset import LABEL_COLUMNS
    from facedata.manifest.options import Head
    from facedata.manifest.schema import Task

    assert Head is v.Head and Task is v.Head
    assert CORPUS_HEADS is v.HEADS and LABEL_COLUMNS is v.HEADS


# --- tiers and purposes --------------------------------------------------------------


def test_every_tier_carries_rank_permissions_wording_and_colour():
    assert get_args(v.Tier) == v.TIERS
    assert list(v.TIER_TERMS) == list(v.TIERS)
    for name, term in v.TIER_TERMS.items():
        assert term.name == name
        assert term.meaning
        assert HEX.match(term.color), term.color
        assert term.allows <= set(v.PURPOSES)
        assert "research" in term.allows  # every tier admits research (unknown: with a warning)
    assert len({t.color for t in v.TIER_TERMS.values()}) == len(v.TIERS)


def test_ranks_are_strictly_ordered_least_to_most_restrictive():
    ranks = [v.rank(t) for t in v.TIERS]
    assert ranks == sorted(set(ranks))
    assert v.TIERS[0] == "commercial" and v.TIERS[-1] == v.UNKNOWN_TIER


def test_only_the_commercial_tier_admits_commercial_builds_and_the_rest_say_why():
    for term in v.TIER_TERMS.values():
        commercial = "commercial" in term.allows
        assert commercial == (term.name == "commercial")
        assert (term.refusal is None) == commercial  # a tier that refuses says why
    assert set(v.TIER_REFUSALS) == {t for t in v.TIERS if t != "commercial"}


def test_rank_and_most_restrictive():
    assert v.most_restrictive(["commercial", "research-only", "noncommercial"]) == "research-only"
    assert v.most_restrictive(["commercial"]) == "commercial"
    assert v.most_restrictive([]) == "unknown"
    with pytest.raises(ValueError, match="not a license tier"):
        v.rank("public-domain")
    assert not v.allows("public-domain", "research")
    assert v.allows("noncommercial", "research") and not v.allows("noncommercial", "commercial")


def test_licensing_orders_tiers_by_the_vocabulary():
    import facedata.gate.licensing as licensing

    assert licensing.Purpose is v.Purpose
    for lower, higher in zip(v.TIERS, v.TIERS[1:], strict=False):
        assert licensing.most_restrictive_tier([higher, lower]) == higher
        assert licensing.effective_tier(lower, [_Twin(higher)])[0] == higher
        assert licensing.effective_tier(higher, [_Twin(lower)])[0] == higher
    assert licensing.most_restrictive_tier([]) == "unknown"


class _Twin:
    def __init__(self, tier: str) -> None:
        self.tier = tier


def test_the_reports_tier_legend_reads_from_the_vocabulary():
    from facedata.report import plots

    assert plots.TIER_COLORS is v.TIER_COLORS
    assert {t: v.TIER_TERMS[t].color for t in v.TIERS} == plots.TIER_COLORS


def test_manifest_tiers_and_permissions_are_the_vocabularys():
    import facedata.manifest.schema as manifest

    assert manifest.Tier is v.Tier and manifest.Permission is v.Permission
    assert get_args(v.Permission) == v.PERMISSIONS
    assert set(v.PERMISSION_WORDING) == set(v.PERMISSIONS)


# --- consent scopes and drop stages ---------------------------------------------------


def test_consent_scopes_cover_every_build_purpose():
    import facedata.consent.register as consent

    assert consent.SCOPES is v.SCOPES
    assert set(v.PURPOSES) <= set(v.SCOPES)
    assert v.PUBLICATION in v.SCOPES
    assert all(v.SCOPES.values())


def test_every_drop_stage_has_its_wording_and_every_reader_uses_it():
    from facedata.assemble.tally import STAGES
    from facedata.cli.summary import STEP_NAMES
    from facedata.report.funnel import READER, STEPS

    assert STAGES is v.STAGES and v.STAGES[0] == v.READER_STAGE
    for name, term in v.STAGE_TERMS.items():
        assert term.name == name and term.short and term.removes
    assert list(STEP_NAMES) == list(v.STAGES)
    assert [s for s, _ in STEPS] == list(v.STAGES[1:])
    assert READER[0] == v.READER_STAGE


# --- the module stays import-light ------------------------------------------------------


def test_the_vocabulary_imports_the_standard_library_only():
    tree = ast.parse((SRC / "vocabulary.py").read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, "the vocabulary imports nothing from facedata"
            names = [node.module or ""]
        else:
            continue
        for name in names:
            top = name.split(".")[0]
            assert top == "__future__" or top in sys.stdlib_module_names, name


# --- the guard: no second list anywhere in src/ -------------------------------------------


def _strings(elts: list[ast.expr | None]) -> list[str]:
    return [e.value for e in elts if isinstance(e, ast.Constant) and isinstance(e.value, str)]


def restated(path: Path) -> list[str]:
    """Collections in `path` that restate the head pair, a tier list or the stage list."""
    found, where = [], f"{path.parent.name}/{path.name}"
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Tuple | ast.List | ast.Set):
            seq = [e.value if isinstance(e, ast.Constant) else None for e in node.elts]
            pairs = set(zip(seq, seq[1:], strict=False))
            if {("smile", "expression"), ("expression", "smile")} & pairs:
                found.append(f"{where}:{node.lineno}: the head pair (use vocabulary.HEADS)")
            words = _strings(node.elts)
        elif isinstance(node, ast.Dict):
            words = _strings(node.keys)
        else:
            continue
        tiers = set(words) & set(v.TIERS)
        if len(tiers) >= 2:
            found.append(f"{where}:{node.lineno}: tiers {sorted(tiers)} (use vocabulary)")
        stages = set(words) & set(v.STAGES)
        if len(stages) >= 4:
            found.append(f"{where}:{node.lineno}: stages {sorted(stages)} (use vocabulary)")
    return found


def test_no_module_restates_the_vocabulary():
    offenders = [
        hit
        for path in sorted(SRC.rglob("*.py"))
        if path.name != "vocabulary.py"
        for hit in restated(path)
    ]
    assert not offenders, "\n".join(offenders)


def test_the_guard_catches_what_it_should(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text(
        "A = ('smile', 'expression')\n"
        "B = ['split', 'smile', 'expression']\n"
        "C = {'commercial': 1, 'unknown': 2}\n"
        "D = ('reader', 'consent', 'labels', 'image', 'face')\n"
    )
    assert len(restated(bad)) == 4
    good = tmp_path / "good.py"
    good.write_text("A = {'smile': 1, 'expression': 2}\nB = ('smile', 1)\nC = tier == 'unknown'\n")
    assert restated(good) == []
