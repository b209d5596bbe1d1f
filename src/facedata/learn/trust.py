"""What makes `facedata train`'s numbers trustworthy: a baseline beside every score, a
smile threshold chosen on validation, a plain verdict when a head learnt nothing,
early stopping on validation loss, and the FER+ vote shares as an expression target.

The console headline used to be raw accuracy at 0.5: 85.7% for a model that always
said "no smile" (F1 0, ROC AUC 0.5). Balanced accuracy beside the majority-class
baseline on the same rows cannot be fooled that way.
"""

from __future__ import annotations

import copy
import math
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from facedata.learn.metrics import (
    auc_chance_p,
    balanced_accuracy,
    learnt,
    majority_baseline,
    pick_threshold,
    smile_metrics,
    threshold_text,
)


def trust_report(train: dict[str, Any], val: dict[str, Any], names: list[str]) -> dict[str, Any]:
    """Per head: balanced accuracy, F1, ROC AUC, the majority baseline, the verdict.

    `train` and `val` are `evaluate` results with their raw arrays; train supplies the
    majority class, validation the scores and the smile threshold."""
    raw_t, raw_v = train["raw"], val["raw"]
    y, p = raw_v["smile_y"].astype(np.int64), raw_v["smile_p"]
    picked = pick_threshold(y, p)
    threshold = 0.5 if picked is None else picked
    smile = smile_metrics(y, p, threshold)
    smile["balanced_accuracy"] = (
        balanced_accuracy(y, (p >= threshold).astype(np.int64), 2) if len(y) else None
    )
    smile["classes_present"] = len(set(y.tolist()))
    smile["threshold"] = threshold
    smile["picked_threshold"] = picked
    smile["threshold_from"] = (
        "default 0.5 (validation cannot separate: one class or one score)"
        if picked is None
        else "validation (best balanced accuracy)"
    )
    smile["at_0.5"] = smile_metrics(y, p, 0.5)
    smile["baseline"] = majority_baseline(raw_t["smile_y"], y, 2)
    smile["auc_chance_p"] = auc_chance_p(smile["roc_auc"], int((y == 1).sum()), int((y == 0).sum()))
    smile["train_classes"] = len(set(raw_t["smile_y"].astype(np.int64).tolist()))
    smile.update(learnt(smile, 2))
    k = len(names)
    ey, ep = raw_v["expr_y"].astype(np.int64), raw_v["expr_p"].astype(np.int64)
    expr: dict[str, Any] = {
        "rows": int(len(ey)),
        "accuracy": float((ey == ep).mean()) if len(ey) else None,
        "balanced_accuracy": balanced_accuracy(ey, ep, k),
        "classes_present": len(set(ey.tolist())),
        "baseline": majority_baseline(raw_t["expr_y"], ey, k),
        "train_classes": len(set(raw_t["expr_y"].astype(np.int64).tolist())),
    }
    expr.update(learnt(expr, k))
    return {"smile": smile, "expression": expr}


def _pct(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.1%}"


def _num(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.3f}"


def _scored(head: str, scores: dict[str, Any]) -> str:
    """Every head's line opens the same way: its rows, then balanced accuracy beside the
    majority baseline's, the one score that a majority-class guess cannot inflate."""
    base = scores["baseline"]["balanced_accuracy"]
    return (
        f"validation {head} ({scores['rows']} rows): balanced accuracy "
        f"{_pct(scores['balanced_accuracy'])} (majority baseline {_pct(base)})"
    )


def headline(trust: dict[str, Any], heads: list[str]) -> list[str]:
    """The lines the console leads with: scores beside the baseline, then the verdict."""
    lines = []
    if "smile" in heads:
        s, b = trust["smile"], trust["smile"]["baseline"]
        lines.append(
            _scored("smile", s)
            + f", F1 {_num(s['f1'])} (baseline {_num(b['f1'])}), ROC AUC {_num(s['roc_auc'])}; "
            f"threshold {threshold_text(s['threshold'])} "
            + ("picked on validation" if s["picked_threshold"] is not None else "(default)")
        )
    if "expression" in heads:
        e, b = trust["expression"], trust["expression"]["baseline"]
        lines.append(
            _scored("expression", e)
            + f", accuracy {_pct(e['accuracy'])} (baseline {_pct(b['accuracy'])})"
        )
    for head in heads:
        verdict = trust[head]
        if verdict["learnt"] is False:
            lines.append(
                f"LEARNT NOTHING: the {head} head is no better than chance ({verdict['why']})"
            )
        elif verdict["learnt"] is None:
            lines.append(f"{head}: {verdict['why']}")
    return lines


class EarlyStop:
    """Stop when the validation loss has not improved for `patience` epochs, and put
    back the best epoch's weights (the model written is the one validation liked)."""

    def __init__(self, patience: int | None) -> None:
        self.patience = patience
        self.best = math.inf
        self.best_epoch: int | None = None
        self.stale = 0
        self.state: dict[str, torch.Tensor] | None = None
        self.stopped_at: int | None = None

    def update(self, model: torch.nn.Module, entry: dict[str, Any]) -> bool:
        if not self.patience:
            return False
        losses = [entry.get("val_smile_loss"), entry.get("val_expression_loss")]
        known = [v for v in losses if v is not None]
        if not known:
            return False
        loss = float(sum(known))
        if loss < self.best - 1e-6:
            self.best, self.best_epoch, self.stale = loss, entry["epoch"], 0
            self.state = copy.deepcopy(model.state_dict())
            return False
        self.stale += 1
        if self.stale >= self.patience:
            self.stopped_at = entry["epoch"]
            return True
        return False

    def restore(self, model: torch.nn.Module) -> None:
        if self.state is not None and self.stopped_at is not None:
            model.load_state_dict(self.state)

    def report(self) -> dict[str, Any]:
        return {
            "patience": self.patience,
            "best_epoch": self.best_epoch,
            "best_val_loss": None if math.isinf(self.best) else self.best,
            "stopped_at_epoch": self.stopped_at,
        }


def soft_expression_loss(
    logits: torch.Tensor, batch: dict[str, torch.Tensor], mask: torch.Tensor, hard: torch.Tensor
) -> torch.Tensor:
    """Cross-entropy against the vote shares where a row has them, the hard label's
    loss elsewhere: FER+ votes say "70% happy, 30% surprise", which one label loses."""
    soft = batch["expression_soft"][mask].float()
    has = batch["expression_soft_mask"][mask]
    if not has.any():
        return hard
    target = soft / soft.sum(1, keepdim=True).clamp_min(1e-8)
    loss = -(target * F.log_softmax(logits, dim=1)).sum(1)
    return torch.where(has, loss, hard)
