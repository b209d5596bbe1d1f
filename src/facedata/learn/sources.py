"""Live frame sources behind one interface, and the reader that never falls behind.

A source yields (seconds, RGB uint8 array H x W x 3) and says whether it is live
(frames come at their own pace whatever the reader does) or may be read as fast as
the reader wants (a file or pipe processed frame by frame with `--every-frame`).

- `AvSource`: anything PyAV opens: a file (played at its own pace unless asked for
  every frame), an RTSP/HTTP/HLS URL, or a camera (`0` -> /dev/video0 on Linux,
  avfoundation on macOS, dshow on Windows).
- `RawSource`: raw frames on standard input, each exactly width x height x bytes per
  pixel bytes, no header: `rgb24` (3 bytes, R G B), `bgr24` (3 bytes, B G R, what
  OpenCV and `ffmpeg -pix_fmt bgr24 -f rawvideo` write) or `gray` (1 byte).
- `FakeCamera`: given frames replayed at a frame rate; what tests put behind the
  same interface as a camera.

`LatestFrame` runs a source on a reader thread and keeps only the newest frame: a
frame that arrives while the previous one is still waiting replaces it and is counted
as dropped. Nothing queues, so latency cannot grow with time.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import BinaryIO, Protocol

import numpy as np

from facedata.errors import FacedataError

RAW_FORMATS = {"rgb24": 3, "bgr24": 3, "gray": 1}


class SourceError(FacedataError):
    """A live source that cannot be opened or read."""


class Source(Protocol):
    live: bool

    def frames(self) -> Iterator[tuple[float, np.ndarray]]: ...

    def close(self) -> None: ...


def parse_size(text: str) -> tuple[int, int]:
    """`640x480` -> (640, 480)."""
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise SourceError(
            f"--size {text!r} is not WIDTHxHEIGHT", hint="e.g. --size 640x480"
        ) from None
    if w < 1 or h < 1 or w * h > 8192 * 8192:
        raise SourceError(f"--size {text} is out of range", hint="e.g. --size 640x480")
    return w, h


class RawSource:
    """Raw frames from a byte stream (see the module docstring for the formats)."""

    def __init__(
        self, stream: BinaryIO, size: tuple[int, int], fmt: str = "rgb24", live: bool = True
    ) -> None:
        if fmt not in RAW_FORMATS:
            raise SourceError(
                f"--stdin-format {fmt!r} is not known", hint=f"one of: {', '.join(RAW_FORMATS)}"
            )
        self.stream, self.size, self.fmt, self.live = stream, size, fmt, live
        self.frame_bytes = size[0] * size[1] * RAW_FORMATS[fmt]
        self.partial = 0  # bytes of a last, incomplete frame (a truncated stream)

    def frames(self) -> Iterator[tuple[float, np.ndarray]]:
        w, h = self.size
        start = time.monotonic()
        while True:
            data = _read_exactly(self.stream, self.frame_bytes)
            if len(data) < self.frame_bytes:
                self.partial = len(data)
                return
            arr = np.frombuffer(data, dtype=np.uint8)
            if self.fmt == "gray":
                arr = np.repeat(arr.reshape(h, w, 1), 3, axis=2)
            else:
                arr = arr.reshape(h, w, 3)
                if self.fmt == "bgr24":
                    arr = arr[:, :, ::-1]
            yield time.monotonic() - start, np.ascontiguousarray(arr)

    def close(self) -> None:
        pass


def _read_exactly(stream: BinaryIO, n: int) -> bytes:
    parts, got = [], 0
    while got < n:
        chunk = stream.read(n - got)
        if not chunk:
            break
        parts.append(chunk)
        got += len(chunk)
    return b"".join(parts)


def camera_target(index: int) -> tuple[str, str | None]:
    """A camera index as PyAV's (file, format) on this platform."""
    if sys.platform.startswith("linux"):
        return f"/dev/video{index}", "v4l2"
    if sys.platform == "darwin":
        return str(index), "avfoundation"
    return f"video={index}", "dshow"


