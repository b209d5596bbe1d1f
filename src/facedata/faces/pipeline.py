"""The one call a build makes per sample: find the face, align it, say how.

Every outcome is a value, not an exception: a photo without a face is data about
the source (counted in the report), not an error. Only undecodable images and
malformed landmarks raise, with a countable `reason`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Literal

import numpy as np
from PIL import Image, ImageStat

from facedata.faces.align import align_array, align_pixels, choose_face, opencv
from facedata.faces.decode import decode_image
from facedata.faces.detect import Detection, Detector, DetectorError
from facedata.faces.landmarks import to_five_points
from facedata.faces.registry import get_detector
from facedata.manifest.schema import FaceSpec

AlignStatus = Literal[
    "detected", "dataset_landmarks", "precropped", "whole_frame", "no_face", "multiple_faces"
]


@dataclass(slots=True)
class AlignedFace:
    """The aligned crop (None when dropped) and everything provenance needs about it.

    `box` is x1, y1, x2, y2 and `landmarks` five x,y pairs (flat), both in the
    original image's pixels, so they stay meaningful whatever the output size.
    """

    image: Image.Image | None
    align_status: AlignStatus
    detector: str | None = None
    weights_sha256: str | None = None
    score: float | None = None
    box: list[float] | None = None
    landmarks: list[float] | None = None
    faces_found: int = 0
    transform: np.ndarray | None = field(default=None, repr=False)  # image -> crop, 2x3
    # np.asarray(image) where the warp or resize made it (None: not made): the build
    # encodes the crop with OpenCV from it, without copying it out of Pillow again
    pixels: np.ndarray | None = field(default=None, repr=False)

    def scaled(self, factor: float) -> AlignedFace:
        """The same face with box, points and transform in an image `factor` times larger.

        A JPEG decoded at a reduced scale (draft mode) is aligned as decoded; its
        coordinates are recorded in the source file's own pixels.
        """
        if factor == 1.0:
            return self
        m = None
        if self.transform is not None:
            m = self.transform.copy()
            m[:, :2] /= factor
        return replace(
            self,
            box=None if self.box is None else [v * factor for v in self.box],
            landmarks=None if self.landmarks is None else [v * factor for v in self.landmarks],
            transform=m,
        )


@lru_cache(maxsize=4)
def _named_detector(name: str) -> Detector:
    return get_detector(name)


def process_face(
    image: bytes | Image.Image | np.ndarray,
    face_spec: FaceSpec | None,
    landmarks: Sequence[float] | np.ndarray | None,
    detector: Detector | str | None,
    size: int = 112,
    keep_gray: bool = True,
    *,
    multiple: Literal["choose", "drop"] = "choose",
    detect_side: int | None = None,
    pixels: np.ndarray | None = None,
) -> AlignedFace:
    """Align one sample as its manifest says.

    - align=landmarks with landmarks given: fit them, no detector touched
      (without landmarks the sample falls back to detection).
    - align=precropped: trust the crop, resize the whole frame (status `precropped`).
    - otherwise detect; precropped=True pads and upscales first and keeps the
      whole frame (status `whole_frame`: no face found) when still nothing is found.
    Several faces: the largest, most central is aligned and the status says
    `multiple_faces` (or the sample is dropped with multiple="drop").
    `detect_side`: detect on a copy whose longest side is this many pixels (see
    `detect_reduced`); alignment always warps the full image.
    `pixels`: np.asarray(image) for an RGB or L image, where the caller has made it
    already; the warp or resize then reads it instead of copying the image again.
    `image` may be that array alone (H x W grey or H x W x 3 RGB): alignment to
    dataset landmarks then never makes a PIL image of the photo.
    """
    spec = face_spec or FaceSpec()
    if isinstance(image, np.ndarray):
        if spec.align == "landmarks" and landmarks is not None and len(landmarks):
            five = to_five_points(landmarks)
            crop, m, out = align_array(image, five, size, keep_gray)
            return _from_landmarks(crop, five, m, out)
        pixels, image = image, Image.fromarray(image, "L" if image.ndim == 2 else "RGB")
    img = image if isinstance(image, Image.Image) else decode_image(image)
    if img.mode not in ("RGB", "L"):
        img = decode_image(img)
    if img is not image:
        pixels = None  # they were the pixels of another image

    if spec.align == "landmarks" and landmarks is not None and len(landmarks):
        five = to_five_points(landmarks)
        crop, m, out = align_pixels(img, five, size, keep_gray=keep_gray, pixels=pixels)
        return _from_landmarks(crop, five, m, out)
    if spec.align == "precropped":
        return _whole_frame(img, size, keep_gray, None, "precropped", pixels)

    det = _resolve(detector)
    found = _detect_padded(det, img) if spec.precropped else detect_reduced(det, img, detect_side)
    if not found:
        if spec.precropped:
            return _whole_frame(img, size, keep_gray, det, "whole_frame")
        return AlignedFace(None, "no_face", det.name, det.weights_sha256)
    pick = found[choose_face(found, img.size)]
    several = len(found) > 1
    if several and multiple == "drop":
        return AlignedFace(
            None,
            "multiple_faces",
            det.name,
            det.weights_sha256,
            score=pick.score,
            box=list(pick.box),
            faces_found=len(found),
        )
    five = to_five_points(pick.landmarks)
    crop, m, out = align_pixels(img, five, size, keep_gray=keep_gray, pixels=pixels)
    return AlignedFace(
        crop,
        "multiple_faces" if several else "detected",
        det.name,
        det.weights_sha256,
        score=pick.score,
        box=[float(v) for v in pick.box],
        landmarks=[float(v) for v in five.ravel()],
        faces_found=len(found),
        transform=m,
        pixels=out,
    )


def _from_landmarks(
    crop: Image.Image, five: np.ndarray, m: np.ndarray, out: np.ndarray
) -> AlignedFace:
    return AlignedFace(
        crop,
        "dataset_landmarks",
        landmarks=[float(v) for v in five.ravel()],
        transform=m,
        pixels=out,
    )


def _resolve(detector: Detector | str | None) -> Detector:
    if detector is None:
        raise DetectorError(
            "this sample needs face detection but no detector was given",
            hint="pass get_detector() (or a detector name) to process_face",
        )
    return _named_detector(detector) if isinstance(detector, str) else detector


def detect_reduced(det: Detector, img: Image.Image, side: int | None) -> list[Detection]:
    """Detect on a copy reduced to `side` pixels (longest side); map results back.

    Network cost grows with pixels, and a face that an expression model can use is
    large in its photo, so a 640x480 frame detected at 320 costs a quarter and finds
    the same faces. Faces that become too small for the smallest anchors (about
    16 px in the copy) are the risk, so an image where the reduced copy shows no
    face at all is detected again at full size: no image loses the face the
    full-size path would find. Detectors with a fixed input size (BlazeFace) reduce
    by themselves and are called directly.
    """
    rgb = img if img.mode == "RGB" else img.convert("RGB")
    w, h = rgb.size
    if not side or getattr(det, "input_side", None) or max(w, h) <= side:
        return det.detect(rgb)
    small, back = reduced_copy(rgb, side)
    found = det.detect(small)
    if not found:
        return det.detect(rgb)
    return [d.moved(back, 0.0, 0.0) for d in found]


def reduced_copy(img: Image.Image, side: int) -> tuple[Image.Image, float]:
    """A copy whose longest side is about `side` (at most 1.25x), and its scale factor.

    An integer box reduction first (Image.reduce is 4x cheaper than a filtered
    resize and averages like one), then a bilinear resize only when that left the
    copy more than a quarter too large.
    """
    w, h = img.size
    k = int(max(w, h) / side)
    back = 1.0
    if k >= 2:
        img = img.reduce(k)
        back = float(k)
    if max(img.size) > 1.25 * side:
        r = max(img.size) / side
        img = img.resize(
            (max(1, round(img.width / r)), max(1, round(img.height / r))),
            Image.Resampling.BILINEAR,
        )
        back = w / img.width
    return img, back


def _detect_padded(det: Detector, img: Image.Image) -> list[Detection]:
    """Detect in a tight crop: pad by half its size with its mean grey, upscale 2x.

    A face filling a 48 px frame has no context around it and is smaller than the
    smallest anchors like; the padding gives context, the upscale gives pixels.
    Detections are mapped back to the original frame's coordinates.
    """
    rgb = img.convert("RGB")
    w, h = rgb.size
    px, py = w // 2, h // 2
    grey = int(round(sum(ImageStat.Stat(rgb.convert("L")).mean)))
    canvas = Image.new("RGB", (w + 2 * px, h + 2 * py), (grey, grey, grey))
    canvas.paste(rgb, (px, py))
    canvas = canvas.resize((canvas.width * 2, canvas.height * 2), Image.Resampling.BILINEAR)
    return [d.moved(0.5, -px, -py) for d in det.detect(canvas)]


def _whole_frame(
    img: Image.Image,
    size: int,
    keep_gray: bool,
    det: Detector | None,
    status: AlignStatus,
    pixels: np.ndarray | None = None,
) -> AlignedFace:
    mode = "L" if img.mode == "L" and keep_gray else "RGB"
    out: np.ndarray | None = None
    if img.mode == "L":
        # grey to RGB copies one band three times: resizing first gives the same
        # pixels for a third of the work (a grey CSV source's every row comes here)
        crop, out = _resize(img, size, pixels)
        if mode != "L":
            crop, out = crop.convert(mode), None
    elif img.mode == mode:
        crop, out = _resize(img, size, pixels)
    else:
        crop, out = _resize(img.convert(mode), size)
    return AlignedFace(
        crop,
        status,
        det.name if det else None,
        det.weights_sha256 if det else None,
        box=[0.0, 0.0, float(img.width), float(img.height)],
        pixels=out,
    )


def _resize(
    img: Image.Image, size: int, pixels: np.ndarray | None = None
) -> tuple[Image.Image, np.ndarray | None]:
    """Bilinear to a `size` square, and the array OpenCV made it from (None: Pillow
    made it). Enlarging (FER's 48 px rows, small crops) goes through OpenCV, within
    one grey level of Pillow at a fifth of the cost; shrinking stays with Pillow,
    whose filter widens with the scale (anti-aliased) where OpenCV's bilinear does
    not."""
    if img.width > size or img.height > size:
        return img.resize((size, size), Image.Resampling.BILINEAR), None
    cv2 = opencv()
    src = np.asarray(img) if pixels is None else pixels
    out = cv2.resize(src, (size, size), interpolation=cv2.INTER_LINEAR)
    return Image.fromarray(out, img.mode), out
