"""Dataset landmarks reduced to the five points the alignment template uses.

Datasets disagree on layout (5 or 68 points) and on whose left is "left" (the
subject's or the image's). Everything leaves here as (5, 2) in ArcFace order,
image-left first, so the alignment never mirrors a face.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from facedata.faces.detect import DetectorError

# iBUG 300-W 68-point layout, 0-based: 36-41 is the eye on the image left,
# 42-47 the other; 30 the nose tip; 48 and 54 the mouth corners.
_EYE_IMG_LEFT = slice(36, 42)
_EYE_IMG_RIGHT = slice(42, 48)
_NOSE_TIP = 30
_MOUTH_LEFT, _MOUTH_RIGHT = 48, 54


class LandmarkError(DetectorError):
    """Landmarks that cannot be reduced to five points."""

    reason = "bad landmarks"


def to_five_points(landmarks: Sequence[float] | np.ndarray) -> np.ndarray:
    """Flat x,y list (or (n, 2) array) of 5 or 68 points to (5, 2) float32, ArcFace order."""
    pts = np.asarray(landmarks, dtype=np.float64).reshape(-1, 2)
    if not np.isfinite(pts).all():
        raise LandmarkError("landmarks contain NaN or infinite values")
    if len(pts) == 5:
        five = pts.copy()
    elif len(pts) == 68:
        five = np.stack(
            [
                pts[_EYE_IMG_LEFT].mean(axis=0),
                pts[_EYE_IMG_RIGHT].mean(axis=0),
                pts[_NOSE_TIP],
                pts[_MOUTH_LEFT],
                pts[_MOUTH_RIGHT],
            ]
        )
    else:
        raise LandmarkError(
            f"expected 5 or 68 landmarks, got {len(pts)}",
            hint="check the reader: landmarks are a flat x,y list in image pixels",
        )
    return order_image_left_first(five).astype(np.float32)


def order_image_left_first(five: np.ndarray) -> np.ndarray:
    """Swap each eye and mouth pair so the first point is on the image left.

    "Left" is taken across the face, not along the image x axis: the face's up
    vector runs from mouth to eyes, and a point is left when it lies on the left of
    that vector. This keeps the order right for tilted (even upside-down) faces,
    where comparing x alone would flip it.
    """
    five = np.array(five, dtype=np.float64, copy=True)
    up = (five[0] + five[1]) / 2 - (five[3] + five[4]) / 2
    across = np.array([-up[1], up[0]])  # up rotated 90 degrees: points to image right
    if not np.any(up):
        across = np.array([1.0, 0.0])
    for a, b in ((0, 1), (3, 4)):
        if float(np.dot(five[b] - five[a], across)) < 0:
            five[[a, b]] = five[[b, a]]
    return five