class AvSource:
    """A file, URL or camera through PyAV (see the module docstring)."""

    def __init__(self, target: str, *, paced: bool, fmt: str | None = None, live: bool) -> None:
        import av

        self.target, self.paced, self.live = target, paced, live
        try:
            self.container = av.open(
                target, format=fmt, timeout=(10.0, 10.0), options={"rtsp_transport": "tcp"}
            )
            self.stream = self.container.streams.video[0]
        except (av.error.FFmpegError, OSError, IndexError) as exc:
            raise SourceError(
                f"cannot open {target}: {exc}",
                hint="check the file plays, the URL answers, or the camera index exists",
            ) from None
        self.stream.thread_type = "AUTO"

    def frames(self) -> Iterator[tuple[float, np.ndarray]]:
        import av

        start, first = time.monotonic(), None
        try:
            for frame in self.container.decode(self.stream):
                t = float(frame.time) if frame.time is not None else time.monotonic() - start
                if first is None:
                    first = t
                if self.paced:  # a file played at its own pace: wait for the frame's time
                    wait = (t - first) - (time.monotonic() - start)
                    if wait > 0:
                        time.sleep(wait)
                yield t - first, frame.to_ndarray(format="rgb24")
        except av.error.FFmpegError as exc:
            raise SourceError(f"{self.target}: {exc}", hint="the stream broke off") from None

    def close(self) -> None:
        self.container.close()


class FakeCamera:
    """Frames replayed at `fps`, `count` in all: a camera for tests and benchmarks."""

    live = True

    def __init__(self, frames: Sequence[np.ndarray], fps: float, count: int) -> None:
        self._frames, self.fps, self.count = list(frames), fps, count

    def frames(self) -> Iterator[tuple[float, np.ndarray]]:
        start = time.monotonic()
        for i in range(self.count):
            due = start + i / self.fps
            wait = due - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            yield i / self.fps, self._frames[i % len(self._frames)]

    def close(self) -> None:
        pass


def open_source(
    spec: str,
    *,
    raw_format: str,
    size: str | None,
    every_frame: bool,
    stdin: BinaryIO | None = None,
) -> Source:
    """`-` (raw frames on stdin), a camera index, or a file / URL."""
    if spec == "-":
        if not size:
            raise SourceError(
                "raw frames on standard input need their size",
                hint="pass --size WIDTHxHEIGHT (and --stdin-format rgb24, bgr24 or gray)",
            )
        stream = stdin if stdin is not None else sys.stdin.buffer
        return RawSource(stream, parse_size(size), raw_format, live=not every_frame)
    if spec.isdigit():
        target, fmt = camera_target(int(spec))
        return AvSource(target, paced=False, fmt=fmt, live=True)
    is_url = "://" in spec
    return AvSource(spec, paced=not is_url and not every_frame, live=not every_frame)


@dataclass
class Frame:
    index: int  # position in the source, dropped frames included
    time: float  # the source's clock, seconds
    image: np.ndarray
    arrived: float  # time.monotonic() when the reader got it


class LatestFrame:
    """The newest frame of a live source, read on its own thread (see the module doc)."""

    def __init__(self, source: Source) -> None:
        self.source = source
        self.read = self.dropped = 0
        self.error: BaseException | None = None
        self._slot: Frame | None = None
        self._done = False
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="frame-reader", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            for t, image in self.source.frames():
                frame = Frame(self.read, t, image, time.monotonic())
                with self._cond:
                    if self._slot is not None:
                        self.dropped += 1  # the classifier was busy: this one is lost
                    self._slot = frame
                    self.read += 1
                    self._cond.notify()
                if self._done:
                    return
        except BaseException as exc:  # handed to the consumer, raised there
            self.error = exc
        finally:
            with self._cond:
                self._done = True
                self._cond.notify()

    def get(self) -> Frame | None:
        """The newest unread frame, waiting for one; None when the source ended."""
        with self._cond:
            while self._slot is None and not self._done:
                self._cond.wait(0.5)
            frame, self._slot = self._slot, None
        if frame is None and self.error is not None:
            raise self.error
        return frame

    def close(self) -> None:
        self._done = True
        self._thread.join(timeout=2.0)


class EveryFrame:
    """The same interface as LatestFrame for a source read frame by frame (no drops)."""

    def __init__(self, source: Source) -> None:
        self._it = source.frames()
        self.read = self.dropped = 0

    def get(self) -> Frame | None:
        try:
            t, image = next(self._it)
        except StopIteration:
            return None
        frame = Frame(self.read, t, image, time.monotonic())
        self.read += 1
        return frame

    def close(self) -> None:
        pass


def reader(source: Source) -> LatestFrame | EveryFrame:
    return LatestFrame(source) if source.live else EveryFrame(source)
