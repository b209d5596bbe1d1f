"""Sample images as data URIs, so the report opens offline and from an e-mail.

The corpus stores small aligned faces already encoded, so most are embedded as they
are. Anything else (a large face, an odd format) is decoded with a pixel limit and
re-encoded small; what cannot be decoded becomes None and the grid says so, rather
than showing a browser's broken-image icon.

A report is shown to people outside the team, so a face of the team's own participants
is rendered only with `publication` consent in the register, as it reads on the day the
report is written (a later withdrawal of that scope hides the face at the next report).
A register that cannot be read shows no face of that dataset: doubt means "no".
"""

from __future__ import annotations

import base64
import datetime as dt
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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
    subject: str | None = None
    hidden: bool = False  # not rendered: no publication consent


@dataclass
class Publication:
    """Which faces may be rendered: per dataset with a consent register, its register."""

    registers: dict[str, Any] = field(default_factory=dict)  # dataset -> register or None
    on: dt.date = field(default_factory=lambda: dt.datetime.now(dt.UTC).date())

    @classmethod
    def of(cls, meta: dict[str, Any]) -> Publication:
        from ..consent import load_register
        from ..errors import FacedataError

        out = cls()
        consent = meta.get("consent") if isinstance(meta.get("consent"), dict) else {}
        for record in meta.get("datasets") or []:
            if not isinstance(record, dict) or record.get("id") not in consent:
                continue
            origin = next(
                (
                    i.get("origin")
                    for i in record.get("inputs") or []
                    if isinstance(i, dict) and i.get("role") == "consent register"
                ),
                None,
            )
            try:
                out.registers[record["id"]] = load_register(Path(origin)) if origin else None
            except (FacedataError, OSError):
                out.registers[record["id"]] = None  # unreadable: no face is shown
        return out

    def may_render(self, dataset: str, subject: str | None) -> bool:
        if dataset not in self.registers:
            return True  # not the team's participants: the dataset's license decides
        register = self.registers[dataset]
        return register is not None and register.may_publish(subject, self.on)

    def apply(self, thumbs: list[Thumb]) -> list[Thumb]:
        """The thumbs, with every face that may not be rendered replaced by a placeholder."""
        from dataclasses import replace

        return [
            t if self.may_render(t.dataset, t.subject) else replace(t, uri=None, hidden=True)
            for t in thumbs
        ]


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
