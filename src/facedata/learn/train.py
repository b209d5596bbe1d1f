"""`facedata train CORPUS --out DIR`: a dual-head smile + expression model from a corpus.

Each head learns only from rows that have its label (the masks), weighted by the
corpus record's class weights, so a corpus mixing smile-only and expression-only
sources trains both heads without inventing labels. Validation is subject-disjoint:
the corpus's validation split (the build assigns whole subjects to one split), or, if
it is empty, a hold-out of whole subjects from train. The output folder holds:

  model.pt       weights + config + label maps (torch.load(..., weights_only=True))
  model.onnx     probabilities out, label maps and image spec in its metadata
  metrics.json   per-epoch losses, final per-head metrics, the data used
  training.png   loss curves per head and the expression confusion matrix
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Subset

from facedata.consent.withdrawals import Withdrawal
from facedata.errors import FacedataError
from facedata.files.atomic import atomic_dir
from facedata.learn.card import write_card
from facedata.learn.dataset import CorpusDataset, CorpusStream
from facedata.learn.metrics import expression_metrics, smile_metrics, summary
from facedata.learn.model import DualHeadNet, Probabilities, SmileProbability
from facedata.learn.outdir import check_replaceable
from facedata.learn.registry import mark_models
from facedata.learn.registry import register as register_model
from facedata.learn.terms import (
    TERMS_KEY,
    Caches,
    LineageError,
    corpus_lineage,
    known_withdrawals,
    learnt_withdrawals,
    model_terms,
)
from facedata.learn.trust import EarlyStop, soft_expression_loss, trust_report
from facedata.storage.location import corpus_caches, recorded_cache
from facedata.vocabulary import HEADS, SMILE_NAMES

MODEL_PT = "model.pt"
MODEL_ONNX = "model.onnx"
METRICS = "metrics.json"
PLOT = "training.png"
OUTPUTS = (MODEL_PT, MODEL_ONNX, METRICS, PLOT)


class TrainError(FacedataError):
    """A corpus that cannot be trained on, or an output folder that must not be replaced."""


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 10
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 1e-4
    width: int = 32
    device: str = "auto"
    seed: int = 0
    workers: int = 0
    streaming: bool = False
    max_steps: int | None = None  # stop early (smoke runs); None: all epochs
    holdout: float = 0.1  # share of train subjects held out when validation is empty
    heads: tuple[str, ...] = HEADS  # ("smile",): no expression head at all
    arch: str = "light"  # see model.py: light (fast, the default) or plain
    patience: int | None = None  # stop after this many epochs without a better val loss
    soft_labels: bool = False  # expression loss against the corpus's vote shares


def _device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise TrainError("--device cuda asked for, but no CUDA GPU is visible", hint="use cpu")
    return torch.device(name)


def _check_out(out: Path) -> None:
    """Training replaces its folder whole: only ever a previous training's folder."""
    check_replaceable(
        out, METRICS, TrainError, holds="model", kind="model folder", example="output/models/NAME"
    )


