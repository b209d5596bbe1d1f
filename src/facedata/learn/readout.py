"""The live readout: the smile bar with its threshold, the expressions, the verdict and
a status line, refreshed in place in a terminal (rich Live); one JSON line per frame
when the output is piped or `--json` is given."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from typing import TextIO

from facedata.learn.metrics import threshold_text
from facedata.learn.stream import FrameResult

BAR = 20


def _bar(p: float) -> str:
    return "█" * int(round(max(0.0, min(1.0, p)) * BAR))


def block(result: FrameResult, threshold: float) -> list[str]:
    """The readout for the primary face, as the lines a terminal shows."""
    lines = ["[live expression readout]"]
    face = result.primary
    if face is None:
        lines.append("no face in view")
    else:
        if face.smile_smoothed is not None:
            p = face.smile_smoothed
            lines.append(
                f"{'smile:':<10}{p * 100:>6.2f}% {_bar(p):<{BAR}}  "
                f"← threshold {threshold_text(threshold)}"
            )
        expr = face.expression_smoothed
        for name, p in sorted(expr.items(), key=lambda kv: -kv[1]):
            if name in ("happy", "happiness"):  # the smile row says it (the issue block too)
                continue
            lines.append(f"{name + ':':<10}{p * 100:>6.2f}% {_bar(p)}".rstrip())
        if face.smile_smoothed is None:
            lines.append("verdict: none (the model has no smile head)")
        elif face.verdict == "SMILING":
            lines.append("verdict: SMILING (above threshold)")
        else:
            lines.append("verdict: SAFE (below threshold)")
        if len(result.faces) > 1:
            lines.append(f"({len(result.faces)} faces in view: showing face {face.id}, the first)")
    st = result.status
    lines.append(
        f"{st.get('fps', 0.0):.1f} frames/s · latency p50 {st.get('p50_ms', 0.0):.1f} ms, "
        f"p95 {st.get('p95_ms', 0.0):.1f} ms · dropped {result.dropped}"
    )
    return lines


def write_json(results: Iterable[FrameResult], out: TextIO | None = None) -> FrameResult | None:
    """One JSON line per processed frame, flushed at once (a reader may be waiting);
    returns the last result (None: no frame)."""
    out = out or sys.stdout
    last = None
    for r in results:
        out.write(json.dumps(r.to_json(), separators=(",", ":")) + "\n")
        out.flush()
        last = r
    return last


def final_status(last: FrameResult) -> str:
    """The run's last status line (stderr when piped, so the JSON lines stay pure)."""
    st = last.status
    return (
        f"{int(st.get('processed', 0))} frames processed, {last.dropped} dropped; "
        f"{st.get('fps', 0.0):.1f} frames/s, latency p50 {st.get('p50_ms', 0.0):.1f} ms, "
        f"p95 {st.get('p95_ms', 0.0):.1f} ms"
    )


def show_live(
    results: Iterable[FrameResult], threshold: float, console: object
) -> FrameResult | None:
    """The readout refreshed in place until the source ends; returns the last result."""
    from rich.live import Live
    from rich.text import Text

    last = None
    with Live(Text(""), console=console, refresh_per_second=15, transient=False) as live:
        for r in results:
            live.update(Text("\n".join(block(r, threshold))))
            last = r
    return last
