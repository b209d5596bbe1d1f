"""docs/architecture.md names real modules: a module that moves takes the page with it."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src" / "facedata"
PAGE = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")

# `folder/module.py` and `folder/module.py:NAME` in backticks (`read/mine.py` is the
# example a newcomer writes; tests/ paths are checked against the repository)
_NAMED = set(re.findall(r"`((?:\w+/)+\w+\.py)(?::(\w+))?`", PAGE))
_PATHS = sorted((p, n) for p, n in _NAMED if not p.startswith("tests/") and "mine" not in p)
_TESTS = sorted(p for p, _ in _NAMED if p.startswith("tests/"))
# the table: `folder/` in the first column, its modules (`schema.py`) in the second
_ROWS = re.findall(r"^\| `(\w+)/` \| (.*) \|$", PAGE, flags=re.M)
_FOLDERS = sorted({folder for folder, _ in _ROWS})
_IN_ROWS = sorted({(folder, m) for folder, text in _ROWS for m in re.findall(r"`(\w+\.py)`", text)})


def test_the_page_names_modules_and_folders():
    assert len(_PATHS) > 15 and len(_FOLDERS) >= 10 and len(_IN_ROWS) > 40


@pytest.mark.parametrize(("folder", "module"), _IN_ROWS)
def test_each_module_in_the_table_exists(folder: str, module: str):
    assert (SRC / folder / module).is_file(), f"the table names {folder}/{module}"


@pytest.mark.parametrize("path", _TESTS)
def test_each_named_test_exists(path: str):
    assert (ROOT / path).is_file()


@pytest.mark.parametrize(("path", "name"), _PATHS)
def test_each_named_module_exists(path: str, name: str):
    assert (SRC / path).is_file(), f"docs/architecture.md names {path}, which is gone"
    if name:
        module = importlib.import_module("facedata." + path[:-3].replace("/", "."))
        assert hasattr(module, name), f"docs/architecture.md names {path}:{name}"


@pytest.mark.parametrize("folder", _FOLDERS)
def test_each_named_folder_is_a_package(folder: str):
    assert (SRC / folder / "__init__.py").is_file()


def test_every_package_is_on_the_page():
    packages = {p.parent.name for p in SRC.glob("*/__init__.py")}
    missing = packages - set(_FOLDERS) - {"cli", "bundle", "report", "learn"}
    assert not missing, f"docs/architecture.md does not say what {sorted(missing)} do"
