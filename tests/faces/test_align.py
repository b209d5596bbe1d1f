"""Similarity alignment and dataset landmarks: exact geometry, no detector."""

from __future__ import annotations

import math

import numpy as np
import pytest
from PIL import Image

from facedata.faces import LandmarkError, process_face, template, to_five_points, umeyama
from facedata.faces.align import apply
from facedata.manifest.schema import FaceSpec
from tests.helpers import photos

from .conftest import ASTRONAUT_5

LANDMARKS = FaceSpec(align="landmarks", landmarks=5)


def test_umeyama_recovers_a_known_similarity() -> None:
    t = math.radians(17)
    m = np.array(
        [[1.7 * math.cos(t), -1.7 * math.sin(t), 30], [1.7 * math.sin(t), 1.7 * math.cos(t), -5]]
    )
    src = template(112)
    assert np.allclose(umeyama(src, apply(m, src)), m, atol=1e-9)


def test_umeyama_never_mirrors() -> None:
    src = template(112)
    mirrored = src * [-1, 1]
    m = umeyama(src, mirrored)
    assert np.linalg.det(m[:, :2]) > 0


def _marked_photo(eyes: np.ndarray) -> Image.Image:
    """The astronaut in grey with a 3x3 white dot centred on each eye position."""
    img = photos.astronaut().convert("L")
    arr = np.asarray(img).copy() // 2  # darken so the dots stand out
    for x, y in np.rint(eyes).astype(int):
        arr[y - 1 : y + 2, x - 1 : x + 2] = 255
    return Image.fromarray(arr)


def _blob_centres(arr: np.ndarray) -> np.ndarray:
    """Intensity-weighted centres of the bright blobs left and right of the middle."""
    out = []
    w = arr.shape[1]
    for half in (slice(0, w // 2), slice(w // 2, w)):
        sub = np.where(arr[:, half] > 140, arr[:, half], 0).astype(float)
        ys, xs = np.nonzero(sub)
        out.append(
            [np.average(xs, weights=sub[ys, xs]) + half.start, np.average(ys, weights=sub[ys, xs])]
        )
    return np.array(out)


@pytest.mark.parametrize("size", [112, 224])
def test_dataset_landmarks_put_eyes_on_template(size) -> None:
    # CelebA-style five points: the template placed on the face by a similarity,
    # at integer eye positions so the dots drawn there are exact
    t = math.radians(-9)
    m = np.array(
        [[1.3 * math.cos(t), -1.3 * math.sin(t), 0], [1.3 * math.sin(t), 1.3 * math.cos(t), 0]]
    )
    pts = apply(m, template(112))
    pts += np.rint(ASTRONAUT_5[0]) - pts[0]
    pts[1] = np.rint(pts[1])
    five = pts.copy()
    face = process_face(_marked_photo(five[:2]), LANDMARKS, five.ravel().tolist(), None, size=size)
    assert face.align_status == "dataset_landmarks"
    assert face.image.size == (size, size) and face.detector is None and face.image.mode == "L"
    # where the fit sends the eyes, and where the dots really are in the pixels
    assert np.abs(apply(face.transform, five[:2]) - template(size)[:2]).max() < 1.0
    seen = _blob_centres(np.asarray(face.image))
    assert np.abs(seen - template(size)[:2]).max() < 1.0


def test_real_landmarks_fit_close_to_template() -> None:
    face = process_face(photos.astronaut(), LANDMARKS, ASTRONAUT_5.ravel().tolist(), None)
    eyes = apply(face.transform, ASTRONAUT_5[:2])
    assert np.abs(eyes - template(112)[:2]).max() < 3.0  # a real face is not the template


def test_gray_stays_gray_unless_asked() -> None:
    grey = photos.astronaut().convert("L")
    pts = ASTRONAUT_5.ravel().tolist()
    assert process_face(grey, LANDMARKS, pts, None).image.mode == "L"
    assert process_face(grey, LANDMARKS, pts, None, keep_gray=False).image.mode == "RGB"
    assert process_face(photos.astronaut(), LANDMARKS, pts, None).image.mode == "RGB"


def _ibug68(five: np.ndarray) -> np.ndarray:
    """A synthetic 68-point set whose eye rings average to the eye centres."""
    pts = np.zeros((68, 2))
    ring = np.array([[-8, 0], [-4, -3], [4, -3], [8, 0], [4, 3], [-4, 3]], float)
    pts[36:42] = five[0] + ring
    pts[42:48] = five[1] + ring
    pts[30] = five[2]
    pts[48], pts[54] = five[3], five[4]
    return pts


def test_68_points_reduce_to_the_five() -> None:
    five = to_five_points(_ibug68(ASTRONAUT_5).ravel())
    assert np.allclose(five, ASTRONAUT_5, atol=1e-4)
    face = process_face(
        photos.astronaut(),
        FaceSpec(align="landmarks", landmarks=68),
        _ibug68(ASTRONAUT_5).ravel(),
        None,
    )
    assert face.align_status == "dataset_landmarks"
    assert np.allclose(np.reshape(face.landmarks, (5, 2)), ASTRONAUT_5, atol=1e-3)


def test_subject_left_order_is_normalised_to_image_left() -> None:
    swapped = ASTRONAUT_5[[1, 0, 2, 4, 3]]
    assert np.allclose(to_five_points(swapped.ravel()), ASTRONAUT_5, atol=1e-4)


def test_order_holds_for_a_face_upside_down() -> None:
    centre = ASTRONAUT_5.mean(axis=0)
    flipped = 2 * centre - ASTRONAUT_5  # rotated 180 degrees: image-left eye is now on the right
    out = to_five_points(flipped.ravel())
    assert np.allclose(out, flipped, atol=1e-4)


@pytest.mark.parametrize("bad", [[1.0, 2.0] * 7, [float("nan")] * 10])
def test_bad_landmarks_are_refused_with_a_reason(bad) -> None:
    with pytest.raises(LandmarkError) as err:
        to_five_points(bad)
    assert err.value.reason == "bad landmarks"
