"""Tests that need an optional extra skip one by one, saying what to install.

A module-level ``pytest.importorskip`` turns a whole file into "not collected", which
the suite-wide check in tests/conftest.py rightly reports as a broken suite; a marker
keeps every test collected and puts the reason and the install line in pytest's
``-ra`` summary instead.
"""

from __future__ import annotations

import importlib
import importlib.util
from types import ModuleType

import pytest

INSTALL_TORCH = 'pip install torch==2.13.0 && pip install -e ".[torch]"'
# module -> the install line that provides it
INSTALL = {
    "torch": INSTALL_TORCH,
    "onnx": INSTALL_TORCH,
    "ray": 'pip install -e ".[ray]"',
}
DEV = 'pip install -e ".[dev]"'


def missing(*modules: str) -> list[str]:
    """The modules among `modules` that cannot be imported here."""
    return [m for m in modules if importlib.util.find_spec(m) is None]


def needs(*modules: str) -> pytest.MarkDecorator:
    """Skip the marked test (or module, as ``pytestmark``) unless every module imports."""
    absent = missing(*modules)
    lines = sorted({INSTALL.get(m, DEV) for m in absent})
    reason = f"needs {', '.join(absent)}: {'; '.join(lines)}" if absent else ""
    return pytest.mark.skipif(bool(absent), reason=reason)


def optional(module: str) -> ModuleType | None:
    """The module when installed, else None (tests using it carry `needs(module)`)."""
    return None if missing(module) else importlib.import_module(module)
