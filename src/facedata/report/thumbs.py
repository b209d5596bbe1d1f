"""Sample images as data URIs, so the report opens offline and from an e-mail.

The corpus stores small aligned faces already encoded, so most are embedded as they
are. Anything else (a large face, an odd format) is decoded with a pixel limit and
re-encoded small; what cannot be decoded becomes None and the grid says so, rather
than showing a browser's broken-image icon.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass

from PIL import Image

THUMB_SIDE = 160
MAX_EMBED_BYTES = 64_000
MAX_PIXELS = 40_000_000  # refuse decompression bombs before decoding
_MIME = {"JPEG": "image/jpeg", "PNG": "image/png"}


@dataclass(frozen=True)
class Thumb:
    uri: str | None  # None: the stored bytes could not be decoded
    dataset: str
    split: str
    key: str
    align: str = ""  # how the face was found, as align_label names it


def _uri(mime: str, data: bytes) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def to_data_uri(data: bytes | None) -> str | None:
    if not data:
        return None
    try:
        with Image.open(io.BytesIO(data)) as img:
            if img.width * img.height > MAX_PIXELS:
                return None
            img.load()  # a truncated file fails here, not in the reader's browser
            fmt = img.format or ""
            if fmt in _MIME and max(img.size) <= THUMB_SIDE and len(data) <= MAX_EMBED_BYTES:
                return _uri(_MIME[fmt], data)
            small = img.convert("L" if img.mode in ("L", "I;16", "I", "1") else "RGB")
            small.thumbnail((THUMB_SIDE, THUMB_SIDE))
            out = io.BytesIO()
            small.save(out, "JPEG", quality=88)
            return _uri("image/jpeg", out.getvalue())
    except (OSError, ValueError, Image.DecompressionBombError, SyntaxError):
        return None
