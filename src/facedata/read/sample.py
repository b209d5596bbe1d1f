"""What a reader yields: one face image with the source's own annotations.

Images are lazy references (a path, a member of an archive, or raw pixels from a CSV
row) so that a reader can stream millions of rows without decoding anything, and so
that samples pickle cheaply to worker processes.
"""

from __future__ import annotations

import io
import warnings
import zipfile
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from PIL import Image

from facedata.errors import ImageError

MAX_IMAGE_BYTES = 256 * 1024 * 1024

_D = TypeVar("_D")


def pickled_as_call(cls: type[_D]) -> type[_D]:
    """Pickle a dataclass as its constructor call with its fields in order.

    Every sample crosses to a worker process in a pickle. The default for a slotted or
    frozen dataclass restores each field with a separate attribute call on load
    (frozen ones through Python-level code): a chunk of 256 FER items loaded in
    2.1 ms that way, and loads in 0.6 ms as constructor calls.
    """
    names = tuple(f.name for f in fields(cls))  # type: ignore[arg-type]

    def __reduce__(self: Any) -> tuple[type, tuple[Any, ...]]:
        return cls, tuple(getattr(self, n) for n in names)

    cls.__reduce__ = __reduce__  # type: ignore[assignment,method-assign]
    return cls


@pickled_as_call
@dataclass(frozen=True, slots=True)
class FileImage:
    """An image file on disk."""

    path: Path

    def read_bytes(self) -> bytes:
        from facedata.files.confine import (
            read_regular,  # regular files only: a FIFO would hang a worker
        )

        data = read_regular(Path(self.path), MAX_IMAGE_BYTES)
        if len(data) > MAX_IMAGE_BYTES:
            from facedata.errors import ImageError

            raise ImageError(
                f"{self.path} is over {MAX_IMAGE_BYTES:,} bytes: not a face photo",
                hint="the file is refused; check the dataset's contents",
            )
        return data

    def describe(self) -> str:
        return str(self.path)


@pickled_as_call
@dataclass(frozen=True, slots=True)
class ZipMemberImage:
    """An image inside a zip archive, read without unpacking it."""

    archive: Path
    member: str

    def read_bytes(self) -> bytes:
        with zipfile.ZipFile(self.archive) as zf:
            return zf.read(self.member)

    def describe(self) -> str:
        return f"{self.archive}!{self.member}"


@pickled_as_call
@dataclass(frozen=True, slots=True)
class ObjectImage:
    """An image file of a tree in the fetch cache on object storage, read by the worker.

    `store` is the cache's address (its URL and endpoint, never a credential: each
    node finds its own in the usual places), `key` the object's key under it. The bytes
    are checked against `size` and `sha256`; anything else is an unreadable image
    named by `relpath`, never a traceback. The driver holds only a placeholder.
    """

    store: str
    key: str
    size: int
    sha256: str
    relpath: str

    def read_bytes(self) -> bytes:
        from facedata.storage.objects import read_object

        return read_object(self.store, self.key, self.size, self.sha256, self.describe())

    def describe(self) -> str:
        return f"{self.store.partition('?')[0]}:{self.relpath}"


@pickled_as_call
@dataclass(frozen=True, slots=True)
class ObjectZipMemberImage:
    """A member of a zip archive kept in the fetch cache on object storage: the worker
    copies the archive once into its node's own object folder (verified), then reads
    the member from there."""

    store: str
    key: str
    size: int
    sha256: str
    relpath: str
    member: str

    def read_bytes(self) -> bytes:
        from facedata.storage.objects import read_member

        return read_member(
            self.store, self.key, self.size, self.sha256, self.member, self.describe()
        )

    def describe(self) -> str:
        return f"{self.store.partition('?')[0]}:{self.relpath}!{self.member}"


class BadPixels(ImageError):
    """Pixel text that is not width x height values in 0..255; `reason` is countable."""

    reason = "bad pixels"

    def __init__(self, message: str) -> None:
        super().__init__(message, "the row's pixels are unusable; the row is skipped")


# older numpy warns on a bad token (the size check below catches it): filtered once
# here, not with catch_warnings per row, which costs a tenth of the parse
warnings.filterwarnings(
    "ignore", message="string or file could not be read", category=DeprecationWarning
)


_PLAIN = b"0123456789 "


def _parse_plain(text: str, n: int) -> bytes | None:
    """The pixels of text that is n runs of ASCII digits, one space apart, all <= 255;
    None for anything else (the careful path below decides).

    Parsing this text is about a quarter of a grey row's work: OpenCV's plain-PGM
    reader takes 20 µs for a FER2013 row, numpy's text parser 36. The checks first
    make sure the reader sees exactly n numbers and nothing it would skip (comments,
    signs, other whitespace); a value over 255 comes back over 255 (the 16-bit reader
    clips at 65535), so it is refused, never wrapped.
    """
    try:
        raw = text.encode("ascii")
    except UnicodeEncodeError:
        return None
    if raw.count(b" ") != n - 1 or raw.translate(None, _PLAIN):
        return None
    from facedata.opencv import opencv

    cv2 = opencv()
    pgm = np.frombuffer(b"P2 %d 1 65535\n%s\n" % (n, raw), dtype=np.uint8)
    values = cv2.imdecode(pgm, cv2.IMREAD_UNCHANGED)
    if values is None or values.dtype != np.uint16 or values.size != n or values.max() > 255:
        return None  # e.g. an empty run ("1  2"): fewer numbers than n
    return values.astype(np.uint8).tobytes()


