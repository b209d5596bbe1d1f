"""Progress bars on a terminal, silence elsewhere.

Logs of CI jobs and pipes should not fill with carriage-return noise, so bars appear
only when stderr is a terminal; notes (warnings a person must see) always print.
"""

from __future__ import annotations

import contextlib
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


def _noop(_: int) -> None:
    return None


@contextlib.contextmanager
def transfer(label: str, total: int | None, done: int = 0) -> Iterator[Advance]:
    """Yield a callback taking the bytes just received; draws bytes, rate and ETA."""
    if not _console.is_terminal:
        yield _noop
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
