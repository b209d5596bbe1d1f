"""Per-head metrics in plain numpy: what `facedata train` reports and plots.

Smile: accuracy, F1 and ROC AUC of the smile probability; expression: accuracy and a
confusion matrix over the corpus's names. Rows without a label for a head are left
out of that head's metrics (the masks), never counted as wrong.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def roc_auc(labels: np.ndarray, scores: np.ndarray) -> float | None:
    """Area under the ROC curve (Mann-Whitney with tied ranks); None with one class."""
    labels = np.asarray(labels).astype(bool)
    pos, neg = int(labels.sum()), int((~labels).sum())
    if not pos or not neg:
        return None
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores), dtype=np.float64)
    sorted_scores = np.asarray(scores)[order]
    i = 0
    while i < len(sorted_scores):  # average ranks over ties
        j = i
        while j + 1 < len(sorted_scores) and sorted_scores[j + 1] == sorted_scores[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2 + 1
        i = j + 1
    return float((ranks[labels].sum() - pos * (pos + 1) / 2) / (pos * neg))


def smile_metrics(labels: np.ndarray, probs: np.ndarray, threshold: float = 0.5) -> dict:
    labels = np.asarray(labels, dtype=np.int64)
    if not len(labels):
        return {"rows": 0, "accuracy": None, "f1": None, "roc_auc": None}
    pred = (np.asarray(probs) >= threshold).astype(np.int64)
    tp = int(((pred == 1) & (labels == 1)).sum())
    fp = int(((pred == 1) & (labels == 0)).sum())
    fn = int(((pred == 0) & (labels == 1)).sum())
    f1 = 2 * tp / (2 * tp + fp + fn) if (2 * tp + fp + fn) else None
    return {
        "rows": int(len(labels)),
        "accuracy": float((pred == labels).mean()),
        "f1": f1,
        "roc_auc": roc_auc(labels, probs),
        "threshold": threshold,
    }


def expression_metrics(labels: np.ndarray, pred: np.ndarray, names: Sequence[str]) -> dict:
    labels, pred = np.asarray(labels, dtype=np.int64), np.asarray(pred, dtype=np.int64)
    k = len(names)
    confusion = np.zeros((k, k), dtype=np.int64)
    np.add.at(confusion, (labels, pred), 1)
    return {
        "rows": int(len(labels)),
        "accuracy": float((labels == pred).mean()) if len(labels) else None,
        "names": list(names),
        "confusion": confusion.tolist(),  # rows: true class, columns: predicted
    }


def summary(history: list[dict[str, Any]]) -> dict[str, Any]:
    """First and last epoch losses per head: did training lower them?"""
    if not history:
        return {}
    first, last = history[0], history[-1]
    return {
        head: {"first": first.get(f"train_{head}_loss"), "last": last.get(f"train_{head}_loss")}
        for head in ("smile", "expression")
    }