def parse_pixels(text: str, n: int) -> bytes | str:
    """The row's pixels as bytes, or a reason they are unusable."""
    plain = _parse_plain(text, n)
    return plain if plain is not None else _parse_careful(text, n)


def _parse_careful(text: str, n: int) -> bytes | str:
    try:
        fast = np.fromstring(text, dtype=np.int64, sep=" ")  # C parser: 4x split()
    except ValueError:
        fast = np.empty(0, dtype=np.int64)
    if fast.size == n and fast.min() >= 0 and fast.max() <= 255:
        return fast.astype(np.uint8).tobytes()
    tokens = text.split()  # the slow path only to say precisely what is wrong
    if len(tokens) != n:
        return f"expected {n} pixel values, got {len(tokens)}"
    try:
        arr = np.array(tokens, dtype=np.int64)
    except OverflowError:
        return "pixel value outside 0..255"
    except ValueError:
        return "pixel value is not an integer"
    if arr.min() < 0 or arr.max() > 255:
        return "pixel value outside 0..255"
    return arr.astype(np.uint8).tobytes()


@pickled_as_call
@dataclass(frozen=True, slots=True)
class PixelImage:
    """Raw 8-bit pixels (e.g. a FER2013 CSV row), row-major, mode 'L' or 'RGB'.

    `pixels` is bytes, or the row's pixel text still to be parsed (a build defers
    parsing to its workers); unusable text fails in `to_pil` with reason "bad pixels".
    """

    pixels: bytes | str
    width: int
    height: int
    mode: str = "L"
    origin: str = ""

    def read_bytes(self) -> bytes:
        buf = io.BytesIO()
        self.to_pil().save(buf, format="PNG")
        return buf.getvalue()

    def to_pil(self) -> Image.Image:
        channels = len(self.mode)
        pixels = self.pixels
        if isinstance(pixels, str):
            pixels = parse_pixels(pixels, self.width * self.height * channels)
            if isinstance(pixels, str):
                raise BadPixels(f"{self.describe()}: {pixels}")
        if len(pixels) != self.width * self.height * channels:
            raise BadPixels(
                f"{self.describe()}: expected {self.width * self.height * channels} pixel "
                f"values, got {len(pixels)}"
            )
        return Image.frombytes(self.mode, (self.width, self.height), pixels)

    def describe(self) -> str:
        return self.origin or f"<{self.width}x{self.height} {self.mode} pixels>"


@pickled_as_call
@dataclass(frozen=True, slots=True)
class BytesImage:
    """An encoded image held in memory: a Parquet cell (`image.bytes`) read by row group.

    The reader streams one row group at a time, so only the rows on their way to a
    worker are held; `where` names the file and row for messages.
    """

    data: bytes
    where: str

    def read_bytes(self) -> bytes:
        if len(self.data) > MAX_IMAGE_BYTES:
            raise ImageError(
                f"{self.where} is over {MAX_IMAGE_BYTES:,} bytes: not a face photo",
                hint="the row is refused; check the dataset's contents",
            )
        return self.data

    def describe(self) -> str:
        return self.where


ImageRef = FileImage | ZipMemberImage | PixelImage | BytesImage | ObjectImage | ObjectZipMemberImage


@pickled_as_call
@dataclass(slots=True)
class Sample:
    """One face image as the source describes it, before any remapping.

    `codes` holds the source's own label per head, verbatim as on disk (e.g.
    {"expression": "3"} for FER2013, {"smile": "-1"} for CelebA). The remap in
    labels.py turns them into the unified heads using the manifest.
    """

    dataset: str
    key: str  # unique within (dataset, source): relative path or row id
    image: ImageRef
    codes: dict[str, str] = field(default_factory=dict)
    split: str | None = None  # the source's own split, normalised to train/validation/test
    subject_id: str | None = None
    landmarks: list[float] | None = None  # flat x,y pairs in original image coords (5 or 68)
    bbox: list[float] | None = None  # x, y, w, h in original image coords
    pose: tuple[float, float, float] | None = None  # yaw, pitch, roll (radians)
    valence: float | None = None
    arousal: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    where: str = ""  # file:line (or path) of the label row, so a later drop can point at it


@dataclass(frozen=True, slots=True)
class Drop:
    """A sample (or row) a reader or the remap left out, and why. Never silent."""

    dataset: str
    reason: str  # short, countable: "unmapped code", "conflicting duplicate", ...
    where: str  # file:line or path, so a person can look
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Note:
    """What a build must say once about a source rather than per row.

    kind "file_set": which alternative set of files the reader used (provenance);
    kind "degraded": what the reader cannot give because the delivery lacks a part
    (no landmarks: faces are detected; no identities: no subject-disjoint split);
    kind "count": how many entries the reader will yield (text: an integer), as soon
    as it knows, so a build's ETA uses the real count instead of the manifest's guess;
    kind "read_whole": a build read a file on the driver that it reads in ranges by
    the workers as a rule, and why (read/registry.py `Uncut`).
    """

    dataset: str
    kind: str
    text: str
