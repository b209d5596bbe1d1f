"""`facedata live`: smile and expression on a live source, frame by frame, never behind.

Per processed frame:
1. every `detect_every`-th frame (or when no face is tracked) the detector runs on a
   copy reduced to `detect_side` pixels (OpenCV INTER_AREA, so an exported reference
   loop reproduces it exactly); `track.Tracker` carries faces between detections;
2. each tracked face is aligned from its five points to the model's template and
   size (one affine warp), and all faces of the frame go through the classifier in
   one onnxruntime batch;
3. per face the probabilities are smoothed by an exponential moving average with a
   time constant (not a per-frame factor, so dropped frames do not slow it), and the
   verdict flips to SMILING when the smoothed smile reaches the threshold and back to
   SAFE only when it falls `hysteresis` below it: no flicker at the edge.

The reader thread (`sources.LatestFrame`) keeps only the newest frame, so the
latency of a frame is its wait plus its processing, never a queue.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from facedata.errors import FacedataError
from facedata.learn.predict import Model
from facedata.learn.sources import Frame, Source, reader
from facedata.learn.track import Track, Tracker

SCHEMA = "facedata.live/1"


class LiveError(FacedataError):
    """A live run that cannot start (model, detector or settings)."""


@dataclass(frozen=True)
class LiveSettings:
    threshold: float = 0.8
    detect_every: int = 5
    detect_side: int = 320  # longest side of the copy the detector sees; 0: full size
    time_constant: float = 0.25  # seconds for the EMA to move 63% of the way
    hysteresis: float = 0.05  # SMILING stays until the smoothed smile is this far below
    threads: int = 1

    def to_dict(self) -> dict[str, Any]:
        return {
            "threshold": self.threshold,
            "detect_every": self.detect_every,
            "detect_side": self.detect_side,
            "smoothing": {
                "kind": "ema",
                "time_constant_s": self.time_constant,
                "hysteresis": self.hysteresis,
            },
        }


@dataclass
class Smoothed:
    """One face's smoothed probabilities and its verdict state."""

    smile: float | None = None
    expression: np.ndarray | None = None
    smiling: bool = False
    last: float | None = None

    def update(self, t: float, smile: float, expr: np.ndarray, s: LiveSettings) -> None:
        if self.last is None or s.time_constant <= 0:
            a = 1.0
        else:
            a = 1.0 - math.exp(-max(t - self.last, 0.0) / s.time_constant)
        self.last = t
        self.smile = smile if self.smile is None else self.smile + a * (smile - self.smile)
        self.expression = (
            expr if self.expression is None else self.expression + a * (expr - self.expression)
        )
        if self.smiling:
            self.smiling = self.smile >= s.threshold - s.hysteresis
        else:
            self.smiling = self.smile >= s.threshold


@dataclass
class FaceResult:
    id: int
    box: list[float]
    smile: float | None
    expression: dict[str, float]
    smile_smoothed: float | None
    expression_smoothed: dict[str, float]
    verdict: str  # SMILING or SAFE
    age: int = 0  # frames since the detector last saw this face (0: found in this frame)


@dataclass
class FrameResult:
    frame: int
    time: float
    detected: bool
    faces: list[FaceResult]
    latency_ms: float
    process_ms: float
    dropped: int
    status: dict[str, float] = field(default_factory=dict)

    @property
    def primary(self) -> FaceResult | None:
        return self.faces[0] if self.faces else None

    @property
    def verdict(self) -> str:
        p = self.primary
        return p.verdict if p else "NO_FACE"

    def to_json(self) -> dict[str, Any]:
        """One JSON line (docs/predict.md has the schema)."""

        def r(v: float | None) -> float | None:
            return None if v is None else round(float(v), 6)

        return {
            "schema": SCHEMA,
            "frame": self.frame,
            "time": round(self.time, 4),
            "detected": self.detected,
            "verdict": self.verdict,
            "primary": self.primary.id if self.primary else None,
            "faces": [
                {
                    "id": f.id,
                    "box": [round(v, 1) for v in f.box],
                    "smile": r(f.smile),
                    "smile_smoothed": r(f.smile_smoothed),
                    "expression": {k: r(v) for k, v in f.expression.items()},
                    "expression_smoothed": {k: r(v) for k, v in f.expression_smoothed.items()},
                    "verdict": f.verdict,
                    "age": f.age,
                }
                for f in self.faces
            ],
            "latency_ms": round(self.latency_ms, 3),
            "process_ms": round(self.process_ms, 3),
            "dropped": self.dropped,
            "fps": round(self.status.get("fps", 0.0), 2),
        }


