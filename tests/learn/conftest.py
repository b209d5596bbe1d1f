"""A tiny trained model shared by the live, export and readout tests (training once)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers.cli import run_cli
from tests.helpers.corpus import make_corpus


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("torch")
    root = tmp_path_factory.mktemp("tiny")
    make_corpus(root / "c", n=24, size=32)
    out = root / "m"

    class _Cap:  # run_cli wants capsys; a module fixture has none
        def readouterr(self):  # noqa: ANN202
            return type("R", (), {"out": "", "err": ""})()

    res = run_cli(
        _Cap(), "train", str(root / "c"), "--out", str(out), "--epochs", "1",
        "--width", "4", "--batch-size", "8", "--threads", "1",
    )  # fmt: skip
    assert res.code == 0, res.err
    return out
