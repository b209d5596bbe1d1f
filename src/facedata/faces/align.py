"""Five points to a canonical face crop: similarity fit and one affine warp.

A similarity (rotation, uniform scale, shift) keeps face proportions intact, which
an expression or smile model needs; the ArcFace template is the de facto standard,
so corpora built here line up with public face models.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image

from .detect import Detection

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

    No reflection is allowed: a mirrored face is a different face.
    """
    src = np.asarray(src, dtype=np.float64)
    dst = np.asarray(dst, dtype=np.float64)
    mu_s, mu_d = src.mean(axis=0), dst.mean(axis=0)
    s, d = src - mu_s, dst - mu_d
    cov = d.T @ s / len(src)
    u, sig, vt = np.linalg.svd(cov)
    sign = np.eye(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        sign[1, 1] = -1
    rot = u @ sign @ vt
    var_s = (s**2).sum() / len(src)
    scale = float(np.trace(np.diag(sig) @ sign)) / var_s if var_s > 0 else 1.0
    m = np.zeros((2, 3))
    m[:, :2] = scale * rot
    m[:, 2] = mu_d - m[:, :2] @ mu_s
    return m


def invert(m: np.ndarray) -> np.ndarray:
    """Inverse of a 2x3 affine map."""
    a = np.linalg.inv(m[:, :2])
    return np.hstack([a, (-a @ m[:, 2])[:, None]])


def apply(m: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """Map (n, 2) points through a 2x3 affine map."""
    return np.asarray(pts, dtype=np.float64) @ m[:, :2].T + m[:, 2]


def _pixel_centres(m: np.ndarray) -> np.ndarray:
    """Re-express a map between pixel indices in Pillow's continuous coordinates.

    Landmarks and the template name pixel (i, j) by its index; Pillow's transform
    puts that pixel's centre at (i + 0.5, j + 0.5). Without this shift a scaled
    warp is off by up to half a pixel.
    """
    a = m[:, :2]
    half = np.array([0.5, 0.5])
    return np.hstack([a, (m[:, 2] + half - a @ half)[:, None]])


def align(
    image: Image.Image,
    five: np.ndarray,
    size: int = 112,
    *,
    keep_gray: bool = True,
) -> tuple[Image.Image, np.ndarray]:
    """Warp `image` so the five points land on the template; returns (crop, 2x3 map).

    The fit runs image -> template (errors measured in output pixels, where they
    matter); Pillow wants the output -> input map, so the fit is inverted for it.
    Grey sources stay grey unless keep_gray is False (RGB in, RGB out, always).
    """
    m = umeyama(five, template(size))
    back = invert(_pixel_centres(m))
    mode = "L" if image.mode == "L" and keep_gray else "RGB"
    src = image if image.mode == mode else image.convert(mode)
    out = src.transform(
        (size, size),
        Image.Transform.AFFINE,
        data=tuple(back.ravel()),
        resample=Image.Resampling.BILINEAR,
        fillcolor=0,
    )
    return out, m


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
