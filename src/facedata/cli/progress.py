"""Build progress: a live line on a terminal, plain periodic lines everywhere else.

A batch job or CI log needs to show that a multi-hour build is alive and how far it
is, without the carriage-return redraws a terminal bar is made of. So when stdout
is not a terminal, one plain line is printed every FACEDATA_PROGRESS_SECONDS
(default 10), and a last one when the build ends.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator

from rich.console import Console

from facedata.files.plain import duration, interval

Update = Callable[[dict[str, int]], None]


class Rate:
    """Samples per second since the first update: the clock starts when rows start
    flowing, not when the command started (manifests, gate, a demo's sample)."""

    def __init__(self) -> None:
        self.first: tuple[float, int] | None = None
        self.last = 0.0  # when the latest update came: the final line's rate ends there

    def describe(self, c: dict[str, int], final: bool = False) -> str:
        """`read 1,200 of ~4,000  written 1,150  dropped 50  96 samples/s  ETA ~29s`."""
        now = self.last if final else time.monotonic()
        self.last = now
        if self.first is None:
            self.first = (now, c["read"])
        t0, read0 = self.first
        rate = (c["read"] - read0) / (now - t0) if now > t0 else 0.0
        expected = 0 if final else c.get("expected", 0)
        total = f" of ~{expected:,}" if expected > c["read"] else ""
        speed = f"  {rate:,.0f} samples/s" if rate > 0 else ""
        eta = ""
        if rate > 0 and expected > c["read"]:
            eta = f"  ETA ~{duration((expected - c['read']) / rate)}"
        return (
            f"read {c['read']:,}{total}  written {c['written']:,}  "
            f"dropped {c['dropped']:,}{speed}{eta}"
        )


@contextlib.contextmanager
def build_progress(
    console: Console, label: str = "build", closing: bool = True
) -> Iterator[Update]:
    """`closing=False`: the caller prints its own summary of the counts (the demo), so
    the plain closing line would say the same thing twice."""
    rate = Rate()
    if console.is_terminal:
        with _live(console, label, rate) as update:
            yield update
        return
    every = interval()
    last: dict[str, float] = {"at": time.monotonic()}
    latest: dict[str, dict[str, int]] = {}

    def update(c: dict[str, int]) -> None:
        latest["c"] = dict(c)
        line = rate.describe(c)  # every update, so the rate clock starts with the first
        now = time.monotonic()
        if now - last["at"] >= every:
            last["at"] = now
            console.print(f"{label}: {line}", highlight=False)

    yield update
    if "c" in latest and closing:
        console.print(f"{label}: {rate.describe(latest['c'], final=True)}  (done)", highlight=False)


@contextlib.contextmanager
def _live(console: Console, label: str, rate: Rate) -> Iterator[Update]:
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    bar = Progress(
        SpinnerColumn(),
        TextColumn(f"{label}:"),
        BarColumn(bar_width=24),  # pulses until the readers know the count
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )
    task = bar.add_task("starting", total=None)

    def update(c: dict[str, int]) -> None:
        expected = c.get("expected", 0)
        total = max(expected, c["read"]) if expected else None
        bar.update(task, description=rate.describe(c), total=total, completed=c["read"])

    with bar:
        yield update
