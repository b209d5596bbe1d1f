"""process_face paths: tiny crops, trusted crops, lazy detector, no stray imports."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from facedata.faces import DetectorError, get_detector, process_face
from facedata.manifest.schema import FaceSpec
from tests.helpers import photos

from .conftest import ASTRONAUT_5


def _tight_crop(side: int) -> tuple[Image.Image, np.ndarray]:
    """A FER-style grey face crop of `side` px and the known points in its pixels."""
    box = (160, 45, 290, 175)  # square around the astronaut's face
    crop = photos.astronaut().crop(box).resize((side, side), Image.Resampling.BILINEAR)
    scale = side / (box[2] - box[0])
    return crop.convert("L"), (ASTRONAUT_5 - box[:2]) * scale


@pytest.mark.parametrize("side", [48, 64])
def test_tiny_grey_crop_is_found_after_padding(detector, side) -> None:
    crop, known = _tight_crop(side)
    face = process_face(crop, FaceSpec(precropped=True), None, detector)
    assert face.align_status == "detected"
    assert face.image.mode == "L" and face.image.size == (112, 112)
    # points come back in the 48 px frame, within a couple of its pixels
    assert np.abs(np.reshape(face.landmarks, (5, 2)) - known).max() < 0.06 * side


def test_tiny_crop_without_a_face_keeps_the_frame(detector) -> None:
    crop = photos.coffee().convert("L").resize((48, 48))
    face = process_face(crop, FaceSpec(precropped=True), None, detector)
    assert face.align_status == "whole_frame"  # no face found: not a declared crop
    assert face.image.size == (112, 112) and face.image.mode == "L"
    assert face.box == [0.0, 0.0, 48.0, 48.0] and face.detector == detector.name


def test_trusted_crop_needs_no_detector() -> None:
    crop, _ = _tight_crop(64)
    face = process_face(crop, FaceSpec(align="precropped"), None, None, size=224)
    assert face.align_status == "precropped" and face.image.size == (224, 224)
    assert face.detector is None


def test_landmark_path_never_creates_a_session() -> None:
    det = get_detector()
    face = process_face(photos.astronaut(), FaceSpec(align="landmarks"), ASTRONAUT_5.ravel(), det)
    assert face.align_status == "dataset_landmarks"
    assert det._session is None  # type: ignore[attr-defined]


def test_landmarks_missing_falls_back_to_detection(detector) -> None:
    face = process_face(photos.astronaut(), FaceSpec(align="landmarks"), None, detector)
    assert face.align_status == "detected" and face.score > 0.99


def test_detection_without_detector_says_so() -> None:
    with pytest.raises(DetectorError, match="no detector"):
        process_face(photos.astronaut(), FaceSpec(), None, None)


def test_record_carries_provenance(detector) -> None:
    face = process_face(photos.grace_hopper(), FaceSpec(), None, detector, size=224)
    assert face.align_status == "detected" and face.image.size == (224, 224)
    assert face.detector == "retinaface-mnet025"
    assert face.weights_sha256 == detector.weights_sha256
    assert len(face.box) == 4 and len(face.landmarks) == 10 and 0.99 < face.score <= 1.0


def test_detector_pickles_without_its_session(detector) -> None:
    import pickle

    detector.detect(photos.astronaut())
    clone = pickle.loads(pickle.dumps(detector))
    assert clone._session is None and len(clone.detect(photos.astronaut())) == 1


def test_no_opencv_and_no_retinaface_import() -> None:
    code = (
        "import sys; from facedata.faces import get_detector; from tests.helpers import photos;"
        "assert len(get_detector().detect(photos.astronaut())) == 1;"
        "bad = [m for m in ('cv2', 'retinaface', 'torch') if m in sys.modules];"
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
