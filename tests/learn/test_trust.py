"""Training numbers that can be trusted: baselines, a threshold from validation, a
plain verdict for a model that learnt nothing, early stopping, FER+ vote shares."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.helpers.cli import run_cli
from tests.helpers.corpus import make_corpus
from tests.helpers.extras import needs

pytestmark = needs("torch")

TRAIN = ("--width", "4", "--batch-size", "8", "--threads", "1")


def _rewrite(root: Path, fn) -> None:  # noqa: ANN001 - fn(table, split) -> table
    """Rewrite every shard of a fixture corpus through `fn`."""
    for path in sorted((root / "data").glob("*.parquet")):
        table = pq.read_table(path)
        pq.write_table(fn(table, path.name.split("-")[0]), path)


def _no_signal(root: Path) -> None:
    """One image for every row, labels dealt at random: nothing to learn from."""
    make_corpus(root, n=80, size=32)
    rng = np.random.default_rng(0)
    first = pq.read_table(next((root / "data").glob("train-*.parquet"))).column("image")[0]

    def fn(t: pa.Table, split: str) -> pa.Table:
        n = len(t)
        image = pa.array([first.as_py()] * n, type=t.schema.field("image").type)
        smile = np.arange(n) % 2 if split == "validation" else rng.integers(0, 2, n)
        t = t.set_column(t.schema.get_field_index("image"), "image", image)
        t = t.set_column(t.schema.get_field_index("smile"), "smile", pa.array(smile, pa.int64()))
        expr = pa.array(rng.integers(0, 8, n), pa.int64())
        return t.set_column(t.schema.get_field_index("expression"), "expression", expr)

    _rewrite(root, fn)


def test_a_model_that_learnt_nothing_is_reported_as_such(tmp_path, capsys):
    _no_signal(tmp_path / "c")
    out = tmp_path / "m"
    res = run_cli(capsys, "train", str(tmp_path / "c"), "--out", str(out), "--epochs", "2", *TRAIN)
    assert res.code == 0, res.err
    text = res.out.replace("\n", " ")
    assert "LEARNT NOTHING: the smile head is no better than chance" in text
    assert "LEARNT NOTHING: the expression head" in text
    head = [ln for ln in res.out.splitlines() if ln.startswith("validation smile")][0]
    assert "balanced accuracy 50.0% (majority baseline 50.0%)" in head
    assert "ROC AUC 0.500" in head  # the old headline led with plain accuracy instead
    m = json.loads((out / "metrics.json").read_text())
    smile = m["trust"]["smile"]
    assert smile["learnt"] is False and smile["baseline"]["balanced_accuracy"] == 0.5
    assert smile["picked_threshold"] is None  # one score for every row: nothing to pick
    assert m["trust"]["expression"]["learnt"] is False


def test_early_stopping_keeps_the_best_epoch(tmp_path, capsys):
    _no_signal(tmp_path / "c")
    out = tmp_path / "m"
    res = run_cli(
        capsys, "train", str(tmp_path / "c"), "--out", str(out), "--epochs", "30",
        "--patience", "2", "--lr", "0.05", *TRAIN,
    )  # fmt: skip
    assert res.code == 0, res.err
    m = json.loads((out / "metrics.json").read_text())
    stop = m["early_stopping"]
    assert stop["stopped_at_epoch"] is not None and stop["stopped_at_epoch"] < 30
    assert len(m["history"]) == stop["stopped_at_epoch"]
    assert stop["stopped_at_epoch"] - stop["best_epoch"] == 2
    assert "stopped early at epoch" in res.out


def test_the_threshold_comes_from_validation_and_a_real_signal_is_not_called_nothing():
    from facedata.learn.metrics import learnt, pick_threshold
    from facedata.learn.trust import trust_report

    labels = np.array([0, 0, 0, 1, 1, 1])
    probs = np.array([0.05, 0.1, 0.12, 0.2, 0.3, 0.31])  # all under 0.5, yet separable
    t = pick_threshold(labels, probs)
    assert 0.12 < t < 0.2
    empty = np.zeros(0)
    raw_v = {"smile_y": labels, "smile_p": probs, "expr_y": empty, "expr_p": empty}
    raw_t = {"smile_y": np.array([0, 0, 0, 1]), "smile_p": empty, "expr_y": empty, "expr_p": empty}
    rep = trust_report({"raw": raw_t}, {"raw": raw_v}, ["neutral", "happy"])
    smile = rep["smile"]
    assert smile["balanced_accuracy"] == 1.0 and smile["at_0.5"]["f1"] == 0.0
    assert smile["baseline"] == {
        "class": 0, "accuracy": 0.5, "balanced_accuracy": 0.5, "f1": 0.0,
    }  # fmt: skip
    assert smile["learnt"] is True
    assert learnt({"balanced_accuracy": None}, 2)["learnt"] is None


def _with_votes(root: Path, column: str) -> None:
    make_corpus(root, n=40, size=32)
    rng = np.random.default_rng(1)

    def fn(t: pa.Table, split: str) -> pa.Table:
        votes = [
            None if i % 3 == 0 else (rng.dirichlet(np.ones(8)) * 10).round().tolist()
            for i in range(len(t))
        ]
        return t.append_column(column, pa.array(votes, pa.list_(pa.float32())))

    _rewrite(root, fn)


def test_soft_labels_train_on_vote_shares_and_are_skipped_without_them(tmp_path, capsys):
    _with_votes(tmp_path / "c", "expression_soft")
    losses = {}
    for flag in ((), ("--soft-labels",)):
        out = tmp_path / f"m{len(flag)}"
        res = run_cli(
            capsys, "train", str(tmp_path / "c"), "--out", str(out), "--epochs", "1", *flag, *TRAIN
        )
        assert res.code == 0, res.err
        m = json.loads((out / "metrics.json").read_text())
        assert m["soft_labels"] is bool(flag)
        losses[bool(flag)] = m["history"][0]["train_expression_loss"]
    assert losses[True] != pytest.approx(losses[False])  # the votes changed the target

    make_corpus(tmp_path / "plain", n=20, size=32)
    res = run_cli(
        capsys, "train", str(tmp_path / "plain"), "--out", str(tmp_path / "p"), "--epochs", "1",
        "--soft-labels", *TRAIN,
    )  # fmt: skip
    assert res.code == 0, res.err
    assert "no expression vote shares; trained on hard labels" in res.out


def test_a_threshold_fitted_to_few_rows_does_not_pass_for_learning():
    """Picked on the validation rows it is scored on, the threshold makes a model that
    ranks faces backwards (ROC AUC 0.17) look 58% balanced-accurate on seven rows."""
    from facedata.learn.trust import headline, trust_report

    labels = np.array([0, 0, 0, 0, 1, 1, 1])
    probs = np.array([0.5, 0.6, 0.7, 0.2, 0.9, 0.1, 0.15])
    empty = np.zeros(0)
    raw_v = {"smile_y": labels, "smile_p": probs, "expr_y": empty, "expr_p": empty}
    raw_t = {"smile_y": np.array([0, 1, 0, 1]), "smile_p": empty, "expr_y": empty, "expr_p": empty}
    rep = trust_report({"raw": raw_t}, {"raw": raw_v}, ["neutral", "happy"])
    smile = rep["smile"]
    assert smile["roc_auc"] < 0.5 and smile["balanced_accuracy"] > 0.55
    assert smile["learnt"] is False
    text = " ".join(headline(rep, ["smile"]))
    assert "LEARNT NOTHING: the smile head is no better than chance (ROC AUC" in text


def test_a_chance_auc_on_a_handful_of_rows_is_not_called_learnt():
    from facedata.learn.trust import trust_report

    labels = np.array([0, 0, 0, 1, 1, 1])
    probs = np.array([0.1, 0.4, 0.2, 0.3, 0.5, 0.15])  # ROC AUC 0.67: chance on six rows
    empty = np.zeros(0)
    raw_v = {"smile_y": labels, "smile_p": probs, "expr_y": empty, "expr_p": empty}
    raw_t = {"smile_y": np.array([0, 1]), "smile_p": empty, "expr_y": empty, "expr_p": empty}
    smile = trust_report({"raw": raw_t}, {"raw": raw_v}, ["neutral", "happy"])["smile"]
    assert smile["learnt"] is None and "cannot tell" in smile["why"]


def _random_labels(root: Path) -> None:
    """Real, different faces with smile labels dealt at random: nothing to learn."""
    make_corpus(root, n=40, size=32)
    rng = np.random.default_rng(3)

    def fn(t: pa.Table, split: str) -> pa.Table:
        smile = pa.array(rng.integers(0, 2, len(t)), pa.int64())
        return t.set_column(t.schema.get_field_index("smile"), "smile", smile)

    _rewrite(root, fn)


def test_random_labels_on_real_faces_are_never_presented_as_learnt(tmp_path, capsys):
    _random_labels(tmp_path / "c")
    out = tmp_path / "m"
    res = run_cli(
        capsys, "train", str(tmp_path / "c"), "--out", str(out), "--epochs", "1",
        "--heads", "smile", *TRAIN,
    )  # fmt: skip
    assert res.code == 0, res.err
    smile = json.loads((out / "metrics.json").read_text())["trust"]["smile"]
    assert smile["learnt"] is not True, smile
    assert "LEARNT NOTHING" in res.out or "cannot tell" in res.out


def test_a_head_trained_on_one_class_learnt_nothing(tmp_path, capsys):
    make_corpus(tmp_path / "c", n=40, size=32)

    def fn(t: pa.Table, split: str) -> pa.Table:
        smile = np.ones(len(t), dtype=np.int64) if split == "train" else np.arange(len(t)) % 2
        return t.set_column(t.schema.get_field_index("smile"), "smile", pa.array(smile))

    _rewrite(tmp_path / "c", fn)
    out = tmp_path / "m"
    res = run_cli(
        capsys, "train", str(tmp_path / "c"), "--out", str(out), "--epochs", "1",
        "--heads", "smile", *TRAIN,
    )  # fmt: skip
    assert res.code == 0, res.err
    assert "LEARNT NOTHING: the smile head" in res.out and "train holds one class only" in res.out
    assert json.loads((out / "metrics.json").read_text())["trust"]["smile"]["learnt"] is False
