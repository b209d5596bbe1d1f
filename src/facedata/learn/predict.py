"""`facedata predict MODEL IMAGE_OR_VIDEO`: smile and expression for the faces a model sees.

Faces are found and aligned exactly as the build aligned the corpus the model learnt
from (same detector, five-point alignment, size and image mode), so the model reads
what it was trained on. A model is a `facedata train` folder, its `model.onnx` (run
with onnxruntime; torch not needed) or its `model.pt` (run with PyTorch).
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from facedata.errors import FacedataError
from facedata.learn.metrics import threshold_text
from facedata.vocabulary import HEADS

VIDEO_SUFFIXES = {".mp4", ".mov", ".avi", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg"}
BAR = 20  # blocks for 100%


class PredictError(FacedataError):
    """A model or input that cannot be read."""


@dataclass
class Reading:
    """One face's probabilities."""

    smile: float | None  # None: the model never learnt this head (no training labels)
    expression: dict[str, float]  # name -> probability; empty when never learnt
    status: str  # how the face was found (the corpus's align_status values)
    time: float | None = None  # seconds, for video frames

    def top(self) -> tuple[str, float] | None:
        if not self.expression:
            return None
        name = max(self.expression, key=self.expression.__getitem__)
        return name, self.expression[name]


@dataclass
class VideoSummary:
    frames: int
    readings: list[Reading] = field(default_factory=list)
    no_face: list[float] = field(default_factory=list)


