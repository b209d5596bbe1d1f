"""One detector session for the whole face suite: creating it is the slow part."""

from __future__ import annotations

import numpy as np
import pytest

from facedata.faces import Detector, get_detector

# Measured once with retinaface-mnet025 and checked by eye on an overlay (eye
# centres, nose tip, mouth corners), ArcFace order, in the photos' own pixels.
ASTRONAUT_5 = np.array(
    [[204.8, 100.8], [247.4, 103.4], [223.6, 129.2], [202.5, 138.1], [244.2, 140.6]]
)
GRACE_HOPPER_5 = np.array(
    [[219.0, 187.6], [303.4, 186.8], [259.6, 247.2], [231.9, 273.1], [299.2, 272.7]]
)


@pytest.fixture(scope="session")
def detector() -> Detector:
    return get_detector("retinaface-mnet025", threads=1)
