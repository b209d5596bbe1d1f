"""Per-head metrics in plain numpy: what `facedata train` reports and plots.

Smile: accuracy, F1 and ROC AUC of the smile probability; expression: accuracy and a
confusion matrix over the corpus's names. Rows without a label for a head are left
out of that head's metrics (the masks), never counted as wrong.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from facedata.vocabulary import HEADS


def threshold_text(threshold: float) -> str:
    """`0.80`, but `0.4935` where two decimals would round: a readout of 49.16% beside
    "threshold 0.49" and the verdict NOT SMILING would look wrong."""
    short = f"{threshold:.2f}"
    return short if abs(float(short) - threshold) < 1e-9 else f"{threshold:.4f}"


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
        for head in HEADS
    }


# -- numbers that can be trusted: balanced accuracy, a baseline, a threshold picked on
# validation, and a plain verdict when a head is no better than chance

CHANCE_MARGIN = 0.05  # balanced accuracy within this of chance: nothing learnt


def balanced_accuracy(labels: np.ndarray, pred: np.ndarray, classes: int) -> float | None:
    """Mean recall over the classes present: a majority-class guess scores 1/classes
    present, whatever the imbalance, so it cannot pass for a model."""
    labels, pred = np.asarray(labels, dtype=np.int64), np.asarray(pred, dtype=np.int64)
    recalls = [
        float((pred[labels == c] == c).mean()) for c in range(classes) if (labels == c).any()
    ]
    return float(np.mean(recalls)) if recalls else None


def pick_threshold(labels: np.ndarray, probs: np.ndarray) -> float | None:
    """The smile threshold with the best balanced accuracy on these (validation) rows.

    Candidates are midpoints between distinct probabilities, so a model whose
    probabilities all sit on one side of 0.5 still gets a threshold that separates
    what it can; None when there is nothing to choose from (one class, no rows, or one
    probability for every row)."""
    labels, probs = np.asarray(labels, dtype=np.int64), np.asarray(probs, dtype=np.float64)
    if len(set(labels.tolist())) < 2:
        return None
    values = np.unique(probs)
    if len(values) < 2:
        return None
    candidates = (values[1:] + values[:-1]) / 2
    scores = [
        balanced_accuracy(labels, (probs >= t).astype(np.int64), 2) or 0.0 for t in candidates
    ]
    best = int(np.argmax(scores))
    return float(candidates[best])


def majority_baseline(train_labels: np.ndarray, labels: np.ndarray, classes: int) -> dict[str, Any]:
    """What always answering train's most common class scores on `labels`."""
    train_labels = np.asarray(train_labels, dtype=np.int64)
    labels = np.asarray(labels, dtype=np.int64)
    if not len(train_labels) or not len(labels):
        return {"class": None, "accuracy": None, "balanced_accuracy": None, "f1": None}
    majority = int(np.bincount(train_labels, minlength=classes).argmax())
    pred = np.full(len(labels), majority, dtype=np.int64)
    out: dict[str, Any] = {
        "class": majority,
        "accuracy": float((pred == labels).mean()),
        "balanced_accuracy": balanced_accuracy(labels, pred, classes),
    }
    if classes == 2:
        tp = int(((pred == 1) & (labels == 1)).sum())
        fp, fn = int(((pred == 1) & (labels == 0)).sum()), int(((pred == 0) & (labels == 1)).sum())
        out["f1"] = 2 * tp / (2 * tp + fp + fn) if (2 * tp + fp + fn) else 0.0
    return out


CHANCE_P = 0.05  # a ROC AUC this likely under random labels is not evidence of learning


def auc_chance_p(auc: float | None, positives: int, negatives: int) -> float | None:
    """One-sided p-value of a ROC AUC at least this high if the scores knew nothing.

    The Mann-Whitney statistic's normal approximation: under random labels the AUC is
    0.5 with variance (n+ + n- + 1) / (12 n+ n-). On a handful of validation rows an AUC
    of 0.7 is a coin toss, and saying "learnt" then would present chance as a model."""
    if auc is None or not positives or not negatives:
        return None
    sd = math.sqrt((positives + negatives + 1) / (12.0 * positives * negatives))
    return float(0.5 * math.erfc((auc - 0.5) / sd / math.sqrt(2.0)))


def learnt(head: dict[str, Any], classes: int) -> dict[str, Any]:
    """Did this head beat chance on validation? A verdict and the reason, in words.

    Where a ROC AUC exists it decides: the balanced accuracy beside it was measured at a
    threshold picked on those same rows, so on few rows it beats chance by construction
    even for a model that ranks the faces backwards."""
    if head.get("train_classes") == 1:  # whatever validation says, nothing was told apart
        return {"learnt": False, "why": "train holds one class only: nothing to tell apart"}
    bal = head.get("balanced_accuracy")
    if bal is None:
        return {"learnt": None, "why": "no validation rows with this label: cannot tell"}
    present = head.get("classes_present", classes)
    if present < 2:
        return {"learnt": None, "why": "validation holds one class only: cannot tell"}
    chance = 1.0 / present
    auc = head.get("roc_auc")
    if auc is not None:
        if auc <= 0.5 + CHANCE_MARGIN:
            return {
                "learnt": False,
                "why": f"ROC AUC {auc:.3f} is a coin toss or worse; the balanced accuracy "
                f"{bal:.1%} is at a threshold fitted to these same rows",
            }
        p = head.get("auc_chance_p")
        if p is not None and p >= CHANCE_P:
            return {
                "learnt": None,
                "why": f"ROC AUC {auc:.3f} on {head.get('rows', '?')} validation rows is "
                f"within chance (p {p:.2f}): cannot tell; validate on more subjects",
            }
    if bal <= chance + CHANCE_MARGIN and (auc is None or auc <= 0.5 + CHANCE_MARGIN):
        return {
            "learnt": False,
            "why": f"balanced accuracy {bal:.1%} is chance ({chance:.1%})"
            + (f" and ROC AUC {auc:.3f} is a coin toss" if auc is not None else ""),
        }
    return {"learnt": True, "why": f"balanced accuracy {bal:.1%} against chance {chance:.1%}"}
