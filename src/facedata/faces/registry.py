"""Detector names a recipe can ask for, and what each one needs to run.

A name is the stable handle stored in recipes and corpus provenance, so it never
changes meaning: `retinaface-r50` always means that backbone, checked by hash. The
families register their names themselves (faces/family.py); this module loads them
and answers for all of them.
"""

from __future__ import annotations

from importlib import import_module
from pathlib import Path
from typing import Any

from facedata.faces.detect import Detector, DetectorTerms
from facedata.faces.family import REGISTRY, DetectorKind, lookup

DEFAULT_DETECTOR = "retinaface-mnet025"

# The modules whose import registers a detector family (each calls family.register).
FAMILY_MODULES = ("retinaface", "blazeface")
for _module in FAMILY_MODULES:
    import_module(f"{__package__}.{_module}")

Spec = DetectorKind  # what `spec()` returns


def detector_names() -> list[str]:
    return list(REGISTRY)


def spec(name: str) -> DetectorKind:
    """Look a detector up; `r50`, `mnet-v2`, `RETINAFACE-R50`, `blazeface-full` all work."""
    return lookup(name)


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
