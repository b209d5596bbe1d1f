"""Every awkward file a scraped dataset holds: decoded cleanly or refused with a reason."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from facedata.errors import ImageError
from facedata.faces import ImageRefused, decode_image, process_face
from facedata.manifest.schema import FaceSpec
from tests.helpers import photos

from .conftest import ASTRONAUT_5


def _bytes(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


def _refused(data: bytes, **kw) -> ImageRefused:
    with pytest.raises(ImageRefused) as err:
        decode_image(data, **kw)
    assert isinstance(err.value, ImageError) and err.value.message
    return err.value


def _png_header(width: int, height: int) -> bytes:
    """A PNG whose header claims a size; the pixel data is a token few bytes."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\0" * 16))
        + chunk(b"IEND", b"")
    )


def test_empty_file() -> None:
    assert _refused(b"").reason == "empty file"


def test_not_an_image() -> None:
    assert _refused(b"<html>quota exceeded</html>" * 10).reason == "not an image"


def test_corrupt_body() -> None:
    data = bytearray(_bytes(photos.astronaut(), "PNG"))
    data[200:4000] = bytes(3800)  # zeroed compressed stream
    assert _refused(bytes(data)).reason in {"corrupt", "truncated"}


def test_truncated_jpeg() -> None:
    data = _bytes(photos.astronaut(), "JPEG", quality=90)
    assert _refused(data[: len(data) // 2]).reason == "truncated"


def test_zero_size() -> None:
    assert _refused(_png_header(0, 10)).reason == "corrupt"  # Pillow rejects the header
    with pytest.raises(ImageRefused) as err:
        decode_image(Image.new("RGB", (0, 10)))
    assert err.value.reason == "zero size"


def test_one_pixel() -> None:
    assert _refused(_bytes(Image.new("RGB", (1, 1)), "PNG")).reason == "too small"


def test_sixteen_bit_grey_keeps_its_range() -> None:
    arr = np.tile(np.linspace(0, 65535, 64).astype(np.uint16), (32, 1))
    img = decode_image(_bytes(Image.fromarray(arr), "PNG"))
    assert img.mode == "L" and img.size == (64, 32)
    out = np.asarray(img)
    assert out.min() == 0 and out.max() == 255 and np.all(np.diff(out[0].astype(int)) >= 0)


def test_cmyk_becomes_rgb() -> None:
    data = _bytes(photos.astronaut().convert("CMYK"), "JPEG", quality=95)
    img = decode_image(data)
    assert img.mode == "RGB"
    diff = np.abs(np.asarray(img, float) - np.asarray(photos.astronaut(), float)).mean()
    assert diff < 8


def test_palette_colour_and_grey() -> None:
    colour = decode_image(_bytes(photos.astronaut().quantize(64), "PNG"))
    assert colour.mode == "RGB"
    grey = decode_image(_bytes(photos.astronaut().convert("L").convert("P"), "PNG"))
    assert grey.mode == "L"
    clear = Image.new("P", (20, 20), 0)
    clear.putpalette([255, 0, 0, 0, 255, 0] + [0] * 762)
    clear.info["transparency"] = 0
    assert decode_image(_bytes(clear, "PNG", transparency=0)).getpixel((5, 5)) == (0, 0, 0)


def test_exif_rotated_photo_is_upright(detector) -> None:
    sideways = photos.astronaut().transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 clockwise to display"
    img = decode_image(_bytes(sideways, "JPEG", quality=95, exif=exif.tobytes()))
    assert img.size == photos.astronaut().size
    face = process_face(img, FaceSpec(), None, detector)
    assert face.align_status == "detected"
    assert np.abs(np.reshape(face.landmarks, (5, 2)) - ASTRONAUT_5).max() < 5


def test_decompression_bomb_from_header() -> None:
    # 9000 x 9000 is under Pillow's warning limit: our own limit must catch it
    assert _refused(_png_header(9000, 9000)).reason == "decompression bomb"
    # far beyond Pillow's limit, refused at open
    assert _refused(_png_header(30000, 30000)).reason == "decompression bomb"


def test_pixel_limit_is_a_setting() -> None:
    data = _bytes(photos.astronaut(), "PNG")
    assert _refused(data, max_pixels=100_000).reason == "decompression bomb"
    assert decode_image(data).size == (512, 512)


def test_bytes_through_the_pipeline_refuse_with_reason() -> None:
    with pytest.raises(ImageRefused) as err:
        process_face(b"\x89PNG broken", FaceSpec(), None, None)
    assert err.value.reason in {"corrupt", "not an image"}
