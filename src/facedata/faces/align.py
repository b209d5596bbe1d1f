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


def invert(m: np.ndarray) -> np.ndarray:
    """Inverse of a 2x3 affine map."""
    (a, b, c), (d, e, f) = np.asarray(m, dtype=np.float64).tolist()
    det = a * e - b * d
    if det == 0:
        raise np.linalg.LinAlgError("Singular matrix")
    ia, ib, id_, ie = e / det, -b / det, -d / det, a / det
    return np.array(
        [[ia, ib, -(ia * c + ib * f)], [id_, ie, -(id_ * c + ie * f)]], dtype=np.float64
    )


def apply(m: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """Map (n, 2) points through a 2x3 affine map."""
    return np.asarray(pts, dtype=np.float64) @ m[:, :2].T + m[:, 2]


def _pixel_centres(m: np.ndarray) -> np.ndarray:
    """Re-express a map between pixel indices in Pillow's continuous coordinates.

    Landmarks and the template name pixel (i, j) by its index; Pillow's transform
    puts that pixel's centre at (i + 0.5, j + 0.5). Without this shift a scaled
    warp is off by up to half a pixel.
    """
    (a, b, c), (d, e, f) = np.asarray(m, dtype=np.float64).tolist()
    return np.array(
        [[a, b, c + 0.5 - 0.5 * (a + b)], [d, e, f + 0.5 - 0.5 * (d + e)]], dtype=np.float64
    )


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
