"""The build's decode (OpenCV for plain JPEGs, arrays end to end) against Pillow's.

Every corpus column is a function of the decoded pixels (pixel hash, perceptual hash,
the aligned JPEG), so the faster path must give Pillow's pixels exactly, on real
faces, for every kind of file; and the array-only alignment the same crop as the
PIL one.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from facedata.assemble.worker import encode
from facedata.faces import ImageRefused, process_face
from facedata.faces import decode as decode_module
from facedata.faces.align import warp
from facedata.faces.decode import Decoded, decode_pixels
from facedata.manifest.schema import FaceSpec
from tests.helpers import photos

from .conftest import ASTRONAUT_5


def _bytes(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


def _pillow_only(data: bytes, monkeypatch: pytest.MonkeyPatch) -> Decoded:
    """The same decode with OpenCV's JPEG path switched off: Pillow decodes."""
    with monkeypatch.context() as m:
        m.setattr(decode_module, "_opencv_jpeg", lambda img, data: None)
        return decode_pixels(data)


def _real_faces() -> list[Image.Image]:
    return [
        *photos.faces(),
        *(photos.face_variant(i, (178, 218)) for i in range(6)),
        *(photos.lfw_face(i, (101, 99)) for i in range(6)),
    ]


def _exif(orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return exif.tobytes()


JPEG_VARIANTS: list[tuple[str, dict]] = [
    ("RGB", {"quality": 95}),
    ("RGB", {"quality": 75, "subsampling": 0}),
    ("RGB", {"quality": 90, "subsampling": 1}),
    ("RGB", {"quality": 50, "subsampling": 2}),
    ("RGB", {"quality": 90, "progressive": True}),
    ("RGB", {"quality": 85, "optimize": True}),
    ("L", {"quality": 95}),
    ("L", {"quality": 80, "progressive": True}),
    ("CMYK", {"quality": 95}),
    ("RGB", {"quality": 95, "exif": _exif(6)}),  # sideways: Pillow turns it upright
    ("RGB", {"quality": 95, "exif": _exif(1)}),
]


@pytest.mark.parametrize(("mode", "options"), JPEG_VARIANTS)
def test_jpeg_pixels_are_pillows(mode: str, options: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    for face in _real_faces():
        data = _bytes(face.convert(mode), "JPEG", **options)
        ours, theirs = decode_pixels(data), _pillow_only(data, monkeypatch)
        assert ours.mode == theirs.mode and ours.size == theirs.size
        assert np.array_equal(ours.pixels(), theirs.pixels())
        assert ours.image().tobytes() == theirs.image().tobytes()


def test_plain_jpegs_take_the_opencv_path_and_others_do_not() -> None:
    """Where both libraries decode with libjpeg-turbo (they do in this environment's
    wheels), a plain JPEG never becomes a PIL image unless asked."""
    assert decode_module._jpeg_opencv() is not None
    face = photos.astronaut()
    assert not decode_pixels(_bytes(face, "JPEG", quality=95)).has_image
    assert not decode_pixels(_bytes(face.convert("L"), "JPEG")).has_image
    for data in (
        _bytes(face.convert("CMYK"), "JPEG"),
        _bytes(face, "JPEG", exif=_exif(3)),
        _bytes(face, "PNG"),
    ):
        assert decode_pixels(data).has_image


@pytest.mark.parametrize(
    "make",
    [
        lambda f: _bytes(f.convert("RGBA"), "PNG"),
        lambda f: _bytes(f.quantize(64), "PNG"),
        lambda f: _bytes(f.convert("L").convert("P"), "PNG"),
        lambda f: _bytes(Image.fromarray(np.asarray(f.convert("L"), dtype=np.uint16) * 257), "PNG"),
        lambda f: _bytes(f, "WEBP", quality=90),
    ],
    ids=["RGBA", "P colour", "P grey", "16-bit grey", "WebP"],
)
def test_other_formats_unchanged(make, monkeypatch: pytest.MonkeyPatch) -> None:
    for face in _real_faces()[:4]:
        data = make(face)
        ours, theirs = decode_pixels(data), _pillow_only(data, monkeypatch)
        assert ours.mode == theirs.mode
        assert ours.image().tobytes() == theirs.image().tobytes()
        assert np.array_equal(ours.pixels(), np.asarray(theirs.image()))


def test_damaged_jpegs_are_refused_or_decoded_as_pillow_does(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = _bytes(photos.astronaut(), "JPEG", quality=90)
    with pytest.raises(ImageRefused) as err:
        decode_pixels(data[: len(data) // 2])  # no end marker: Pillow's refusal
    assert err.value.reason == "truncated"
    scrambled = bytearray(data)
    scrambled[len(data) // 2 : len(data) // 2 + 64] = bytes(64)  # damage, end intact
    outcomes = []
    for decode in (decode_pixels, lambda d: _pillow_only(d, monkeypatch)):
        try:
            outcomes.append(decode(bytes(scrambled)).image().tobytes())
        except ImageRefused as exc:
            outcomes.append(exc.reason)
    assert outcomes[0] == outcomes[1]


@pytest.mark.parametrize("mode", ["RGB", "L"])
@pytest.mark.parametrize("keep_gray", [True, False])
def test_alignment_from_the_array_is_the_images(mode: str, keep_gray: bool) -> None:
    img = photos.astronaut().convert(mode)
    pixels = np.asarray(img)
    spec = FaceSpec(align="landmarks")
    five = ASTRONAUT_5.ravel().tolist()
    from_image = process_face(img, spec, five, None, keep_gray=keep_gray)
    from_array = process_face(pixels, spec, five, None, keep_gray=keep_gray)
    assert from_array.image.mode == from_image.image.mode
    assert from_array.image.tobytes() == from_image.image.tobytes()
    assert np.array_equal(from_array.pixels, np.asarray(from_image.image))
    assert from_array.landmarks == from_image.landmarks
    assert np.array_equal(from_array.transform, from_image.transform)
    # as before arrays: Pillow's conversion to the crop's mode, then the warp
    want = "L" if mode == "L" and keep_gray else "RGB"
    before = warp(img.convert(want), from_image.transform, 112)
    assert from_array.image.tobytes() == before.tobytes()
    # the crop's array encodes to the same file as the crop
    for fmt in ("jpeg", "png"):
        assert encode(from_array.image, fmt, "RGB", from_array.pixels) == encode(
            from_image.image, fmt, "RGB"
        )


def test_precropped_from_the_array_is_the_images() -> None:
    for size in ((48, 48), (300, 300)):  # enlarged by OpenCV, shrunk by Pillow
        img = photos.lfw_face(3, size, "L")
        spec = FaceSpec(align="precropped")
        a = process_face(np.asarray(img), spec, None, None)
        b = process_face(img, spec, None, None)
        assert a.image.tobytes() == b.image.tobytes() and a.box == b.box
        if a.pixels is not None:
            assert np.array_equal(a.pixels, np.asarray(a.image))
