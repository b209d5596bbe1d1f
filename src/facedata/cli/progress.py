"""Build progress: a live line on a terminal, plain periodic lines everywhere else.

A batch job or CI log needs to show that a multi-hour build is alive and how far it
is, without the carriage-return redraws a terminal bar is made of. So when stdout
is not a terminal, one plain line is printed every FACEDATA_PROGRESS_SECONDS
(default 10), and a last one when the build ends.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator

from rich.console import Console

Update = Callable[[dict[str, int]], None]
DEFAULT_INTERVAL = 10.0


def interval() -> float:
    try:
        return max(float(os.environ.get("FACEDATA_PROGRESS_SECONDS", DEFAULT_INTERVAL)), 0.0)
    except ValueError:
        return DEFAULT_INTERVAL


def describe(c: dict[str, int], elapsed: float) -> str:
    """`read 1,200 of ~4,000  written 1,150  dropped 50  96 samples/s  ETA ~29s`."""
    elapsed = max(elapsed, 1e-9)
    rate = c["read"] / elapsed
    expected = c.get("expected", 0)
    total = f" of ~{expected:,}" if expected > c["read"] else ""
    eta = ""
    if rate > 0 and expected > c["read"]:
        eta = f"  ETA ~{_duration((expected - c['read']) / rate)}"
    return (
        f"read {c['read']:,}{total}  written {c['written']:,}  dropped {c['dropped']:,}  "
        f"{c['written'] / elapsed:,.0f} samples/s{eta}"
    )


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds // 60 % 60:02d}m"


@contextlib.contextmanager
def build_progress(console: Console, label: str = "build") -> Iterator[Update]:
    if console.is_terminal:
        with _live(console, label) as update:
            yield update
        return
    started = time.monotonic()
    every = interval()
    last: dict[str, float] = {"at": started}
    latest: dict[str, dict[str, int]] = {}

    def update(c: dict[str, int]) -> None:
        latest["c"] = dict(c)
        now = time.monotonic()
        if now - last["at"] >= every:
            last["at"] = now
            console.print(f"{label}: {describe(c, now - started)}", highlight=False)

    yield update
    if "c" in latest:
        done = dict(latest["c"], expected=0)
        console.print(
            f"{label}: {describe(done, time.monotonic() - started)}  (done)", highlight=False
        )


@contextlib.contextmanager
def _live(console: Console, label: str) -> Iterator[Update]:
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    bar = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )
    task = bar.add_task(label)

    def update(c: dict[str, int]) -> None:
        bar.update(task, description=describe(c, bar.tasks[0].elapsed or 1e-9))

    with bar:
        yield update
