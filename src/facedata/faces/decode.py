"""Image bytes to a clean 8-bit PIL image, or a refusal with a countable reason.

Datasets scraped from the web contain every kind of file: truncated JPEGs, CMYK
scans, 16-bit PNGs, palette GIFs, phone photos stored sideways with an EXIF flag,
and the occasional decompression bomb. The build counts refusals by `reason`, so
reasons are short fixed strings, and the pixel limit is checked from the header
before any pixel is decoded: Pillow's own check only warns below twice its limit.
"""

from __future__ import annotations

import io
import warnings
from functools import lru_cache
from typing import Any

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from facedata.errors import ImageError

MAX_PIXELS = 64_000_000  # ~8000x8000: far above any face photo, far below a bomb
MIN_SIDE = 8  # nothing smaller can hold a face worth aligning
_MAGIC = (b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"BM", b"RIFF", b"II*\0", b"MM\0*")


class ImageRefused(ImageError):
    """An image that cannot become a face sample; `reason` is short and countable."""

    def __init__(self, reason: str, message: str, hint: str | None = None) -> None:
        super().__init__(message, hint)
        self.reason = reason


def decode_image(
    data: bytes | bytearray | memoryview | Image.Image,
    *,
    max_pixels: int = MAX_PIXELS,
    min_side: int = MIN_SIDE,
) -> Image.Image:
    """Decode to mode 'RGB' or 'L' (grey sources stay grey), upright per EXIF."""
    return decode_scaled(data, max_pixels=max_pixels, min_side=min_side)[0]


def decode_scaled(
    data: bytes | bytearray | memoryview | Image.Image,
    *,
    max_pixels: int = MAX_PIXELS,
    min_side: int = MIN_SIDE,
    draft_side: int | None = None,
) -> tuple[Image.Image, float]:
    """Like decode_image, but a JPEG at least twice `draft_side` (longest side) is
    decoded reduced by 1/2, 1/4 or 1/8 while its longest side stays >= draft_side.

    The JPEG decoder scales in the DCT domain (Pillow's draft mode), several times
    faster than decoding a 12-megapixel phone photo in full to throw most of it
    away. Returns (image, factor): source pixels per decoded pixel, 1.0 when not
    reduced, so coordinates can be reported in the source file's pixels.
    """
    decoded = decode_pixels(data, max_pixels=max_pixels, min_side=min_side, draft_side=draft_side)
    return decoded.image(), decoded.factor


class Decoded:
    """A decoded image as an array, a PIL image, or both: each made when first asked for.

    OpenCV decodes into an array, and an aligned row never needs more (the hash and
    the warp read the array); making a PIL image of a CelebA-sized photo would copy
    it once more (about a tenth of the decode), so that happens only for a caller
    that asks (detection, a shrinking resize).
    """

    __slots__ = ("_image", "_pixels", "factor", "mode", "size")

    def __init__(
        self, image: Image.Image | None, pixels: np.ndarray | None, factor: float = 1.0
    ) -> None:
        self._image, self._pixels, self.factor = image, pixels, factor
        if image is not None:
            self.mode, self.size = image.mode, image.size
        else:
            assert pixels is not None
            self.mode = "L" if pixels.ndim == 2 else "RGB"
            self.size = (int(pixels.shape[1]), int(pixels.shape[0]))

    def image(self) -> Image.Image:
        """The PIL image: mode RGB or L, upright."""
        if self._image is None:
            self._image = Image.fromarray(self._pixels, self.mode)
        return self._image

    @property
    def has_image(self) -> bool:
        """Whether the PIL image exists already (then passing it costs nothing)."""
        return self._image is not None

    def pixels(self) -> np.ndarray | None:
        """np.asarray(image()) for an RGB or L image (None for no other mode: `_to_8bit`
        leaves none)."""
        if self._pixels is None and self.mode in ("RGB", "L"):
            self._pixels = np.asarray(self.image())
        return self._pixels


def decode_pixels(
    data: bytes | bytearray | memoryview | Image.Image,
    *,
    max_pixels: int = MAX_PIXELS,
    min_side: int = MIN_SIDE,
    draft_side: int | None = None,
) -> Decoded:
    """decode_scaled, as a `Decoded`: the pixels as an array, and the PIL image only
    when asked for.

    A complete baseline or progressive JPEG in RGB or grey, upright as stored and
    decoded at full size, goes through OpenCV's decoder (see `_opencv_jpeg`): the same
    libjpeg-turbo, so the same pixels, in an array from the start instead of one
    copied out of Pillow's image, and without Pillow's load machinery around the
    decoder: a CelebA-sized photo decodes in about four fifths of the time.
    """
    if isinstance(data, Image.Image):
        img = data
        _check_size(img, max_pixels, min_side)
        factor = 1.0
    else:
        raw = bytes(data)
        img, factor = _open(raw, max_pixels, min_side, draft_side, lazy=True)
        pixels = _opencv_jpeg(img, raw) if factor == 1.0 else None
        if pixels is not None:
            return Decoded(None, pixels)
        _load(img)
    return Decoded(_to_8bit(_upright(img)), None, factor)


