"""RetinaFace on real photos: right places, right order, no false faces."""

from __future__ import annotations

import math

import numpy as np
import pytest
from PIL import Image

from facedata.faces import Detection, choose_face, process_face
from facedata.faces.align import apply
from facedata.faces.retinaface import nms, priors
from facedata.manifest.schema import FaceSpec
from tests.helpers import photos

from .conftest import ASTRONAUT_5, GRACE_HOPPER_5

TOL = 4.0  # px on a 512 px photo


@pytest.mark.parametrize(
    ("photo", "known"),
    [(photos.astronaut, ASTRONAUT_5), (photos.grace_hopper, GRACE_HOPPER_5)],
    ids=["astronaut", "grace_hopper"],
)
def test_landmarks_land_on_known_positions(detector, photo, known) -> None:
    found = detector.detect(photo())
    assert len(found) == 1
    d = found[0]
    assert d.score > 0.99
    assert np.abs(d.landmarks - known).max() < TOL
    x1, y1, x2, y2 = d.box
    # every landmark inside the box, eyes above the mouth, image-left eye first
    assert all(x1 < x < x2 and y1 < y < y2 for x, y in d.landmarks)
    assert d.landmarks[0, 0] < d.landmarks[1, 0]
    assert d.landmarks[3, 0] < d.landmarks[4, 0]


@pytest.mark.parametrize("photo", [photos.cat, photos.coffee], ids=["cat", "coffee"])
def test_negatives_have_no_face(detector, photo) -> None:
    assert detector.detect(photo()) == []
    face = process_face(photo(), FaceSpec(), None, detector)
    assert face.align_status == "no_face" and face.image is None
    assert face.detector == "retinaface-mnet025" and face.weights_sha256


def _rotate(img: Image.Image, deg: float) -> tuple[Image.Image, np.ndarray]:
    """Rotated image and the 2x3 map taking original points into it."""
    out = img.rotate(deg, resample=Image.Resampling.BILINEAR)  # counter-clockwise, about centre
    cx, cy = img.width / 2, img.height / 2
    t = math.radians(deg)
    c, s = math.cos(t), math.sin(t)
    # PIL rotates counter-clockwise on screen: with y down that is (x, y) -> R(-t).
    m = np.array([[c, s, cx - c * cx - s * cy], [-s, c, cy + s * cx - c * cy]])
    return out, m


@pytest.mark.parametrize("deg", [20, -20])
@pytest.mark.parametrize(
    ("photo", "known"),
    [(photos.astronaut, ASTRONAUT_5), (photos.grace_hopper, GRACE_HOPPER_5)],
    ids=["astronaut", "grace_hopper"],
)
def test_rotated_faces_come_out_level(detector, photo, known, deg) -> None:
    rotated, m = _rotate(photo(), deg)
    truth = apply(m, known)  # where the features really are in the rotated photo
    face = process_face(rotated, FaceSpec(), None, detector)
    assert face.align_status == "detected"
    found = np.asarray(face.landmarks).reshape(5, 2)
    eye_gap = float(np.linalg.norm(truth[1] - truth[0]))
    # landmark regression is looser on tilted faces: allow 20% of the eye distance
    assert np.linalg.norm(found - truth, axis=1).max() < 0.2 * eye_gap
    # the true eye centres, carried through the alignment, lie on a level line
    eyes = apply(face.transform, truth[:2])
    angle = math.degrees(math.atan2(eyes[1, 1] - eyes[0, 1], eyes[1, 0] - eyes[0, 0]))
    assert abs(angle) < 3.0, f"eye line at {angle:.2f} degrees after alignment"


def test_two_faces_side_by_side_are_both_found(detector) -> None:
    a, g = photos.astronaut(), photos.grace_hopper()
    canvas = Image.new("RGB", (a.width + g.width, max(a.height, g.height)), (128, 128, 128))
    canvas.paste(a, (0, 0))
    canvas.paste(g, (a.width, 0))
    found = detector.detect(canvas)
    assert len(found) == 2
    left, right = sorted(found, key=lambda d: d.box[0])
    assert np.abs(left.landmarks - ASTRONAUT_5).max() < TOL
    assert np.abs(right.landmarks - (GRACE_HOPPER_5 + [a.width, 0])).max() < TOL
    face = process_face(canvas, FaceSpec(), None, detector)
    assert face.align_status == "multiple_faces" and face.faces_found == 2
    assert face.score == pytest.approx(max(d.score for d in found), abs=0.01)
    dropped = process_face(canvas, FaceSpec(), None, detector, multiple="drop")
    assert dropped.image is None and dropped.align_status == "multiple_faces"


def _det(x1: float, y1: float, x2: float, y2: float, score: float = 0.9) -> Detection:
    return Detection((x1, y1, x2, y2), score, np.zeros((5, 2), np.float32))


def test_choice_prefers_large_and_central() -> None:
    size = (1000, 1000)
    centred_small = _det(450, 450, 550, 550)
    edge_large = _det(0, 0, 120, 120)
    big_centred = _det(300, 300, 700, 700)
    assert choose_face([edge_large, centred_small], size) == 1
    assert choose_face([centred_small, big_centred, edge_large], size) == 1


def test_priors_match_network_layout() -> None:
    # 2 anchors per cell at steps 8/16/32, ceil-sized grids, first centre at step/2
    p = priors(218, 178)
    expected = sum(2 * math.ceil(218 / s) * math.ceil(178 / s) for s in (8, 16, 32))
    assert p.shape == (expected, 3)
    assert p[0].tolist() == [4.0, 4.0, 16.0] and p[1].tolist() == [4.0, 4.0, 32.0]
    assert p[2].tolist() == [12.0, 4.0, 16.0]


def test_nms_drops_overlaps_keeps_the_rest() -> None:
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [20, 20, 30, 30]], dtype=np.float32)
    scores = np.array([0.8, 0.9, 0.85], dtype=np.float32)
    assert nms(boxes, scores, 0.4) == [1, 2]
