"""Progress bars on a terminal, plain periodic lines elsewhere.

Logs of CI jobs and pipes should not fill with carriage-return noise, so bars appear
only when stderr is a terminal; elsewhere a plain line says how far a download is
every FACEDATA_PROGRESS_SECONDS; notes (warnings a person must see) always print.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

_console = Console(stderr=True)

Advance = Callable[[int], None]


def say(message: str) -> None:
    """A note for the person running the fetch (stderr, so stdout stays parseable)."""
    _console.print(f"[yellow]note:[/] {escape(message)}", highlight=False, soft_wrap=True)


@contextlib.contextmanager
def _plain_lines(label: str, total: int | None, done: int) -> Iterator[Advance]:
    """Without a terminal: a plain line every FACEDATA_PROGRESS_SECONDS, none at the end
    (the command reports the finished file itself)."""
    from facedata.files.plain import duration, interval, size

    every = interval()
    started = last = time.monotonic()
    got = {"n": done, "new": 0}

    def advance(n: int) -> None:
        nonlocal last
        got["n"] += n
        got["new"] += n
        now = time.monotonic()
        if now - last < every:
            return
        last = now
        rate = got["new"] / max(now - started, 1e-9)
        of = f" of {size(total)} ({100 * got['n'] / total:.0f}%)" if total else ""
        eta = ""
        if total and rate > 0 and total > got["n"]:
            eta = f"  ETA ~{duration((total - got['n']) / rate)}"
        _console.print(
            f"{escape(label)}: {size(got['n'])}{of}  {size(rate)}/s{eta}",
            highlight=False,
            soft_wrap=True,
        )

    yield advance


@contextlib.contextmanager
def transfer(label: str, total: int | None, done: int = 0) -> Iterator[Advance]:
    """Yield a callback taking the bytes just received; draws bytes, rate and ETA."""
    if not _console.is_terminal:
        with _plain_lines(label, total, done) as advance:
            yield advance
        return
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=_console, transient=True) as bar:
        task = bar.add_task(label, total=total, completed=done)
        yield lambda n: bar.advance(task, n)
