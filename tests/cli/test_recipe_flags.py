"""`facedata build`'s recipe flags come from the recipe's field table, and its closing
summary from the corpus record."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from facedata.assemble.recipe import Recipe
from facedata.assemble.recipe_fields import FIELDS
from facedata.cli import build as build_module
from facedata.cli.recipe_options import recipe_from
from facedata.cli.summary import render_summary
from facedata.errors import BuildError
from tests.helpers.cli import run_cli


def test_every_recipe_field_has_one_entry_and_takes_its_default_from_it():
    assert list(FIELDS) == list(Recipe.model_fields)
    fields = Recipe.model_fields
    for name, f in FIELDS.items():
        assert fields[name].description == f.help, name
        if f.factory is not None:
            assert fields[name].default_factory is f.factory, name
        elif not f.required:
            assert fields[name].default == f.default, name


def test_help_shows_each_flags_default_from_the_table(capsys):
    out = " ".join(run_cli(capsys, "build", "--help").out.split())
    for name in ("size", "near_dup_distance", "split_ratios", "label_conflicts"):
        f = FIELDS[name]
        assert f"[default: {f.default_text()}]" in out, name
    assert "[default: research]" not in out  # --commercial is a switch, off unless given


def test_the_build_command_declares_no_recipe_flag_itself():
    source = inspect.getsource(build_module)
    declared = [f.flag for f in FIELDS.values() if f.flag and f'"{f.flag}"' in source]
    assert declared == []


def test_flags_override_a_recipe_file_and_unset_flags_leave_it(tmp_path: Path):
    file = tmp_path / "recipe.yaml"
    file.write_text(
        Recipe(datasets=["a", "b"], size=64, seed=7, detect_side=512).to_yaml(), encoding="utf-8"
    )
    recipe, given = recipe_from(file, {"size": None, "seed": 3, "derive_smile": False})
    assert (recipe.datasets, recipe.size, recipe.seed) == (["a", "b"], 64, 3)
    assert given == {"seed": 3}
    recipe, given = recipe_from(file, {"detect_side": 0, "image_mode": "l", "purpose": False})
    assert (recipe.detect_side, recipe.image_mode) == (None, "L")
    assert given == {"detect_side": None, "image_mode": "L"}
    recipe, given = recipe_from(file, {})
    assert given == {} and recipe.detect_side == 512


def test_flags_alone_make_a_recipe_and_bad_ones_say_which(tmp_path: Path):
    recipe, _ = recipe_from(
        None, {"datasets": "x, y:src", "purpose": True, "split_ratios": "0.5,0.5,0"}
    )
    assert recipe.pinned() == [("x", None), ("y", "src")]
    assert recipe.purpose == "commercial" and recipe.split_ratios == (0.5, 0.5, 0.0)
    with pytest.raises(BuildError, match="nothing to build"):
        recipe_from(None, {"datasets": ""})
    with pytest.raises(BuildError, match="names no dataset"):
        recipe_from(None, {"datasets": ","})
    with pytest.raises(BuildError, match="size"):
        recipe_from(None, {"datasets": "x", "size": 8})


def _record() -> dict:
    return {
        "recipe": {"out": "output/my corpus"},
        "decisions": [
            {"dataset": "a", "source": "s", "admitted": True, "reason": "ok", "flags": ["mirror"]},
            {"dataset": "b", "source": "t", "admitted": False, "reason": "no", "flags": ["x"]},
        ],
        "detector_decision": None,
        "withdrawals_applied": [{"subject_id": "P2"}, {"subject_id": "P1"}, {"subject_id": "P2"}],
        "warnings": ["w"],
        "datasets": [{"id": "a", "file_set": "aligned", "notes": ["no landmarks"]}],
        "counts": {"total": 1200, "splits": {"train": 1000, "test": 200}},
        "drops": {"a: no face": {"count": 5, "stage": "face"}},
        "funnel": {"read": 1205, "written": 1200, "stages": {"face": 5}},
        "dedup": {"exact": 0, "near": 0, "merged": {}, "conflicts": {}, "conflict_policy": "void"},
        "license": {"statement": "research only"},
    }


def test_the_summary_is_read_from_the_record():
    lines = render_summary(_record())
    assert lines == [
        "a \\[s]: [green]admitted[/]: ok",
        "  [yellow]warning:[/] mirror",
        "b \\[t]: [red]refused[/]: no",
        "left out withdrawn subject(s) (erasure ledger): P1, P2",
        "[yellow]warning:[/] w",
        "a: read the file set aligned",
        "a: [yellow]note:[/] no landmarks",
        "[bold]output/my corpus[/]: 1,200 rows (test 200, train 1,000); 5 dropped; "
        "dedup removed 0 exact + 0 near",
        "funnel: 1,205 read - no face 5 = 1,200 written",
        "license: research only",
        "next: facedata report 'output/my corpus'   (one HTML page: balance, drops, "
        "licenses, sample faces)",
    ]


def test_an_up_to_date_corpus_is_one_line():
    lines = render_summary({"up_to_date": True, "recipe": {"out": "c"}}, out=Path("out/c"))
    assert lines == [
        "[bold]out/c[/]: up to date (same recipe, inputs and facedata version); nothing "
        "rebuilt. Pass --overwrite to build it again."
    ]
