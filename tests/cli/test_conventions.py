"""Everyday command-line conventions: -h, --version, readable metavars, every build
option reachable from the command line, and a --help that loads no heavy library."""

from __future__ import annotations

import re

import pytest

from facedata import __version__
from facedata.assemble.recipe import Recipe
from tests.helpers.cli import run_cli
from tests.helpers.fresh import run_python

HEAVY = ("numpy", "pyarrow", "pydantic", "PIL", "requests", "onnxruntime", "matplotlib", "yaml")


def test_version(capsys):
    for flag in ("--version", "-V"):
        res = run_cli(capsys, flag)
        assert res.code == 0
        assert res.out.strip() == f"facedata {__version__}"


@pytest.mark.parametrize("args", [("-h",), ("build", "-h"), ("demo", "-h"), ("manifest", "-h")])
def test_short_help(capsys, args):
    res = run_cli(capsys, *args)
    assert res.code == 0, res.err
    assert "Usage:" in res.out and "--help" in res.out


def test_help_names_values_not_python_types(capsys):
    out = run_cli(capsys, "build", "--help").out
    for shown in (
        "--out DIR",
        "--workers N",
        "--manifests DIR",
        "--clearances FILE",
        "--near-dup-distance BITS",
        "--image-format jpeg|png",
        "--seed N",
    ):
        assert shown in out, shown
    assert not re.search(r"<(bool|int|str|path|list\[[^>]*\])>", out), out


def test_every_content_option_of_a_recipe_is_a_build_flag(capsys):
    """A recipe field that changes the corpus must be settable without a recipe file."""
    out = run_cli(capsys, "build", "--help").out
    internal = {"batch_size", "shard_rows", "purpose"}  # tuning; purpose is --commercial
    missing = [
        name
        for name in Recipe.model_fields
        if name not in internal and f"--{name.replace('_', '-')}" not in out
    ]
    assert missing == []


def test_help_imports_no_heavy_library():
    """`facedata --help` stays fast because commands import their libraries when run."""
    code = (
        "import sys\n"
        "sys.argv = ['facedata', '--help']\n"
        "from facedata.cli import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    res = run_python(code)
    assert res.stdout.strip().splitlines()[-1] == "[]"


def test_the_funnel_line_names_why_the_readers_dropped_entries():
    """`after 6 unusable entries` hid that a participant's consent refused them."""
    from facedata.cli.summary import funnel_line as _funnel_line

    corpus = {
        "funnel": {"read": 6, "written": 5, "stages": {"reader": 6, "face": 1}},
        "drops": {
            "own-data: consent: no commercial scope": {"count": 3, "stage": "reader"},
            "own-data: consent: withdrawn (erasure ledger)": {"count": 3, "stage": "reader"},
            "own-data: no face": {"count": 1, "stage": "face"},
        },
    }
    line = _funnel_line(corpus)
    assert line == (
        "6 read (after 6 entries dropped by the readers: own-data: consent: no commercial "
        "scope 3; own-data: consent: withdrawn (erasure ledger) 3) - no face 1 = 5 written"
    )
    corpus["drops"].update({f"r{i}": {"count": 1, "stage": "reader"} for i in range(3)})
    assert "; 2 more reasons in corpus.json)" in _funnel_line(corpus)


def test_info_labels_the_version(capsys, tmp_path, monkeypatch):
    """`GENKI-4K (genki4k) GENKI-R2009a` and the demo's `(facedata-demo) 1` read as noise."""
    monkeypatch.setenv("FACEDATA_HOME", str(tmp_path / "home"))
    res = run_cli(capsys, "info", "genki4k")
    assert res.code == 0, res.err
    assert res.out.splitlines()[0].endswith("(genki4k), version GENKI-R2009a")
