"""Frames from recorded videos, sampled at a set rate, decoded with PyAV (FFmpeg).

Hundreds of thousands of near-identical frames add little but cost much, so frames
are sampled at a fixed rate with a cap per annotated time range. A video is decoded
once, front to back, for all its ranges: seeking per frame is far slower on
long-GOP camera files.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from PIL import Image

from .errors import ReaderError


def sample_times(start: float, end: float, fps: float, cap: int | None) -> list[float]:
    """Times (seconds) in [start, end) at `fps`, spread evenly if more than `cap`."""
    if end <= start or fps <= 0:
        return []
    step = 1.0 / fps
    times = []
    t = start
    while t < end - 1e-9:
        times.append(round(t, 6))
        t += step
    if cap is not None and len(times) > cap:
        stride = len(times) / cap
        times = [times[int(i * stride)] for i in range(cap)]
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
