"""Face detection and 5-point alignment (see docs/faces.md).

The public surface: `get_detector` for a detector, `decode_image` for safe decoding,
`process_face` for the whole per-sample step, plus the pieces they are made of.
"""

from __future__ import annotations

from facedata.faces.align import ARCFACE_112, align, choose_face, template, umeyama
from facedata.faces.decode import MAX_PIXELS, ImageRefused, decode_image, decode_scaled
from facedata.faces.detect import Detection, Detector, DetectorError, DetectorTerms
from facedata.faces.landmarks import LandmarkError, to_five_points
from facedata.faces.pipeline import AlignedFace, AlignStatus, detect_reduced, process_face
from facedata.faces.registry import (
    DEFAULT_DETECTOR,
    detector_names,
    detector_status,
    detector_terms,
    get_detector,
    get_detector_info,
)

__all__ = [
    "ARCFACE_112",
    "DEFAULT_DETECTOR",
    "MAX_PIXELS",
    "AlignStatus",
    "AlignedFace",
    "Detection",
    "Detector",
    "DetectorError",
    "DetectorTerms",
    "ImageRefused",
    "LandmarkError",
    "align",
    "choose_face",
    "decode_image",
    "decode_scaled",
    "detect_reduced",
    "detector_names",
    "detector_status",
    "detector_terms",
    "get_detector",
    "get_detector_info",
    "process_face",
    "template",
    "to_five_points",
    "umeyama",
]
