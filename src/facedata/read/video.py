"""Frames from recorded videos, sampled at a set rate, decoded with PyAV (FFmpeg).

Hundreds of thousands of near-identical frames add little but cost much, so frames
are sampled at a fixed rate with a cap per annotated time range. A video is decoded
once, front to back, for all its ranges: seeking per frame is far slower on
long-GOP camera files.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

from PIL import Image

from facedata.errors import ReaderError

MAX_TIMES = 100_000  # frames listed for one range when no cap is set


def sample_times(start: float, end: float, fps: float, cap: int | None) -> list[float]:
    """Times (seconds) in [start, end) at `fps`, spread evenly if more than `cap`.

    The range comes from an annotation file, so it is bounded before anything is
    listed: `end: inf`, a range of 10^12 s, or a start so large that adding one step
    no longer changes it would otherwise loop without end.
    """
    if not all(math.isfinite(v) for v in (start, end, fps)) or end <= start or fps <= 0:
        return []
    step = 1.0 / fps
    n = max(0, math.ceil((end - 1e-9 - start) / step))  # how many the loop below lists
    limit = cap if cap is not None else MAX_TIMES
    if n > limit:
        stride = n / limit
        return [round(start + int(i * stride) * step, 6) for i in range(limit)]
    times = []
    t = start
    while t < end - 1e-9 and len(times) < n:
        times.append(round(t, 6))
        t += step
    return times


def frames_at(path: Path, times: list[float]) -> Iterator[tuple[float, Image.Image]]:
    """Yield (requested time, frame) for each time: the first frame shown at or after it."""
    import av

    wanted = sorted(set(times))
    if not wanted:
        return
    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, OSError) as exc:
        raise ReaderError(
            f"{path}: cannot open video ({exc})",
            hint="check the file plays; re-encode it (e.g. H.264 MP4) if it is damaged",
        ) from None
    with container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        i = 0
        try:
            for frame in container.decode(stream):
                if frame.time is None:
                    continue
                # a frame covers [time, time + duration): emit every wanted time it covers
                while i < len(wanted) and wanted[i] <= frame.time + 1e-6:
                    yield wanted[i], frame.to_image()
                    i += 1
                if i >= len(wanted):
                    return
                nxt = wanted[i]
                duration = float(frame.duration * frame.time_base) if frame.duration else 0.0
                if duration and nxt < frame.time + duration:
                    yield nxt, frame.to_image()
                    i += 1
        except av.error.FFmpegError as exc:
            raise ReaderError(f"{path}: video decode failed at {wanted[i]:.2f}s ({exc})") from None