class Classifier:
    """The model's ONNX file on onnxruntime with a set thread count, batched."""

    def __init__(self, model: Model, threads: int = 1) -> None:
        import onnxruntime as ort

        path = model.path if model.path.suffix == ".onnx" else model.path.with_suffix(".onnx")
        if not path.is_file():
            raise LiveError(f"no {path.name} beside {model.path}", hint="pass the model folder")
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        self.session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        self.outputs = [o.name for o in self.session.get_outputs()]

    def __call__(self, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Smile [N] and expression [N, K]; a head the model lacks (a smile-only model has
        one output) comes back as zeros that the predictor never shows."""
        got = dict(zip(self.outputs, self.session.run(None, {"image": faces}), strict=True))
        n = len(faces)
        smile = np.asarray(got["smile"]) if "smile" in got else np.zeros(n, np.float32)
        expr = np.asarray(got["expression"]) if "expression" in got else np.zeros((n, 0))
        return smile, expr


def reduce_for_detection(image: np.ndarray, side: int) -> tuple[np.ndarray, float]:
    """A copy whose longest side is `side` (INTER_AREA), and the factor back to full size."""
    from facedata.faces.align import opencv

    h, w = image.shape[:2]
    if not side or max(w, h) <= side:
        return image, 1.0
    scale = side / max(w, h)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    small = opencv().resize(image, size, interpolation=opencv().INTER_AREA)
    return small, w / size[0]


class LivePredictor:
    """Frames in, `FrameResult`s out (see the module docstring)."""

    def __init__(
        self,
        model: Model,
        settings: LiveSettings,
        detector: Any = None,
        classifier: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]] | None = None,
    ) -> None:
        from facedata.faces import get_detector

        self.model, self.s = model, settings
        if detector is None:
            try:
                detector = get_detector(
                    model.detector or "retinaface-mnet025", threads=settings.threads
                )
            except FacedataError as exc:
                raise LiveError(exc.message, hint=exc.hint) from None
        self.detector = detector
        self.classify = classifier or Classifier(model, settings.threads)
        self.tracker = Tracker()
        self.smoothed: dict[int, Smoothed] = {}
        self.frames = 0

    def warm_up(self) -> None:
        """Create both sessions now: the first frame must not pay for loading them
        (150 ms here), nor the frames dropped meanwhile."""
        self.detect(np.zeros((64, 64, 3), dtype=np.uint8))
        m = self.model
        self.classify(np.zeros((1, 1 if m.mode == "L" else 3, m.size, m.size), np.float32))

    def detect(self, image: np.ndarray) -> list[Any]:
        from PIL import Image

        small, back = reduce_for_detection(image, self.s.detect_side)
        found = self.detector.detect(Image.fromarray(small))
        return [d.moved(back, 0.0, 0.0) for d in found] if back != 1.0 else found

    def crops(self, image: np.ndarray, tracks: list[Track]) -> np.ndarray:
        from facedata.faces.align import opencv, template, umeyama

        cv2, m = opencv(), self.model
        out = np.empty((len(tracks), 1 if m.mode == "L" else 3, m.size, m.size), np.float32)
        for i, t in enumerate(tracks):
            warp = umeyama(t.landmarks, template(m.size))
            crop = cv2.warpAffine(
                image, warp, (m.size, m.size), flags=cv2.INTER_LINEAR,
                borderMode=cv2.BORDER_CONSTANT, borderValue=0,
            )  # fmt: skip
            if m.mode == "L":
                out[i, 0] = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY) / np.float32(255.0)
            else:
                out[i] = crop.transpose(2, 0, 1) / np.float32(255.0)
        return out

    def process(self, frame: Frame, dropped: int = 0) -> FrameResult:
        started = time.monotonic()
        detected = self.frames % max(1, self.s.detect_every) == 0 or not self.tracker.tracks
        found = self.detect(frame.image) if detected else None
        tracks = self.tracker.step() if found is None else self.tracker.update(found)
        self.frames += 1
        tracks = sorted(tracks, key=lambda t: t.id)
        alive = {t.id for t in tracks}
        self.smoothed = {k: v for k, v in self.smoothed.items() if k in alive}
        faces = []
        if tracks:
            smile, expr = self.classify(self.crops(frame.image, tracks))
            heads, names = self.model.heads, self.model.names
            for i, t in enumerate(tracks):
                state = self.smoothed.setdefault(t.id, Smoothed())
                s = float(smile[i]) if "smile" in heads else 0.0
                state.update(frame.time, s, np.asarray(expr[i], dtype=np.float64), self.s)
                has_expr = "expression" in heads
                faces.append(
                    FaceResult(
                        id=t.id,
                        box=[float(v) for v in t.box],
                        smile=s if "smile" in heads else None,
                        expression=(
                            {n: float(p) for n, p in zip(names, expr[i], strict=True)}
                            if has_expr
                            else {}
                        ),
                        smile_smoothed=state.smile if "smile" in heads else None,
                        expression_smoothed=(
                            {n: float(p) for n, p in zip(names, state.expression, strict=True)}
                            if has_expr and state.expression is not None
                            else {}
                        ),
                        verdict="SMILING" if state.smiling and "smile" in heads else "SAFE",
                        age=t.age,
                    )
                )
        done = time.monotonic()
        return FrameResult(
            frame=frame.index,
            time=frame.time,
            detected=detected,
            faces=faces,
            latency_ms=(done - frame.arrived) * 1000,
            process_ms=(done - started) * 1000,
            dropped=dropped,
        )


class Stats:
    """Frames per second, latency percentiles and drops, over a sliding window."""

    def __init__(self, window: int = 120) -> None:
        self.window = window
        self.times: list[float] = []
        self.latency: list[float] = []
        self.all_latency: list[float] = []
        self.processed = 0

    def add(self, r: FrameResult) -> dict[str, float]:
        now = time.monotonic()
        self.processed += 1
        self.times = [*self.times[-self.window + 1 :], now]
        self.latency = [*self.latency[-self.window + 1 :], r.latency_ms]
        self.all_latency.append(r.latency_ms)
        span = self.times[-1] - self.times[0]
        fps = (len(self.times) - 1) / span if span > 0 else 0.0
        return {
            "fps": fps,
            "p50_ms": float(np.percentile(self.latency, 50)),
            "p95_ms": float(np.percentile(self.latency, 95)),
            "dropped": float(r.dropped),
            "processed": float(self.processed),
        }


def run(
    source: Source, predictor: LivePredictor, max_frames: int | None = None
) -> Iterator[FrameResult]:
    """Process a source until it ends (or `max_frames` processed); frames that arrive
    while one is processed are dropped by the reader and counted in each result."""
    predictor.warm_up()
    frames = reader(source)
    stats = Stats()
    try:
        while max_frames is None or stats.processed < max_frames:
            frame = frames.get()
            if frame is None:
                return
            result = predictor.process(frame, frames.dropped)
            result.status = stats.add(result)
            yield result
    finally:
        frames.close()
        source.close()


def load_model(path: Path) -> Model:
    model = Model(path)
    if model.path.suffix != ".onnx" and not model.path.with_suffix(".onnx").is_file():
        raise LiveError(f"{model.path} has no model.onnx beside it", hint="pass the model folder")
    return model
