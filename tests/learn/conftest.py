"""Every learn test trains under its own FACEDATA_HOME (`train` registers its model
there, and `forget` and `predict` read that registry), and a tiny trained model is shared
by the live, export and readout tests (training once)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers.cli import run_cli
from tests.helpers.corpus import make_corpus


@pytest.fixture(autouse=True)
def _home(tmp_path, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.setenv("FACEDATA_HOME", str(home))
    return home


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("torch")
    root = tmp_path_factory.mktemp("tiny")
    make_corpus(root / "c", n=24, size=32)
    out = root / "m"

    class _Cap:  # run_cli wants capsys; a module fixture has none
        def readouterr(self):  # noqa: ANN202
            return type("R", (), {"out": "", "err": ""})()

    with pytest.MonkeyPatch.context() as mp:  # its model registers in a home of its own
        mp.setenv("FACEDATA_HOME", str(root / "home"))
        res = run_cli(
            _Cap(), "train", str(root / "c"), "--out", str(out), "--epochs", "1",
            "--width", "4", "--batch-size", "8", "--threads", "1",
        )  # fmt: skip
    assert res.code == 0, res.err
    return out
