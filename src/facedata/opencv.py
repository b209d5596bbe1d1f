"""OpenCV, loaded the same way by every layer that needs it (reading, aligning, streaming).

It lives below every stage so a reader can use OpenCV's fast parsers without importing
the face-alignment code above it.
"""

from __future__ import annotations

import os
import sys
from functools import lru_cache
from typing import Any


@lru_cache(maxsize=1)
def opencv() -> Any:
    """OpenCV, limited to one thread: a build's parallelism is its worker processes,
    and one worker means one core (OpenCV would otherwise spread a 112 px warp over
    every core, the same setting for the whole process)."""
    # facedata reads every OpenCV failure from its return value and says what it means;
    # OpenCV's own log would print a second, bare message per bad row. OpenCV 5 sets
    # its log level from Python; 4.x only reads OPENCV_LOG_LEVEL, once, when loaded
    # (set here for that moment only, so child processes get the user's environment)
    saved = os.environ.get("OPENCV_LOG_LEVEL")
    if saved is None and "cv2" not in sys.modules:
        os.environ["OPENCV_LOG_LEVEL"] = "SILENT"
    try:
        import cv2
    finally:
        if saved is None:
            os.environ.pop("OPENCV_LOG_LEVEL", None)
    cv2.setNumThreads(1)
    logging = getattr(getattr(cv2, "utils", None), "logging", None)
    if logging is not None and hasattr(logging, "setLogLevel"):
        logging.setLogLevel(logging.LOG_LEVEL_SILENT)
    return cv2
