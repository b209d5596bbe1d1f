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
from dataclasses import dataclass, field, replace
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
    """Which faces may be rendered: per dataset with a consent register, its register
    and every withdrawal on record (the ledger, the corpus's own `forgotten` marks and
    the withdrawals file beside the register).

    A report may be written from a copy of a corpus made before a `forget`, or from a
    corpus received from elsewhere: its rows still hold the person, and its corpus.json
    may say nothing about consent. So which datasets are the team's participants is
    not taken from corpus.json alone: any dataset the catalog knows as a local source
    needs a register too, and a register that cannot be found shows no face.
    """

    registers: dict[str, Any] = field(default_factory=dict)  # dataset -> register or None
    on: dt.date = field(default_factory=lambda: dt.datetime.now(dt.UTC).date())
    admits: dict[str, Any] = field(default_factory=dict)  # dataset -> admission callable
    withdrawn: Any = None  # WithdrawalIndex: every withdrawal on record
    # the fetch cache's withdrawals could not be read: whom they name is unknown
    unknown: bool = False

    @classmethod
    def of(cls, meta: dict[str, Any], cache: str | list[str] | None = None) -> Publication:
        """`cache`: the fetch caches (a URL, a list of them, or None: FACEDATA_CACHE_URL)
        whose withdrawals hold too: a person forgotten on another home with `forget
        --cache`. A cache that cannot be read shows no face at all."""
        from facedata.consent.register import PUBLICATION, load_register
        from facedata.consent.withdrawals import WithdrawalIndex, admission, read_beside
        from facedata.errors import FacedataError
        from facedata.learn.terms import cache_withdrawals
        from facedata.manifest.catalog import own_data_ids

        out = cls()
        forgotten = [m for m in meta.get("forgotten") or [] if isinstance(m, dict)]
        out.withdrawn = WithdrawalIndex.load(forgotten)
        ids = {
            r["id"]
            for r in meta.get("datasets") or []
            if isinstance(r, dict) and isinstance(r.get("id"), str)
        }
        try:
            out.withdrawn = out.withdrawn.plus(cache_withdrawals(ids, cache))
        except FacedataError:
            out.unknown = True
        consent = meta.get("consent") if isinstance(meta.get("consent"), dict) else {}
        own = set(consent) | own_data_ids()
        for record in meta.get("datasets") or []:
            if not isinstance(record, dict) or not isinstance(record.get("id"), str):
                continue
            inputs = [i for i in record.get("inputs") or [] if isinstance(i, dict)]
            origin = next(
                (i.get("origin") for i in inputs if i.get("role") == "consent register"), None
            )
            origin = origin if isinstance(origin, str) and origin else None
            if origin or any("subjects" in i for i in inputs):
                own.add(record["id"])  # recordings attributed to participants
            if record["id"] not in own:
                continue
            hashes = {i["sha256"] for i in inputs if isinstance(i.get("sha256"), str)}
            copies = out.withdrawn.same_bytes(hashes)
            try:
                register = load_register(Path(origin)) if origin else None
                # the file travels with the recordings: it holds for this id, whatever
                # id the withdrawal was recorded under
                beside = read_beside(Path(origin)) if origin else []
                index = out.withdrawn.plus(replace(w, dataset=record["id"]) for w in beside)
            except (FacedataError, OSError):
                register = index = None  # unreadable: no face is shown
            out.registers[record["id"]] = register
            if register is not None and index is not None:
                out.admits[record["id"]] = admission(
                    record["id"], register, index, PUBLICATION, out.on, copies=copies
                )
        for dataset in own - set(out.registers):
            out.registers[dataset] = None  # the team's participants, no register at hand
        return out

    def may_render(self, dataset: str, subject: str | None) -> bool:
        if self.unknown:
            return False
        if dataset not in self.registers:
            # not the team's participants: the dataset's license decides, but a subject
            # who asked to be forgotten is never shown
            return self.withdrawn is None or not any(
                self.withdrawn.latest(dataset, s) for s in _people(subject)
            )
        admit = self.admits.get(dataset)
        return self.registers[dataset] is not None and admit is not None and admit(subject)[0]

    def apply(self, thumbs: list[Thumb]) -> list[Thumb]:
        """The thumbs, with every face that may not be rendered replaced by a placeholder."""
        return [
            t if self.may_render(t.dataset, t.subject) else replace(t, uri=None, hidden=True)
            for t in thumbs
        ]


def _people(subject: str | None) -> list[str]:
    from facedata.consent.withdrawals import subjects_of

    return subjects_of(subject)


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
