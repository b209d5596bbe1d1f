"""Plain progress lines for logs: how often a long step says where it is.

A terminal gets live bars; a batch job, a CI log or `cmd > log` gets one plain line
every FACEDATA_PROGRESS_SECONDS (default 10), so a long build or download shows it
is alive without filling the log with redraws.
"""

from __future__ import annotations

from facedata import settings

DEFAULT_INTERVAL = 10.0


def interval() -> float:
    return settings.number("FACEDATA_PROGRESS_SECONDS", DEFAULT_INTERVAL)


def size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1000
    return f"{n:,.1f} TB"  # pragma: no cover


def duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds // 60 % 60:02d}m"
