"""What every face detector returns and promises, whatever network sits behind it.

The corpus records which detector aligned each row and under what terms its weights
may be used, so a detector is more than a function: it carries its name, the hash of
the exact weights it ran and the licenses a commercial build has to show.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Protocol, runtime_checkable

import numpy as np
from PIL import Image

from facedata.errors import FacedataError


class DetectorError(FacedataError):
    """A detector cannot be created or run (weights missing, bad model file, ...)."""


@dataclass(frozen=True, slots=True)
class Detection:
    """One face: box (x1, y1, x2, y2), score and five points, all in image pixels.

    `landmarks` is (5, 2) in ArcFace order: image-left eye, image-right eye, nose,
    mouth image-left, mouth image-right. Image-left, not the subject's left, because
    that is what the alignment template is defined in.
    """

    box: tuple[float, float, float, float]
    score: float
    landmarks: np.ndarray

    @property
    def width(self) -> float:
        return self.box[2] - self.box[0]

    @property
    def height(self) -> float:
        return self.box[3] - self.box[1]

    @property
    def area(self) -> float:
        return max(self.width, 0.0) * max(self.height, 0.0)

    @property
    def centre(self) -> tuple[float, float]:
        return ((self.box[0] + self.box[2]) / 2, (self.box[1] + self.box[3]) / 2)

    def moved(self, scale: float, dx: float, dy: float) -> Detection:
        """The same face in another frame: x' = x * scale + dx (undoing a pad/resize)."""
        b = self.box
        box = (b[0] * scale + dx, b[1] * scale + dy, b[2] * scale + dx, b[3] * scale + dy)
        pts = self.landmarks * scale + np.array([dx, dy], dtype=np.float32)
        return Detection(box, self.score, pts.astype(np.float32))


@dataclass(frozen=True, slots=True)
class DetectorTerms:
    """Licenses behind a detector: the code, the weights, and the data they learnt from.

    Weights trained on a research-only dataset carry that dataset's terms in spirit,
    whatever the license of the file; a commercial build shows all three.
    `commercial_use`, `license_id` and `url` are the machine-readable summary the
    license gate decides on.
    """

    code_license: str
    weights_license: str
    weights_source: str
    training_data: str
    training_data_terms: str
    training_data_url: str
    # May a commercial build use these weights without a clearance? False unless the
    # weights' license and their training data's terms both allow it (unknown is
    # restrictive).
    commercial_use: bool = False
    license_id: str = "unknown"  # SPDX id of the weights' license
    url: str = ""  # where the terms (model card, dataset page) can be read

    def to_dict(self) -> dict[str, str | bool]:
        return asdict(self)


@runtime_checkable
class Detector(Protocol):
    """A face detector usable by the alignment pipeline and recorded in provenance."""

    name: str
    weights_sha256: str
    terms: DetectorTerms

    def detect(self, image: Image.Image) -> list[Detection]:
        """All faces above the detector's threshold, best score first."""
        ...