def _bucket(subject: str) -> float:
    return int(hashlib.sha256(subject.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF


def _datasets(corpus: Path, cfg: TrainConfig) -> tuple[Any, Any, dict[str, Any]]:
    """Train and validation datasets, subject-disjoint, and how they were chosen."""
    train = (
        CorpusStream(corpus, "train", shuffle=True, seed=cfg.seed)
        if cfg.streaming
        else CorpusDataset(corpus, "train")
    )
    has_val = any(s.split == "validation" and s.rows for s in train.record.shards)
    if has_val:
        val = CorpusDataset(corpus, "validation")
        train_subjects = set() if cfg.streaming else {s for s in train.subject_id if s is not None}
        overlap = train_subjects & {s for s in val.subject_id if s is not None}
        return train, val, {"validation": "corpus split", "subject_overlap": len(overlap)}
    if cfg.streaming:
        raise TrainError(
            "the corpus has no validation split, and a streamed train split cannot be divided",
            hint="train without --streaming, or rebuild with --split-ratios giving validation rows",
        )
    # no validation rows: hold out whole subjects (rows without one are their own subject)
    groups = [s if s is not None else f"#row{i}" for i, s in enumerate(train.subject_id)]
    held = [i for i, g in enumerate(groups) if _bucket(g) < cfg.holdout]
    kept = [i for i, g in enumerate(groups) if _bucket(g) >= cfg.holdout]
    if not held or not kept:
        raise TrainError(
            f"{corpus} has too few subjects to hold some out for validation",
            hint="build a larger corpus, or one with a validation split",
        )
    info = {"validation": f"{cfg.holdout:.0%} of train subjects held out", "subject_overlap": 0}
    return Subset(train, kept), Subset(train, held), info


def _weights(record: Any, head: str, size: int, device: torch.device) -> torch.Tensor:
    h = record.heads.get(head)
    w = list(h.weights) if h is not None and len(h.weights) == size else [1.0] * size
    if not any(w):
        w = [1.0] * size
    return torch.tensor(w, dtype=torch.float32, device=device)


def _losses(
    smile_logit: torch.Tensor,
    expr_logits: torch.Tensor,
    batch: dict[str, torch.Tensor],
    w_smile: torch.Tensor,
    w_expr: torch.Tensor,
    soft: bool = False,
) -> tuple[torch.Tensor, torch.Tensor, float, float]:
    """Masked, class-weighted losses per head, and the weight each carries (for means)."""
    zero = smile_logit.sum() * 0.0
    mask = batch["smile_mask"]
    if mask.any():
        target = batch["smile"][mask]
        w = w_smile[target]
        bce = F.binary_cross_entropy_with_logits(
            smile_logit[mask], target.float(), reduction="none"
        )
        smile_loss, smile_w = (bce * w).sum() / w.sum().clamp_min(1e-8), float(w.sum())
    else:
        smile_loss, smile_w = zero, 0.0
    mask = batch["expression_mask"]
    if mask.any() and expr_logits.shape[1]:  # a smile-only model learns no expression
        target = batch["expression"][mask]
        w = w_expr[target]
        ce = F.cross_entropy(expr_logits[mask], target, reduction="none")
        if soft and "expression_soft" in batch:
            ce = soft_expression_loss(expr_logits[mask], batch, mask, ce)
        expr_loss, expr_w = (ce * w).sum() / w.sum().clamp_min(1e-8), float(w.sum())
    else:
        expr_loss, expr_w = zero, 0.0
    return smile_loss, expr_loss, smile_w, expr_w


@torch.no_grad()
def evaluate(
    model: DualHeadNet,
    loader: DataLoader,
    device: torch.device,
    w_smile: torch.Tensor,
    w_expr: torch.Tensor,
    names: list[str],
) -> dict[str, Any]:
    model.eval()
    sums = {"smile": [0.0, 0.0], "expression": [0.0, 0.0]}
    smile_y, smile_p, expr_y, expr_p = [], [], [], []
    for batch in loader:
        batch = {k: v.to(device) for k, v in batch.items()}
        s, e = model(batch["image"])
        ls, le, ws, we = _losses(s, e, batch, w_smile, w_expr)
        sums["smile"][0] += float(ls) * ws
        sums["smile"][1] += ws
        sums["expression"][0] += float(le) * we
        sums["expression"][1] += we
        m = batch["smile_mask"]
        smile_y.append(batch["smile"][m].cpu().numpy())
        smile_p.append(torch.sigmoid(s[m]).cpu().numpy())
        m = batch["expression_mask"]
        if e.shape[1]:  # a smile-only model has no expression to score
            expr_y.append(batch["expression"][m].cpu().numpy())
            expr_p.append(e[m].argmax(1).cpu().numpy())

    def cat(parts: list[np.ndarray]) -> np.ndarray:
        return np.concatenate(parts) if parts else np.zeros(0)

    raw = {"smile_y": cat(smile_y), "smile_p": cat(smile_p), "expr_y": cat(expr_y)}
    raw["expr_p"] = cat(expr_p)
    return {
        "raw": raw,
        "smile_loss": sums["smile"][0] / sums["smile"][1] if sums["smile"][1] else None,
        "expression_loss": (
            sums["expression"][0] / sums["expression"][1] if sums["expression"][1] else None
        ),
        "smile": smile_metrics(cat(smile_y), cat(smile_p)),
        "expression": expression_metrics(cat(expr_y), cat(expr_p), names),
    }


def _public(result: dict[str, Any]) -> dict[str, Any]:
    """An evaluation without its raw arrays (what metrics.json keeps)."""
    return {k: v for k, v in result.items() if k != "raw"}


def _loader(ds: Any, cfg: TrainConfig, shuffle: bool) -> DataLoader:
    streaming = isinstance(ds, CorpusStream)
    gen = torch.Generator().manual_seed(cfg.seed)
    return DataLoader(
        ds,
        batch_size=cfg.batch_size,
        shuffle=shuffle and not streaming,
        num_workers=cfg.workers,
        generator=gen if shuffle and not streaming else None,
    )


def train(
    corpus: Path,
    out: Path,
    cfg: TrainConfig | None = None,
    progress: Callable[[dict[str, Any]], None] | None = None,
    cache: str | None = None,
) -> dict[str, Any]:
    """Train on the corpus at `corpus`; write the model folder `out`; return the metrics.

    `cache` (else FACEDATA_CACHE_URL) is a fetch cache whose withdrawals are checked too,
    with those of the cache the corpus was built from (`corpus_caches`): forgets made on
    other homes reach a copy of the corpus here. The model records the corpus's cache,
    so `predict` and `export` read it too."""
    cfg = cfg or TrainConfig()
    corpus, out = Path(corpus), Path(out)
    _check_out(out)
    caches = corpus_caches(corpus, cache)
    torch.manual_seed(cfg.seed)
    device = _device(cfg.device)
    train_ds, val_ds, split_info = _datasets(corpus, cfg)
    base = train_ds.dataset if isinstance(train_ds, Subset) else train_ds
    record, names = base.record, base.names["expression"]
    # a withdrawal logged while training (here, or on the cache) is checked at the end;
    # read before the check below, so one logged between the two is never taken as known
    known = known_withdrawals(corpus, caches)
    lineage = corpus_lineage(corpus, record, caches)  # refuses a copy holding a withdrawn person
    channels = 1 if base.mode == "L" else 3
    size = record.image.size if record.image and record.image.size else None
    expressions = len(names) if "expression" in cfg.heads else 0
    names = names if expressions else []
    model = DualHeadNet(channels, expressions, cfg.width, cfg.arch).to(device)
    soft = cfg.soft_labels and getattr(base, "has_soft", False)
    w_smile = _weights(record, "smile", 2, device)
    w_expr = _weights(record, "expression", len(names), device)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    train_loader = _loader(train_ds, cfg, shuffle=True)
    train_eval = _loader(train_ds, cfg, shuffle=False)  # losses before/after, eval mode
    val_loader = _loader(val_ds, cfg, shuffle=False)
    before = evaluate(model, train_eval, device, w_smile, w_expr, names)
    history, step, started = [], 0, time.monotonic()
    stop = EarlyStop(cfg.patience)
    for epoch in range(cfg.epochs):
        if isinstance(train_ds, CorpusStream):
            train_ds.set_epoch(epoch)
        model.train()
        sums = {"smile": [0.0, 0.0], "expression": [0.0, 0.0]}
        for batch in train_loader:
            batch = {k: v.to(device, non_blocking=True) for k, v in batch.items()}
            s, e = model(batch["image"])
            ls, le, ws, we = _losses(s, e, batch, w_smile, w_expr, soft)
            loss = ls + le
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            ls, le = ls.detach(), le.detach()
            sums["smile"][0] += float(ls) * ws
            sums["smile"][1] += ws
            sums["expression"][0] += float(le) * we
            sums["expression"][1] += we
            step += 1
            if cfg.max_steps is not None and step >= cfg.max_steps:
                break
        val = evaluate(model, val_loader, device, w_smile, w_expr, names)
        entry = {
            "epoch": epoch + 1,
            "steps": step,
            "train_smile_loss": sums["smile"][0] / sums["smile"][1] if sums["smile"][1] else None,
            "train_expression_loss": (
                sums["expression"][0] / sums["expression"][1] if sums["expression"][1] else None
            ),
            "val_smile_loss": val["smile_loss"],
            "val_expression_loss": val["expression_loss"],
            "val_smile_accuracy": val["smile"]["accuracy"],
            "val_expression_accuracy": val["expression"]["accuracy"],
        }
        history.append(entry)
        if progress:
            progress(entry)
        if cfg.max_steps is not None and step >= cfg.max_steps:
            break
        if stop.update(model, entry):
            break
    stop.restore(model)
    after = evaluate(model, train_eval, device, w_smile, w_expr, names)
    final = evaluate(model, val_loader, device, w_smile, w_expr, names)
    labels = {"smile": list(SMILE_NAMES), "expression": names}
    image = {"mode": base.mode, "size": size, "channels": channels}
    metrics = {
        "corpus": {
            "path": str(corpus),
            "format": record.format,
            "created": record.created,
            "id": record.get("id"),
            "fingerprint": lineage["fingerprint"],
            "rows": {"train": len(train_ds), "validation": len(val_ds)},
            **split_info,
        },
        "config": asdict(cfg),
        "device": str(device),
        "seconds": round(time.monotonic() - started, 3),
        "steps": step,
        "labels": labels,
        "image": image,
        "train_loss_before": {
            "smile": before["smile_loss"],
            "expression": before["expression_loss"],
        },
        "train_loss_after": {"smile": after["smile_loss"], "expression": after["expression_loss"]},
        "loss_trend": summary(history),
        "history": history,
        "validation": _public(final),
        "early_stopping": stop.report(),
        "soft_labels": soft,
    }
    metrics["trust"] = trust_report(before, final, names)
    detector = (record.recipe or {}).get("detector")
    # a head without a single training label was never learnt: predict must not show it
    trained = [h for h in HEADS if before[f"{h}_loss"] is not None]
    metrics["trained_heads"] = trained
    if not trained:
        raise TrainError(
            f"{corpus} has no labels for the heads asked for ({', '.join(cfg.heads)})",
            hint="train the heads the corpus has labels for (see `facedata inspect`)",
        )
    terms = model_terms(
        corpus,
        record,
        trained,
        detector,
        lineage["subjects"],
        lineage["fingerprint"],
        lineage["tiers"],
        lineage["detectors"],
    )
    built_from = recorded_cache(corpus)
    if built_from:  # predict and export read its withdrawals too, wherever the model goes
        terms["corpus"]["cache"] = built_from
    metrics["terms"] = {"statement": terms["statement"], "banner": terms["banner"]}
    meta = {
        "labels": labels,
        "image": image,
        "detector": detector,
        "heads": trained,
        TERMS_KEY: terms,
    }
    meta["threshold"] = metrics["trust"]["smile"]["picked_threshold"]
    _refuse_late_withdrawals(corpus, terms, known, caches)
    with atomic_dir(out) as tmp:
        model.eval().cpu()
        torch.save(
            {"state_dict": model.state_dict(), "config": model.config(), **meta},
            tmp / MODEL_PT,
        )
        export_onnx(model, tmp / MODEL_ONNX, meta, size or 112)
        (tmp / METRICS).write_text(json.dumps(metrics, indent=2), encoding="utf-8")
        plot(metrics, tmp / PLOT)
        write_card(tmp, terms, metrics)
    register_model(out, terms)
    _mark_late_withdrawals(corpus, out, terms, known, caches)
    return metrics


def _late(
    corpus: Path, terms: dict[str, Any], known: dict[Any, Withdrawal], cache: Caches
) -> list[Withdrawal]:
    return learnt_withdrawals(
        terms, [w for k, w in known_withdrawals(corpus, cache).items() if k not in known]
    )


def _refuse_late_withdrawals(
    corpus: Path, terms: dict[str, Any], known: dict[Any, Withdrawal], cache: Caches
) -> None:
    """A `forget` that ran while this model trained (on this home, or with the fetch
    cache on another): the weights hold the person, so nothing is written."""
    _raise_late(
        _late(corpus, terms, known, cache),
        f"while this model trained on {corpus}: it learnt from their rows, so it was not written",
        hint=f"train again once {corpus} no longer holds them (`facedata forget` erases them)",
    )


def _mark_late_withdrawals(
    corpus: Path,
    out: Path,
    terms: dict[str, Any],
    known: dict[Any, Withdrawal],
    cache: Caches,
) -> None:
    """A `forget` that ran between the last check and the registration may have marked
    the registered models before this one was among them: mark it here, and say so.

    `forget` rewrites the corpus before it marks models, so a withdrawal missed here
    finds this model already registered."""
    late = _late(corpus, terms, known, cache)
    for w in late:
        mark_models(w.subject_id, w.to_dict())
    _raise_late(
        late,
        f"as this model was written to {out}: it is marked `retrain` (MARKS.json, "
        "`facedata models`)",
        hint=f"train again on {corpus}, which no longer holds them",
    )


def _raise_late(late: list[Withdrawal], when: str, hint: str) -> None:
    """Name every subject who withdrew `when` in one LineageError; none withdrew, no error."""
    if late:
        ids = ", ".join(sorted({w.subject_id for w in late}))
        raise LineageError(f"subject(s) {ids} withdrew {when}", hint=hint)


def export_onnx(model: DualHeadNet, path: Path, meta: dict[str, Any], size: int) -> None:
    """Probabilities out, batch dimension free; label maps in the model's metadata."""
    import onnx

    smile_only = model.expression is None
    wrapped = (SmileProbability(model) if smile_only else Probabilities(model)).eval()
    outputs = ["smile"] if smile_only else list(HEADS)
    dummy = torch.zeros(1, model.channels, size, size)
    buf = io.BytesIO()
    with warnings.catch_warnings():  # the TorchScript exporter needs no onnxscript
        warnings.simplefilter("ignore")
        torch.onnx.export(
            wrapped,
            (dummy,),
            buf,
            dynamo=False,
            input_names=["image"],
            output_names=outputs,
            dynamic_axes={"image": {0: "batch"}, **{name: {0: "batch"} for name in outputs}},
            opset_version=17,
        )
    proto = onnx.load_from_string(buf.getvalue())
    for key, value in meta.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = f"facedata.{key}", json.dumps(value)
    proto.producer_name = "facedata"
    path.write_bytes(proto.SerializeToString())


def _empty(ax: Any, text: str) -> None:
    ax.set_xticks([])
    ax.set_yticks([])
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, wrap=True)


def plot(metrics: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    history = metrics["history"]
    epochs = [h["epoch"] for h in history]
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    for ax, head in zip(axes[:2], HEADS, strict=True):
        ax.set_title(f"{head} loss (masked, class-weighted)")
        ax.set_xlabel("epoch")
        if head not in metrics.get("trained_heads", (head,)):
            _empty(ax, f"no {head} labels in this corpus: head not trained")
            continue
        for kind, style in (("train", "-"), ("val", "--")):
            ys = [h[f"{kind}_{head}_loss"] for h in history]
            ys = [math.nan if y is None else y for y in ys]
            ax.plot(epochs, ys, style, marker="o", label=kind)
        ax.legend()
    expr = metrics["validation"]["expression"]
    if not expr["rows"]:
        axes[2].set_title("validation expression confusion")
        _empty(axes[2], "no validation rows with an expression label")
        fig.tight_layout()
        fig.savefig(path, dpi=80)
        plt.close(fig)
        return
    conf = np.asarray(expr["confusion"], dtype=np.float64)
    norm = conf / np.maximum(conf.sum(1, keepdims=True), 1)
    axes[2].imshow(norm, cmap="Blues", vmin=0, vmax=1)
    axes[2].set_xticks(range(len(expr["names"])), expr["names"], rotation=45, ha="right")
    axes[2].set_yticks(range(len(expr["names"])), expr["names"])
    for (i, j), n in np.ndenumerate(conf):
        if n:
            axes[2].text(j, i, int(n), ha="center", va="center", fontsize=8)
    acc = expr["accuracy"]
    axes[2].set_title(
        "validation expression confusion" + (f" (acc {acc:.2f})" if acc is not None else "")
    )
    axes[2].set_xlabel("predicted")
    axes[2].set_ylabel("true")
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