class Model:
    """A trained model behind one call: aligned faces [N, C, H, W] in [0, 1] -> probabilities."""

    def __init__(self, path: Path) -> None:
        path = Path(path)
        if path.is_dir():
            path = path / "model.onnx"
        if not path.is_file():
            raise PredictError(
                f"no model at {path}",
                hint="pass the folder `facedata train --out` wrote, or its model.onnx / model.pt",
            )
        self.path = path
        if path.suffix == ".pt":
            self._load_torch(path)
        else:
            self._load_onnx(path)
        self.names: list[str] = list(self.meta["labels"]["expression"])
        image = self.meta["image"]  # validated: a known mode, a bounded size
        self.mode = image["mode"]
        self.size = image["size"]
        self.detector = self.meta.get("detector") or None
        self.heads = list(self.meta.get("heads") or HEADS)
        from facedata.learn.notice import notice

        self.notice = notice(self.path, self.meta.get("terms"))

    def _load_onnx(self, path: Path) -> None:
        import onnxruntime as ort

        from facedata.learn.untrusted import check_against_card, check_onnx_bytes, parse_onnx_meta

        try:
            data = path.read_bytes()
        except OSError as exc:
            raise PredictError(f"cannot read {path}: {exc}", hint="check the path") from None
        self.card_checked = check_against_card(path, data)
        check_onnx_bytes(data, path)  # before onnxruntime sees a byte of it
        try:
            # from the checked bytes: nothing is read again, and no path resolves data
            self._session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
            raw = self._session.get_modelmeta().custom_metadata_map
        except Exception as exc:  # onnxruntime raises its own exception types
            raise PredictError(
                f"{path} is not a facedata model: {exc}".splitlines()[0],
                hint="pass the model.onnx `facedata train` wrote",
            ) from None
        self.meta = parse_onnx_meta(dict(raw), path)
        self._torch = None

    def _load_torch(self, path: Path) -> None:
        from facedata.learn import require_torch

        torch = require_torch()
        from facedata.learn.model import DualHeadNet, Probabilities, SmileProbability
        from facedata.learn.untrusted import (
            UntrustedModel,
            check_against_card,
            net_config,
            validate_meta,
        )

        try:
            data = path.read_bytes()
        except OSError as exc:
            raise PredictError(f"cannot read {path}: {exc}", hint="check the path") from None
        self.card_checked = check_against_card(path, data)
        try:
            blob = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
            net = DualHeadNet(**net_config(blob, path))
            net.load_state_dict(blob["state_dict"])
        except UntrustedModel:
            raise
        except Exception as exc:  # pickle, zip and key errors alike: not our model
            raise PredictError(
                f"{path} is not a facedata model: {exc}".splitlines()[0],
                hint="pass the model.pt `facedata train` wrote",
            ) from None
        meta = {k: v for k, v in blob.items() if k not in ("state_dict", "config")}
        self.meta = validate_meta(meta, path)
        self._torch = (Probabilities if net.expression is not None else SmileProbability)(net)
        self._torch.eval()

    def probabilities(self, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Smile probability [N] and expression probabilities [N, K]."""
        faces = np.ascontiguousarray(faces, dtype=np.float32)
        if self._torch is not None:
            import torch

            with torch.no_grad():
                out = self._torch(torch.from_numpy(faces))
            outs = [o.numpy() for o in out] if isinstance(out, tuple) else [out.numpy()]
        else:
            outs = self._session.run(None, {"image": faces})
        smile = np.asarray(outs[0])
        # a smile-only model has no expression output at all
        expr = np.asarray(outs[1]) if len(outs) > 1 else np.zeros((len(smile), 0), np.float32)
        return smile, expr

    def array(self, face: Image.Image) -> np.ndarray:
        img = face if face.mode == self.mode else face.convert(self.mode)
        if img.size != (self.size, self.size):
            img = img.resize((self.size, self.size), Image.Resampling.BILINEAR)
        arr = np.asarray(img, dtype=np.float32) / 255.0
        return arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1)


class Predictor:
    """Aligns faces like the build did, then reads them with the model."""

    def __init__(self, model: Model, whole_frame: bool = False) -> None:
        self.model = model
        self.whole_frame = whole_frame
        self._detector = None

    def _align(self, img: Image.Image) -> tuple[Image.Image | None, str]:
        from facedata.faces import get_detector, process_face
        from facedata.manifest.schema import FaceSpec

        m = self.model
        if self.whole_frame:
            spec, detector = FaceSpec(align="precropped"), None
        else:
            if self._detector is None:
                self._detector = get_detector(m.detector) if m.detector else get_detector()
            spec, detector = FaceSpec(), self._detector
        face = process_face(img, spec, None, detector, size=m.size, keep_gray=m.mode == "L")
        return face.image, face.align_status

    def read(self, img: Image.Image, time: float | None = None) -> Reading | None:
        face, status = self._align(img)
        if face is None:
            return None
        smile, expr = self.model.probabilities(self.model.array(face)[None])
        heads = self.model.heads
        return Reading(
            smile=float(smile[0]) if "smile" in heads else None,
            expression=(
                {n: float(p) for n, p in zip(self.model.names, expr[0], strict=True)}
                if "expression" in heads
                else {}
            ),
            status=status,
            time=time,
        )

    def image(self, path: Path) -> Reading | None:
        from facedata.faces import decode_image

        try:
            img = decode_image(Path(path).read_bytes())
        except OSError as exc:
            raise PredictError(f"cannot read {path}: {exc}", hint="check the path") from None
        except FacedataError as exc:
            raise PredictError(
                f"{path} is not an image facedata can read: {exc.message}",
                hint="pass a JPEG/PNG photo, or a video ("
                + ", ".join(sorted(VIDEO_SUFFIXES))
                + ")",
            ) from None
        return self.read(img)

    def video(self, path: Path, fps: float = 1.0, cap: int = 600) -> VideoSummary:
        from facedata.read.video import frames_at, sample_times

        duration = video_duration(path)
        times = sample_times(0.0, duration, fps, cap)
        summary = VideoSummary(frames=0)
        for t, frame in frames_at(path, times):
            summary.frames += 1
            reading = self.read(frame.convert("RGB"), time=t)
            if reading is None:
                summary.no_face.append(t)
            else:
                summary.readings.append(reading)
        return summary


def video_duration(path: Path) -> float:
    import av

    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            if stream.duration is not None and stream.time_base is not None:
                return float(stream.duration * stream.time_base)
            if container.duration is not None:
                return container.duration / 1_000_000
    except (av.error.FFmpegError, OSError, IndexError) as exc:
        raise PredictError(
            f"{path}: cannot open video ({exc})", hint="check the file plays"
        ) from None
    raise PredictError(f"{path}: the video does not say how long it is", hint="re-encode it")


def is_video(path: Path) -> bool:
    return Path(path).suffix.lower() in VIDEO_SUFFIXES


# -- the readout


def _bar(p: float) -> str:
    return "█" * int(round(max(0.0, min(1.0, p)) * BAR))


def _line(name: str, p: float) -> str:
    return f"{name + ':':<10}{p * 100:>5.2f}% {_bar(p)}"


NOT_TRAINED = "not trained (the corpus had no {} labels)"


def readout(smile: float | None, expression: dict[str, float], threshold: float) -> list[str]:
    """The smile-detector team's readout: smile with its threshold, expressions by
    probability, then the verdict. A head the model never learnt says so instead."""
    if smile is None:
        return (
            [f"{'smile:':<10}{NOT_TRAINED.format('smile')}"]
            + [
                _line(name, p).rstrip()
                for name, p in sorted(expression.items(), key=lambda kv: -kv[1])
            ]
            + ["verdict: none (no smile head)"]
        )
    lines = [f"{_line('smile', smile):<{10 + 7 + BAR}}  threshold {threshold_text(threshold)}"]
    for name, p in sorted(expression.items(), key=lambda kv: -kv[1]):
        lines.append(_line(name, p).rstrip())
    if not expression:
        lines.append(f"{'expression:':<10} {NOT_TRAINED.format('expression')}")
    smiling = smile >= threshold
    lines.append(
        "verdict: "
        + ("SMILING (at or above threshold)" if smiling else "NOT SMILING (below threshold)")
    )
    return lines


def frame_line(r: Reading, threshold: float) -> str:
    top = r.top()
    expr = f"  {top[0]} {top[1] * 100:.1f}%" if top else ""
    if r.smile is None:
        return f"t={r.time:7.2f}s{expr}"
    verdict = "SMILING" if r.smile >= threshold else "not smiling"
    return f"t={r.time:7.2f}s  smile {r.smile * 100:6.2f}%  {verdict:<11}{expr}"


def video_readout(s: VideoSummary, threshold: float) -> Iterator[str]:
    readings = sorted(s.readings, key=lambda r: r.time or 0.0)
    for r in readings:
        yield frame_line(r, threshold)
    for t in s.no_face:
        yield f"t={t:7.2f}s  no face found"
    if not readings:
        return
    has_smile = readings[0].smile is not None
    smiling = sum(r.smile >= threshold for r in readings) if has_smile else 0
    said = f"smiling in {smiling} ({smiling / len(readings):.0%}); " if has_smile else ""
    yield (
        f"summary: {s.frames} frames sampled, {len(readings)} with a face; {said}"
        "mean over frames with a face:"
    )
    mean_smile = float(np.mean([r.smile for r in readings])) if has_smile else None
    names = list(readings[0].expression)
    mean_expr = {n: float(np.mean([r.expression[n] for r in readings])) for n in names}
    yield from readout(mean_smile, mean_expr, threshold)


def model_threshold(meta: dict[str, Any]) -> float:
    """The smile threshold `facedata train` picked on validation, so that `predict`,
    `live` and `export` give the verdict train reported; 0.8 for a model without one.
    The metadata is untrusted: anything but a probability is refused with a hint."""
    value = meta.get("threshold")
    if value is None:
        return 0.8
    if isinstance(value, bool) or not isinstance(value, int | float):
        value = math.nan
    if not (0.0 <= value <= 1.0):  # also NaN
        raise PredictError(
            f"the model's threshold {meta.get('threshold')!r} is not a probability",
            hint="pass --threshold P (a value in [0, 1]), or retrain the model",
        )
    return float(value)


def check_threshold(threshold: float) -> float:
    if not (0.0 <= threshold <= 1.0) or math.isnan(threshold):
        raise PredictError(
            f"--threshold {threshold} is not a probability", hint="pass a value in [0, 1]"
        )
    return threshold


def result_json(reading: Reading | None) -> dict[str, Any] | None:
    if reading is None:
        return None
    return {
        "smile": reading.smile,
        "expression": reading.expression,
        "status": reading.status,
        "time": reading.time,
    }
