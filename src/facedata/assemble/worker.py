"""The per-sample work that runs in worker processes: decode, align, encode, hash.

Everything here is a pure function of its inputs plus a lazily created detector,
so the same code runs in-process (one worker) or in a process pool.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

from facedata.errors import FacedataError, InputsLostError
from facedata.manifest.schema import FaceSpec
from facedata.read.sample import PixelImage, Sample, pickled_as_call


@dataclass(frozen=True)
class WorkSettings:
    size: int = 112
    image_format: str = "jpeg"
    image_mode: str = "RGB"  # every row's mode: one declared mode, so batches stack
    keep_unaligned: bool = False
    detector: str = "retinaface-mnet025"
    threads: int = 1
    detect_side: int | None = None
    decode_side: int | None = None


@pickled_as_call
@dataclass(frozen=True)
class Item:
    """One labelled sample on its way to a worker."""

    sample: Sample
    labels: dict[str, Any]  # smile, expression, smile_derived, source_label
    face: FaceSpec
    meta: dict[str, Any]  # dataset-level columns: source_id, official, license_id, tier


@dataclass(frozen=True)
class Failed:
    """A sample that could not become a row, with a countable reason."""

    where: str
    reason: str
    detail: str = ""
    dataset: str = ""  # counted under its dataset, like every other drop


_detectors: dict[str, Any] = {}


def fresh_process(parent: int | None = None) -> None:
    """Pool initializer: a forked worker must not reuse the parent's detector sessions,
    whose runtime threads did not survive the fork; each worker makes its own.

    With `parent` (the build's pid) the worker also dies with it: a build killed by
    kill -9 must not leave workers decoding images for nobody.
    """
    _detectors.clear()
    if parent is not None:
        die_with_parent(parent)


def die_with_parent(parent: int) -> None:
    """End this process when `parent` ends: PR_SET_PDEATHSIG on Linux, and everywhere a
    thread that notices the parent is gone (the pid this process was reparented from)."""
    import os
    import signal
    import sys
    import threading
    import time

    if sys.platform.startswith("linux"):
        import ctypes

        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, int(signal.SIGKILL), 0, 0, 0)  # 1 = PR_SET_PDEATHSIG
    if os.getppid() != parent:  # it died before the line above took effect
        os._exit(1)

    def watch() -> None:
        while True:
            time.sleep(1.0)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _detector(settings: WorkSettings) -> Any:
    """Created on first use, once per process: dataset-landmark builds never load it."""
    from facedata.faces import get_detector

    if settings.detector not in _detectors:
        _detectors[settings.detector] = get_detector(settings.detector, threads=settings.threads)
    return _detectors[settings.detector]


def pixel_sha256(img: Image.Image, pixels: np.ndarray | None = None) -> str:
    """Hash of the decoded pixels: the same picture re-encoded is still a duplicate.
    `pixels`: np.asarray(img) of an L or RGB image (the same bytes as img.tobytes())."""
    return _sha256(img.mode, img.width, img.height, img.tobytes() if pixels is None else pixels)


def _sha256(mode: str, width: int, height: int, pixels: bytes | np.ndarray) -> str:
    h = hashlib.sha256(f"{mode}:{width}x{height}:".encode())
    h.update(pixels)
    return h.hexdigest()


def _dct_matrix(n: int = 32) -> np.ndarray:
    k = np.arange(n)[:, None]
    return np.cos(np.pi * k * (2 * np.arange(n)[None, :] + 1) / (2 * n))


# the hash uses only the 8 lowest frequencies of each axis: 8 rows of the matrix suffice
_DCT8 = np.ascontiguousarray(_dct_matrix()[:8])
_DCT8T = np.ascontiguousarray(_DCT8.T)


def phash64(img: Image.Image) -> int:
    """64-bit DCT perceptual hash, bit for bit the hash `imagehash.phash` gives.

    The same steps (32x32 grey, 2-D DCT-II, top-left 8x8, above-median bits) done
    with two small matrix products: imagehash's general path costs more than
    aligning the face, and this runs once per corpus row. A test pins equality.
    A grey image is hashed as it is (its RGB copy would convert back to the same grey).
    """
    grey = img if img.mode == "L" else img.convert("L")
    small = grey.resize((32, 32), Image.Resampling.BOX)
    # its bytes, not np.asarray: Pillow's array interface costs more than the DCT here
    levels = np.frombuffer(small.tobytes(), dtype=np.uint8).reshape(32, 32)
    flat = (_DCT8 @ levels.astype(np.float64) @ _DCT8T).ravel()
    middle = np.partition(flat, (31, 32))
    bits = flat > (middle[31] + middle[32]) / 2  # the median of 64 values
    return int.from_bytes(np.packbits(bits).tobytes(), "big")


def encode(
    img: Image.Image, fmt: str, mode: str | None = None, pixels: np.ndarray | None = None
) -> bytes:
    """The row's image file, in the corpus's declared `mode` (default: the image's own).

    JPEG goes through OpenCV's encoder: byte for byte what Pillow writes at quality
    95 (both are libjpeg-turbo with the same settings; a test pins it), without the
    save machinery around it, and a grey face becomes its RGB file without first
    becoming an RGB image: a third less work per row for a grey source.
    `pixels`: np.asarray(img), where the caller has it (the warp made it).
    """
    mode = mode or img.mode
    if fmt == "png" or img.mode not in ("L", "RGB") or (img.mode, mode) == ("RGB", "L"):
        if img.mode != mode:
            img, pixels = img.convert(mode), None  # Pillow's RGB to grey, as every grey row
        if fmt == "png":
            buf = io.BytesIO()
            img.save(buf, format="PNG", compress_level=1)
            return buf.getvalue()
    from facedata.faces.align import opencv

    cv2 = opencv()
    if pixels is None:
        pixels = np.asarray(img)
    if img.mode == "RGB":
        pixels = cv2.cvtColor(pixels, cv2.COLOR_RGB2BGR)
    elif mode == "RGB":
        pixels = cv2.cvtColor(pixels, cv2.COLOR_GRAY2BGR)
    ok, data = cv2.imencode(".jpg", pixels, [cv2.IMWRITE_JPEG_QUALITY, 95])
    if not ok:
        raise FacedataError("the aligned face could not be encoded as JPEG")
    return data.tobytes()


def _floats(values: Any) -> list[float] | None:
    if values is None:
        return None
    return [float(v) for v in np.asarray(values, dtype=np.float32).ravel()]


# Sample.extra keys that have their own column; everything else goes to source_extra.
FLAG_KEYS = ("neutral_by_convention", "landmarks_error", "votes")
MAX_EXTRA_CHARS = 4096


def reader_flags(s: Sample) -> dict[str, Any]:
    """What a reader noted about a sample, as row columns: nothing it says is dropped."""
    extra = dict(s.extra or {})
    convention = bool(extra.pop("neutral_by_convention", False))
    error = extra.pop("landmarks_error", None)
    extra.pop("votes", None)  # the expression_votes column holds them
    text = json.dumps(extra, sort_keys=True, default=str) if extra else None
    if text is not None and len(text) > MAX_EXTRA_CHARS:  # bounded: readers parse hostile files
        text = json.dumps({"truncated": text[:MAX_EXTRA_CHARS]})
    return {
        "label_by_convention": convention,
        "source_bbox": _floats(s.bbox),
        "landmarks_error": None if error is None else str(error)[:500],
        "source_extra": text,
    }


def process_item(item: Item, settings: WorkSettings) -> dict | Failed:
    from facedata.faces import process_face
    from facedata.faces.decode import decode_pixels

    s = item.sample
    where = s.image.describe()
    # only detected faces may be decoded reduced: dataset landmarks are in full pixels
    detected = item.face.align == "detect" and not item.face.precropped
    draft = settings.decode_side if detected else None
    try:
        # CSV pixels go straight to an image: no encode/decode round trip
        raw = s.image.to_pil() if isinstance(s.image, PixelImage) else s.image.read_bytes()
        decoded = decode_pixels(raw, draft_side=draft)
    except InputsLostError:
        raise  # the store is gone: not this row's failure, the build stops
    except FacedataError as exc:
        reason = getattr(exc, "reason", None) or "undecodable image"
        return Failed(where, reason, exc.message, s.dataset)
    except (OSError, ValueError) as exc:
        return Failed(where, "unreadable image", str(exc), s.dataset)
    # the pixels as one array, for the hash and the warp or resize: the JPEG decoder's
    # own, or one copy out of Pillow; a PIL image of the photo only where a step needs it
    pixels = decoded.pixels()
    mode, (width, height) = decoded.mode, decoded.size
    sha = _sha256(mode, width, height, decoded.image().tobytes() if pixels is None else pixels)
    needs_detector = item.face.align == "detect" or (
        item.face.align == "landmarks" and not s.landmarks
    )
    detector = _detector(settings) if needs_detector else None
    try:
        face = process_face(
            decoded.image() if decoded.has_image or pixels is None else pixels,
            item.face,
            s.landmarks,
            detector,
            size=settings.size,
            keep_gray=True,  # a grey face is warped and hashed grey, then converted once
            detect_side=settings.detect_side,
            pixels=pixels,
        ).scaled(decoded.factor)
    except FacedataError as exc:
        reason = getattr(exc, "reason", None) or "alignment failed"
        return Failed(where, reason, exc.message, s.dataset)
    status = face.align_status
    if face.image is None:
        if not settings.keep_unaligned:
            return Failed(where, f"face: {face.align_status}", "", s.dataset)
        whole = decoded.image().resize((settings.size, settings.size))
        aligned, status = whole, "whole_frame"
        crop = None
    else:
        aligned, crop = face.image, face.pixels
    phash = phash64(aligned)
    pose = s.pose or (None, None, None)
    flags = reader_flags(s)
    return {
        "image": {
            "bytes": encode(aligned, settings.image_format, settings.image_mode, crop),
            "path": f"{s.key}",
        },
        "smile": item.labels.get("smile"),
        "expression": item.labels.get("expression"),
        "expression_votes": item.labels.get("expression_votes"),
        "smile_derived": bool(item.labels.get("smile_derived", False)),
        **flags,
        "source_label": item.labels.get("source_label"),
        "dataset": s.dataset,
        "key": s.key,
        "split": s.split,
        "subject_id": s.subject_id,
        "bbox": _floats(face.box),
        "landmarks": _floats(face.landmarks),
        "detector": face.detector,
        "det_score": None if face.score is None else float(face.score),
        "align_status": status,
        "yaw": pose[0],
        "pitch": pose[1],
        "roll": pose[2],
        "valence": s.valence,
        "arousal": s.arousal,
        "merged_from": None,
        "label_conflict": None,
        "sha256": sha,
        "phash": phash,
        **item.meta,
        "_weights_sha256": face.weights_sha256,
    }
