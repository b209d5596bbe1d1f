"""Every learn test trains under its own FACEDATA_HOME: `train` registers its model
there, and `forget` and `predict` read that registry."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _home(tmp_path, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.setenv("FACEDATA_HOME", str(home))
    return home
