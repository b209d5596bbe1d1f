"""Real face photos that ship inside wheels, for fixtures. Never commit dataset images.

astronaut (scikit-image) and grace_hopper (matplotlib) are real faces, so fixtures
built from them exercise the real detector; chelsea (a cat) and coffee are negatives.
"""

from __future__ import annotations

from functools import cache

import numpy as np
from PIL import Image


@cache
def astronaut() -> Image.Image:
    from skimage import data

    return Image.fromarray(data.astronaut())  # 512x512 RGB, one face


@cache
def grace_hopper() -> Image.Image:
    from matplotlib import cbook

    path = cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)
    return Image.open(path).convert("RGB")  # 512x600 RGB, one face


@cache
def cat() -> Image.Image:
    from skimage import data

    return Image.fromarray(data.chelsea())


@cache
def coffee() -> Image.Image:
    from skimage import data

    return Image.fromarray(data.coffee())


def faces() -> list[Image.Image]:
    return [astronaut(), grace_hopper()]


def face_variant(i: int, size: tuple[int, int], mode: str = "RGB") -> Image.Image:
    """A distinct real-face image per index: alternate photos, jitter crop and tone.

    Distinct pixels matter: a corpus dedups by hash, so fixtures of N images must
    really be N images.
    """
    base = faces()[i % 2]
    rng = np.random.default_rng(i)
    w, h = base.size
    dx, dy = (int(v) for v in rng.integers(0, 24, size=2))
    crop = base.crop((dx, dy, w - 24 + dx, h - 24 + dy))
    arr = np.asarray(crop.resize(size, Image.BILINEAR), dtype=np.float32)
    arr = np.clip(arr * rng.uniform(0.85, 1.15) + rng.uniform(-12, 12), 0, 255)
    return Image.fromarray(arr.astype(np.uint8)).convert(mode)
