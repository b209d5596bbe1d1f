"""Matplotlib figures rendered to PNG data URIs.

Figures are built on `matplotlib.figure.Figure` directly, never through pyplot: no
global backend switch, no figure registry to leak, safe to call from a library.
Labels come from data, so they are defused for matplotlib (a `$` would start
mathtext, a leading `_` hides a legend entry) and shortened; the tables beside each
plot carry the full text.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from facedata.vocabulary import TIER_COLORS as TIER_COLORS  # the tier legend, re-exported

DPI = 110
WIDTH = 9.0  # inches; the page shows figures at 100% up to ~1000 px
LABEL_CHARS = 38
OTHER = "#b0b0b0"
_CYCLE = [
    "#4e79a7",
    "#f28e2b",
    "#e15759",
    "#76b7b2",
    "#59a14f",
    "#edc948",
    "#b07aa1",
    "#ff9da7",
    "#9c755f",
    "#bab0ac",
]
CLASS_COLORS = {
    "0": "#9aa5b1",
    "1": "#f28e2b",
    "neutral": "#9aa5b1",
    "happy": "#f6c343",
    "sad": "#4e79a7",
    "surprise": "#b07aa1",
    "fear": "#76b7b2",
    "disgust": "#59a14f",
    "anger": "#e15759",
    "contempt": "#9c755f",
}
SPLIT_COLORS = {"train": "#4e79a7", "validation": "#f28e2b", "test": "#59a14f"}


def plot_label(text: str, limit: int = LABEL_CHARS) -> str:
    text = " ".join(str(text).split())
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    text = text.replace("$", r"\$")
    return " " + text if text.startswith("_") else text


def wrapped_label(text: str, width: int = LABEL_CHARS, lines: int = 4) -> str:
    """A tick label wrapped onto up to `lines` lines: long license ids stay whole."""
    import textwrap

    text = " ".join(str(text).split())
    parts = textwrap.wrap(text, width, break_on_hyphens=True) or [""]
    if len(parts) > lines:
        parts = [*parts[: lines - 1], plot_label(" ".join(parts[lines - 1 :]), width)]
    return "\n".join(plot_label(p, width) for p in parts)


def _lines(labels: Sequence[str]) -> int:
    return sum(label.count("\n") + 1 for label in labels)


def colors_for(names: Sequence[str], known: Mapping[str, str] = CLASS_COLORS) -> list[str]:
    spare = iter(c for c in _CYCLE * (1 + len(names) // len(_CYCLE)) if c not in known.values())
    return [known.get(n) or next(spare, OTHER) for n in names]


def _to_uri(fig: Figure) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _height(rows: int) -> float:
    return 1.2 + 0.38 * max(rows, 1)


def _figure(height: float) -> Figure:
    # Constrained layout at one fixed width: every plot on the page lines up.
    return Figure(figsize=(WIDTH, height), layout="constrained")


def _style(ax: Axes, axis: str = "x") -> None:
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.grid(axis=axis, color="#e5e5e5", linewidth=0.8)
    ax.set_axisbelow(True)
    (ax.xaxis if axis == "x" else ax.yaxis).set_major_locator(MaxNLocator(integer=True))


def _hbars(labels: Sequence[str]) -> tuple[Figure, Axes, np.ndarray, list[str]]:
    """A figure tall enough for the wrapped bar labels, and one y position per bar."""
    ticks = [wrapped_label(s) for s in labels]
    fig = _figure(_height(_lines(ticks)))
    return fig, fig.add_subplot(), np.arange(len(labels)), ticks


def _finish_hbars(
    ax: Axes, y: np.ndarray, ticks: list[str], totals: Sequence[float], *, title: str, xlabel: str
) -> None:
    """What every horizontal bar chart ends with: each bar's total printed at its end,
    the first label on top, and room on the right so the longest total is not cut."""
    for yi, total in zip(y, totals, strict=True):
        ax.text(total, yi, f" {int(total):,}", va="center", fontsize=8, color="#333")
    ax.set_yticks(y, ticks)
    ax.invert_yaxis()
    ax.set_xlabel(xlabel)
    ax.set_title(plot_label(title, 80), loc="left", fontsize=11)
    ax.set_xlim(0, max(max(totals, default=0) * 1.12, 1))
    _style(ax)


def stacked_bars(
    rows: Sequence[str],
    stacks: Sequence[str],
    counts: Mapping[tuple[str, str], int],
    *,
    title: str,
    stack_labels: Mapping[str, str] | None = None,
    colors: Sequence[str] | None = None,
    xlabel: str = "rows",
) -> str:
    """Horizontal stacked bars: one bar per row label, one segment per stack."""
    fig, ax, y, ticks = _hbars(rows)
    left = np.zeros(len(rows))
    colors = list(colors or colors_for(stacks))
    for stack, color in zip(stacks, colors, strict=True):
        widths = np.array([counts.get((r, stack), 0) for r in rows], dtype=float)
        name = (stack_labels or {}).get(stack, stack)
        ax.barh(y, widths, left=left, color=color, label=plot_label(name, 24), height=0.7)
        left += widths
    _finish_hbars(ax, y, ticks, left, title=title, xlabel=xlabel)
    if len(stacks) > 1:
        ax.legend(
            loc="upper left",
            bbox_to_anchor=(1.01, 1.0),
            frameon=False,
            fontsize=8,
        )
    return _to_uri(fig)


def bars(
    labels: Sequence[str],
    values: Sequence[int],
    *,
    title: str,
    colors: Sequence[str] | None = None,
    xlabel: str = "rows",
    legend: Mapping[str, str] | None = None,
) -> str:
    """Horizontal bars with their value printed at the end."""
    fig, ax, y, ticks = _hbars(labels)
    ax.barh(y, values, color=list(colors) if colors else _CYCLE[0], height=0.7)
    _finish_hbars(ax, y, ticks, values, title=title, xlabel=xlabel)
    if legend:
        from matplotlib.patches import Patch

        handles = [Patch(color=c, label=plot_label(n, 24)) for n, c in legend.items()]
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    return _to_uri(fig)


def histogram(edges: np.ndarray, counts: np.ndarray, *, title: str, xlabel: str) -> str:
    """Pre-binned counts (the scan bins as it streams, so no values are kept)."""
    fig = _figure(3.2)
    ax = fig.add_subplot()
    widths = np.diff(edges)
    ax.bar(edges[:-1], counts, width=widths, align="edge", color=_CYCLE[0], edgecolor="white")
    ax.set_xlim(edges[0], edges[-1])
    ax.set_xlabel(xlabel)
    ax.set_ylabel("rows")
    ax.set_title(plot_label(title, 80), loc="left", fontsize=11)
    _style(ax, "y")
    return _to_uri(fig)
