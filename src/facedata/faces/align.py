"""Five points to a canonical face crop: similarity fit and one affine warp.

A similarity (rotation, uniform scale, shift) keeps face proportions intact, which
an expression or smile model needs; the ArcFace template is the de facto standard,
so corpora built here line up with public face models.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image

from facedata.faces.detect import Detection
from facedata.opencv import opencv

ARCFACE_112 = np.array(
    [
        [38.2946, 51.6963],
        [73.5318, 51.5014],
        [56.0252, 71.7366],
        [41.5493, 92.3655],
        [70.7299, 92.2041],
    ],
    dtype=np.float64,
)


def template(size: int = 112) -> np.ndarray:
    """The ArcFace points scaled to a square output of `size` pixels."""
    return ARCFACE_112 * (size / 112.0)


def umeyama(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares similarity taking `src` points to `dst` (Umeyama 1991), as 2x3.

    No reflection is allowed: a mirrored face is a different face. In two dimensions
    Umeyama's SVD solution has a closed form (the rotation maximising the trace of
    R^T cov is atan2 of the covariance's antisymmetric and symmetric parts), computed
    here in plain floats: it runs once per face, and five points do not pay numpy's
    per-call cost.
    """
    s = np.asarray(src, dtype=np.float64).reshape(-1, 2).tolist()
    d = np.asarray(dst, dtype=np.float64).reshape(-1, 2).tolist()
    n = len(s)
    msx, msy = sum(p[0] for p in s) / n, sum(p[1] for p in s) / n
    mdx, mdy = sum(p[0] for p in d) / n, sum(p[1] for p in d) / n
    a = b = var = 0.0
    for (sx, sy), (dx, dy) in zip(s, d, strict=True):
        sx, sy, dx, dy = sx - msx, sy - msy, dx - mdx, dy - mdy
        a += sx * dx + sy * dy  # scale * cos(angle) * var
        b += sx * dy - sy * dx  # scale * sin(angle) * var
        var += sx * sx + sy * sy
    p, q = (a / var, b / var) if var > 0 else (1.0, 0.0)
    return np.array(
        [[p, -q, mdx - (p * msx - q * msy)], [q, p, mdy - (q * msx + p * msy)]],
        dtype=np.float64,
    )


def apply(m: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """Map (n, 2) points through a 2x3 affine map."""
    return np.asarray(pts, dtype=np.float64) @ m[:, :2].T + m[:, 2]


def align(
    image: Image.Image,
    five: np.ndarray,
    size: int = 112,
    *,
    keep_gray: bool = True,
    pixels: np.ndarray | None = None,
) -> tuple[Image.Image, np.ndarray]:
    """Warp `image` so the five points land on the template; returns (crop, 2x3 map).

    The fit runs image -> template (errors measured in output pixels, where they
    matter); Pillow wants the output -> input map, so the fit is inverted for it.
    Grey sources stay grey unless keep_gray is False (RGB in, RGB out, always).
    `pixels`: np.asarray(image), where the caller has it already (see `warp`).
    """
    crop, m, _ = align_pixels(image, five, size, keep_gray=keep_gray, pixels=pixels)
    return crop, m


def align_pixels(
    image: Image.Image,
    five: np.ndarray,
    size: int = 112,
    *,
    keep_gray: bool = True,
    pixels: np.ndarray | None = None,
) -> tuple[Image.Image, np.ndarray, np.ndarray]:
    """`align`, plus the crop's pixels as the array the warp made (np.asarray(crop)):
    a caller that encodes the crop with OpenCV needs no second copy out of Pillow."""
    if image.mode not in ("L", "RGB"):
        image, pixels = image.convert("RGB"), None
    return align_array(np.asarray(image) if pixels is None else pixels, five, size, keep_gray)


def align_array(
    pixels: np.ndarray, five: np.ndarray, size: int = 112, keep_gray: bool = True
) -> tuple[Image.Image, np.ndarray, np.ndarray]:
    """`align_pixels` for an image given as its array only (H x W grey, H x W x 3 RGB):
    no PIL image of the whole photo is needed to align it."""
    m = umeyama(five, template(size))
    if pixels.ndim == 2 and not keep_gray:  # Pillow's L to RGB: the grey value three times
        pixels = opencv().cvtColor(pixels, opencv().COLOR_GRAY2RGB)
    out = warp_pixels(pixels, m, size)
    return Image.fromarray(out, "L" if out.ndim == 2 else "RGB"), m, out


def warp(
    image: Image.Image, m: np.ndarray, size: int, *, pixels: np.ndarray | None = None
) -> Image.Image:
    """`image` through the 2x3 map `m` (pixel indices in, pixel indices out) into a
    square of `size`, bilinear, black outside the source.

    OpenCV's warpAffine: the same bilinear sampling as Pillow's transform (within one
    grey level, measured on 200 CelebA alignments) at a fifth of its cost, and this
    warp is most of an aligned row's cost. Where a crop runs past the source's edge,
    OpenCV fades the edge pixel into the black border over half a pixel where Pillow
    cuts it: a one-pixel seam differs. OpenCV puts pixel centres on integer
    coordinates, as landmarks do, so `m` is used as fitted.

    `pixels` is np.asarray(image) where the caller already made it: copying a
    CelebA-sized photo out of Pillow takes 18 µs against the warp's 43, and the
    build's worker has made that copy once already, for the pixel hash.
    """
    src = np.asarray(image) if pixels is None else pixels
    return Image.fromarray(warp_pixels(src, m, size), image.mode)


def warp_pixels(pixels: np.ndarray, m: np.ndarray, size: int) -> np.ndarray:
    """`warp` on an array (H x W grey, or H x W x 3), into an array."""
    cv2 = opencv()
    return cv2.warpAffine(
        pixels,
        np.asarray(m, dtype=np.float64),
        (size, size),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=0,
    )


def choose_face(detections: Sequence[Detection], image_size: tuple[int, int]) -> int:
    """Index of the main face: large and near the centre (crowds behind a subject lose).

    Rank = area minus twice the squared distance of the box centre from the image
    centre (the rule insightface uses), so a slightly smaller centred face beats a
    large one at the edge, and a tiny centred face does not beat a large subject.
    """
    if not detections:
        raise ValueError("no detections to choose from")
    cx, cy = image_size[0] / 2, image_size[1] / 2

    def rank(d: Detection) -> float:
        x, y = d.centre
        return d.area - 2.0 * ((x - cx) ** 2 + (y - cy) ** 2)

    return max(range(len(detections)), key=lambda i: rank(detections[i]))