# the OpenCV flag that decodes a JPEG Pillow opens in this mode into the same array
_CV_JPEG_MODES = {"RGB": "IMREAD_COLOR_RGB", "L": "IMREAD_GRAYSCALE"}
_EOI = b"\xff\xd9"


def _opencv_jpeg(img: Image.Image, data: bytes) -> np.ndarray | None:
    """The JPEG's pixels decoded by OpenCV, where that is provably what Pillow decodes;
    None means: let Pillow decode it.

    Only a file Pillow reads as plain RGB or grey (no Adobe marker: CMYK, YCCK and
    Adobe's colour transforms stay with Pillow), upright (EXIF orientation 1 or
    none: OpenCV would rotate by itself otherwise), and complete (ending at its EOI
    marker: Pillow refuses a truncated file where OpenCV fills it with grey), and
    only where both libraries decode with libjpeg-turbo and agree on a set of test
    images when first used in the process (`_same_jpeg_decoder`).
    """
    flag_name = _CV_JPEG_MODES.get(img.mode)
    if (
        flag_name is None
        or img.format != "JPEG"
        or "adobe" in img.info
        or not data.endswith(_EOI)
        or _orientation(img) != 1  # EXIF or XMP (Pillow reads both)
    ):
        return None
    cv2 = _jpeg_opencv()
    if cv2 is None:
        return None
    flags = getattr(cv2, flag_name) | cv2.IMREAD_IGNORE_ORIENTATION
    try:
        pixels = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), flags)
    except Exception:  # cv2.error: Pillow decides what is wrong with the file
        return None
    shape = (img.height, img.width) + ((3,) if img.mode == "RGB" else ())
    if pixels is None or pixels.shape != shape or pixels.dtype != np.uint8:
        return None
    return pixels


@lru_cache(maxsize=1)
def _jpeg_opencv() -> Any:
    """OpenCV for JPEG decoding, or None where its decoder may differ from Pillow's."""
    from PIL import features

    from facedata.opencv import opencv

    try:
        cv2 = opencv()
    except ImportError:
        return None
    if not hasattr(cv2, "IMREAD_COLOR_RGB") or not features.check_feature("libjpeg_turbo"):
        return None
    if "libjpeg-turbo" not in cv2.getBuildInformation():
        return None
    return cv2 if _same_jpeg_decoder(cv2) else None


def _same_jpeg_decoder(cv2: Any) -> bool:
    """Pillow and OpenCV decode the same pixels from JPEGs of every chroma layout
    (4:4:4, 4:2:2, 4:2:0, progressive, grey) and odd sizes: checked once per process,
    about a millisecond."""
    rng = np.random.default_rng(0)
    ramp = np.add.outer(np.arange(29), np.arange(37)).astype(np.float64) * 3
    noise = rng.integers(0, 60, (29, 37, 3))
    rgb = np.clip(ramp[..., None] + noise, 0, 255).astype(np.uint8)
    cases: list[tuple[str, dict[str, Any]]] = [
        ("RGB", {"subsampling": 0}),
        ("RGB", {"subsampling": 1}),
        ("RGB", {"subsampling": 2, "quality": 95}),
        ("RGB", {"progressive": True}),
        ("L", {}),
    ]
    for mode, options in cases:
        buf = io.BytesIO()
        Image.fromarray(rgb).convert(mode).save(buf, format="JPEG", **options)
        data = buf.getvalue()
        flags = getattr(cv2, _CV_JPEG_MODES[mode]) | cv2.IMREAD_IGNORE_ORIENTATION
        ours = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), flags)
        theirs = np.asarray(Image.open(io.BytesIO(data)))
        if ours is None or ours.shape != theirs.shape or not np.array_equal(ours, theirs):
            return False
    return True


def _draft(img: Image.Image, side: int | None) -> float:
    """Ask the JPEG decoder for a reduced scale; the factor it chose (1.0: none)."""
    w, h = img.size
    if not side or img.format != "JPEG" or max(w, h) < 2 * side:
        return 1.0
    ratio = side / max(w, h)
    try:
        img.draft(None, (max(1, int(w * ratio + 0.999)), max(1, int(h * ratio + 0.999))))
    except (OSError, ValueError):
        return 1.0
    return w / img.size[0] if img.size[0] else 1.0


