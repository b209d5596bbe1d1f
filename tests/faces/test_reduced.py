"""Detection on reduced copies and JPEG draft decoding lose no face the full path finds."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from facedata.faces import decode_scaled, detect_reduced, process_face
from facedata.faces.align import apply, template
from facedata.faces.pipeline import reduced_copy
from facedata.manifest.schema import FaceSpec
from tests.helpers import photos

from .conftest import ASTRONAUT_5, GRACE_HOPPER_5

FRAMES = [(640, 480), (1280, 720), (1920, 1080)]


def _iou(a, b) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union


def _photo_in_frame(photo: Image.Image, frame: tuple[int, int]) -> Image.Image:
    """The photo scaled to the frame's height, centred on a grey canvas."""
    k = frame[1] / photo.height
    scaled = photo.resize((round(photo.width * k), frame[1]), Image.Resampling.BICUBIC)
    canvas = Image.new("RGB", frame, (110, 110, 110))
    canvas.paste(scaled, ((frame[0] - scaled.width) // 2, 0))
    return canvas


def _lfw_in_frame(i: int, px: int, frame: tuple[int, int]) -> Image.Image:
    from skimage import data

    face = Image.fromarray((data.lfw_subset()[i] * 255).astype(np.uint8)).convert("RGB")
    canvas = Image.new("RGB", frame, (96, 104, 112))
    canvas.paste(face.resize((px, px), Image.Resampling.BICUBIC), (frame[0] // 3, frame[1] // 3))
    return canvas


def _cases() -> list[tuple[str, Image.Image]]:
    out = []
    for frame in FRAMES:
        for name, photo in (("astronaut", photos.astronaut), ("grace", photos.grace_hopper)):
            out.append((f"{name}-{frame[0]}", _photo_in_frame(photo(), frame)))
        for i, px in ((0, 50), (1, 100), (2, 200), (3, 64)):
            out.append((f"lfw{i}-{px}px-{frame[0]}", _lfw_in_frame(i, px, frame)))
    return out


CASES = _cases()


@pytest.mark.parametrize("side", [320, 480])
def test_reduced_copy_loses_no_face_of_the_full_path(detector, side) -> None:
    checked = 0
    for name, img in CASES:
        full = detect_reduced(detector, img, None)
        reduced = detect_reduced(detector, img, side)
        if not full:
            continue
        checked += 1
        assert reduced, f"{name}: the full-size path finds a face, the reduced one none"
        a = process_face(img, FaceSpec(), None, detector)
        b = process_face(img, FaceSpec(), None, detector, detect_side=side)
        assert b.image is not None
        assert _iou(a.box, b.box) > 0.6, f"{name}: the reduced path chose another face"
    # the fixture must really exercise something: every photo and most pasted faces
    assert checked >= len(CASES) - len(FRAMES) * 2


def test_small_faces_come_from_the_full_size_fallback(detector) -> None:
    """A 50 px face in a 1280 frame is 12 px at 320: only the fallback can find it."""
    img = _lfw_in_frame(0, 50, (1280, 720))
    small, _ = reduced_copy(img, 320)
    assert not detector.detect(small)
    full = detector.detect(img)
    found = detect_reduced(detector, img, 320)
    assert full and found and _iou(full[0].box, found[0].box) > 0.9


@pytest.mark.parametrize(
    ("photo", "known"),
    [(photos.astronaut, ASTRONAUT_5), (photos.grace_hopper, GRACE_HOPPER_5)],
    ids=["astronaut", "grace_hopper"],
)
def test_reduced_points_are_in_full_image_pixels(detector, photo, known) -> None:
    """Scaled 2.5x and detected at 320, the points land near the known ones scaled."""
    k = 2.5
    img = photo().resize((round(photo().width * k), round(photo().height * k)))
    face = process_face(img, FaceSpec(), None, detector, detect_side=320)
    found = np.asarray(face.landmarks).reshape(5, 2)
    truth = known * k
    eye = float(np.linalg.norm(truth[1] - truth[0]))
    # reduced 5x, the regression is coarser: a fifth of the eye distance
    assert np.linalg.norm(found - truth, axis=1).max() < 0.2 * eye
    # and alignment used them in the full image: eyes land near the template's
    eyes = apply(face.transform, truth[:2])
    assert np.abs(eyes - template(112)[:2]).max() < 8


def test_reduced_copy_sizes() -> None:
    img = Image.new("RGB", (4032, 3024))
    for side in (320, 480, 1000):
        small, back = reduced_copy(img, side)
        assert side <= max(small.size) <= 1.25 * side
        assert back == pytest.approx(4032 / small.width)


def _jpeg(img: Image.Image, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=92, **kw)
    return buf.getvalue()


def test_large_jpeg_decodes_reduced_and_points_come_back_in_source_pixels(detector) -> None:
    big = photos.astronaut().resize((2400, 2400), Image.Resampling.BICUBIC)
    raw = _jpeg(big)
    img, factor = decode_scaled(raw, draft_side=1024)
    assert factor == 2.0 and img.size == (1200, 1200)
    full_img, one = decode_scaled(raw)
    assert one == 1.0 and full_img.size == (2400, 2400)
    reduced = process_face(img, FaceSpec(), None, detector).scaled(factor)
    full = process_face(full_img, FaceSpec(), None, detector)
    eye = float(np.linalg.norm(np.subtract(full.landmarks[2:4], full.landmarks[0:2])))
    diff = np.abs(np.subtract(reduced.landmarks, full.landmarks)).max()
    assert diff < 0.1 * eye
    assert _iou(reduced.box, full.box) > 0.9
    # the recorded transform takes source pixels to the crop, as the full path's does
    pts = np.asarray(full.landmarks).reshape(5, 2)
    assert np.abs(apply(reduced.transform, pts) - apply(full.transform, pts)).max() < 3


def test_draft_leaves_small_jpegs_pngs_and_exif_alone() -> None:
    photo = photos.grace_hopper()
    _, factor = decode_scaled(_jpeg(photo), draft_side=320)  # 600 < 2 x 320
    assert factor == 1.0
    big = photo.resize((1600, 1875))
    buf = io.BytesIO()
    big.save(buf, format="PNG")
    img, factor = decode_scaled(buf.getvalue(), draft_side=400)
    assert factor == 1.0 and img.size == (1600, 1875)
    exif = Image.Exif()
    exif[0x0112] = 6  # stored sideways: shown rotated 90 degrees
    img, factor = decode_scaled(_jpeg(big, exif=exif), draft_side=400)
    assert factor == 4.0 and img.size == (1875 // 4 + 1, 1600 // 4)


def test_build_options_for_reduced_detection_reach_the_recipe(tmp_path, capsys) -> None:
    from facedata.assemble.recipe import Recipe
    from tests.helpers.cli import run_cli

    r = Recipe(datasets=["genki4k"], detector="BlazeFace-Full", detect_side=480)
    assert r.detector == "blazeface-full" and r.detect_side == 480 and r.decode_side == 1024
    bad = run_cli(capsys, "build", "--datasets", "genki4k", "--detector", "yolo-face")
    assert bad.code != 0 and "unknown face detector" in bad.err and "blazeface-full" in bad.err
    small = run_cli(capsys, "build", "--datasets", "genki4k", "--detect-side", "10")
    assert small.code != 0 and "detect_side" in small.err
