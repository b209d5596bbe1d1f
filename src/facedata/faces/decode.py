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
    if isinstance(data, Image.Image):
        img = data
        _check_size(img, max_pixels, min_side)
        factor = 1.0
    else:
        img, factor = _open(bytes(data), max_pixels, min_side, draft_side)
    img = _upright(img)
    return _to_8bit(img), factor


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
    data: bytes, max_pixels: int, min_side: int, draft_side: int | None = None
) -> tuple[Image.Image, float]:
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
    try:
        img.load()
    except OSError as exc:
        text = str(exc)
        reason = "truncated" if "truncated" in text or "broken data stream" in text else "corrupt"
        raise ImageRefused(reason, f"the image cannot be decoded: {text}") from exc
    except (SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise ImageRefused("corrupt", f"the image cannot be decoded: {exc}") from exc
    return img, factor


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
    try:
        orientation = img.getexif().get(0x0112, 1)
    except Exception:  # a broken EXIF block must not lose an otherwise fine image
        return img
    if orientation in (None, 1):
        return img
    try:
        return ImageOps.exif_transpose(img) or img
    except Exception:
        return img


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