def _open(
    data: bytes,
    max_pixels: int,
    min_side: int,
    draft_side: int | None = None,
    *,
    lazy: bool = False,
) -> tuple[Image.Image, float]:
    """The image opened from its header, checked for size, and decoded (`lazy`: not
    yet; the caller decodes, with `_load` or otherwise)."""
    if not data:
        raise ImageRefused("empty file", "the image file is empty (0 bytes)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageRefused("decompression bomb", f"image refused: {exc}") from exc
    except UnidentifiedImageError as exc:
        if data.startswith(_MAGIC):
            # A known format's signature that Pillow rejects: a broken file (for
            # example a PNG header claiming zero width), not some other file type.
            raise ImageRefused("corrupt", f"the image header is broken: {exc}") from exc
        raise ImageRefused(
            "not an image", "the bytes are not an image format Pillow knows"
        ) from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageRefused("corrupt", f"the image header is broken: {exc}") from exc
    _check_size(img, max_pixels, min_side)
    factor = _draft(img, draft_side)
    if not lazy:
        _load(img)
    return img, factor


def _load(img: Image.Image) -> None:
    """Decode the pixels of an opened image, or refuse it with a countable reason."""
    try:
        img.load()
    except OSError as exc:
        text = str(exc)
        reason = "truncated" if "truncated" in text or "broken data stream" in text else "corrupt"
        raise ImageRefused(reason, f"the image cannot be decoded: {text}") from exc
    except (SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise ImageRefused("corrupt", f"the image cannot be decoded: {exc}") from exc


def _check_size(img: Image.Image, max_pixels: int, min_side: int) -> None:
    w, h = img.size
    if w <= 0 or h <= 0:
        raise ImageRefused("zero size", f"the image is {w}x{h} pixels")
    if w * h > max_pixels:
        raise ImageRefused(
            "decompression bomb",
            f"the image claims {w}x{h} = {w * h:,} pixels, over the limit of {max_pixels:,}",
            hint="a real face photo is far smaller; raise max_pixels only for a file you trust",
        )
    if min(w, h) < min_side:
        raise ImageRefused("too small", f"the image is {w}x{h}, under {min_side} px a side")


def _upright(img: Image.Image) -> Image.Image:
    """Apply the EXIF orientation, so landmarks and boxes refer to what people see."""
    orientation = _orientation(img)
    if orientation in (None, 1):
        return img
    try:
        return ImageOps.exif_transpose(img) or img
    except Exception:
        return img


def _orientation(img: Image.Image) -> int | None:
    """The EXIF orientation (1: upright as stored); None for a broken EXIF block."""
    try:
        value = img.getexif().get(0x0112, 1)
    except Exception:  # a broken EXIF block must not lose an otherwise fine image
        return None
    return 1 if value is None else value


def _to_8bit(img: Image.Image) -> Image.Image:
    mode = img.mode
    if mode in ("RGB", "L"):
        return img
    if mode == "1":
        return img.convert("L")
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        return _wide_grey(img)
    if mode == "P":
        if "transparency" in img.info:
            return _to_8bit(img.convert("RGBA"))
        palette = img.getpalette() or []
        rgb = np.asarray(palette[: len(palette) - len(palette) % 3]).reshape(-1, 3)
        grey = rgb.size and bool((rgb[:, 0] == rgb[:, 1]).all() and (rgb[:, 1] == rgb[:, 2]).all())
        return img.convert("L" if grey else "RGB")
    if mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        # Transparent areas become black, like the border of an aligned face.
        base = "L" if mode.startswith("L") else "RGB"
        img = img.convert("LA" if base == "L" else "RGBA")
        canvas = Image.new(base, img.size, 0)
        canvas.paste(img.convert(base), mask=img.getchannel("A"))
        return canvas
    # CMYK, YCbCr, LAB, HSV: Pillow knows the conversion (CMYK JPEGs are inverted
    # by its decoder where the Adobe marker says so).
    return img.convert("RGB")


def _wide_grey(img: Image.Image) -> Image.Image:
    """16-bit or float grey to 8 bit, keeping the full range rather than clipping."""
    arr = np.asarray(img)
    if arr.dtype.kind == "f":
        top = 1.0 if float(np.nanmax(arr, initial=0.0)) <= 1.0 else 255.0
        out = np.nan_to_num(arr) / top * 255.0
    elif img.mode.startswith("I;16") or int(arr.max(initial=0)) > 255:
        out = arr.astype(np.float64) / 257.0
    else:
        out = arr
    return Image.fromarray(np.clip(np.rint(out), 0, 255).astype(np.uint8), mode="L")
