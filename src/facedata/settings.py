"""Every `FACEDATA_*` setting facedata takes from the environment, in one place.

Numbers (`NUMBERS`: bounds, intervals) are validated here; text settings (`TEXTS`:
the cache root, manifest folders, a mirror; `WEIGHT_FILES`: a detector's own weights)
are handed over as written, for the module that uses them to check. Nothing else in
facedata reads a `FACEDATA_*` variable itself, so this file lists them all.

The bounds on downloads and archives (deadline, minimum rate, size caps, bomb
ratio) are only as good as the numbers they are given. `float("nan")` parses, and
every comparison with NaN is false, so `FACEDATA_FETCH_DEADLINE=nan` once switched
the deadline off without a word; `inf`, a negative or `10MB` did much the same. Here
a value that is not a plain finite number in range is refused with a SettingError
naming the variable, what it holds and what it accepts: a setting someone typed
must never silently become "no limit".

Values are read when an operation starts (a download, an unpack), not at import,
so a program that changes its environment between operations gets the new value
and an import never fails on a bad value.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

from facedata.errors import FacedataError


class SettingError(FacedataError):
    """An environment variable holds a value facedata cannot use."""


@dataclass(frozen=True)
class Number:
    """One numeric setting: its default, its unit and what it may be."""

    name: str
    default: float
    unit: str
    integer: bool = False
    zero_ok: bool = False  # 0 means something (e.g. "print progress every time")

    def parse(self, raw: str) -> float:
        """The value of `raw`, or a SettingError naming this variable."""
        shown = raw if len(raw) <= 40 else raw[:40] + "..."
        accepts = f"a {'whole ' if self.integer else ''}number of {self.unit}, " + (
            "0 or more" if self.zero_ok else "above 0"
        )
        try:
            value = float(raw)
        except ValueError:
            value = math.nan
        bad = (
            not math.isfinite(value)
            or value < 0
            or (value == 0 and not self.zero_ok)
            or (self.integer and value != int(value))
        )
        if bad:
            raise SettingError(
                f"{self.name}={shown!r} is not usable: it must be {accepts}",
                hint=f"fix or unset {self.name} (unset, it is {self.default:g} {self.unit})",
            )
        return int(value) if self.integer else value


NUMBERS = {
    n.name: n
    for n in (
        Number("FACEDATA_FETCH_DEADLINE", 24 * 3600.0, "seconds"),
        Number("FACEDATA_FETCH_MIN_RATE", 1024.0, "bytes per second"),
        Number("FACEDATA_FETCH_RATE_WINDOW", 60.0, "seconds"),
        Number("FACEDATA_FETCH_MAX_BYTES", float(256 * 1024**3), "bytes", integer=True),
        Number("FACEDATA_UNPACK_MAX_BYTES", float(256 * 1024**3), "bytes", integer=True),
        Number("FACEDATA_UNPACK_MAX_MEMBERS", 5_000_000.0, "files", integer=True),
        Number("FACEDATA_UNPACK_MAX_RATIO", 100.0, "(unpacked:packed)"),
        Number("FACEDATA_UNPACK_RATIO_FLOOR", float(64 * 1024**2), "bytes", integer=True),
        Number("FACEDATA_PROGRESS_SECONDS", 10.0, "seconds", zero_ok=True),
    )
}


def number(name: str, default: float | None = None) -> float:
    """The setting `name` from the environment, validated; `default` when unset or
    blank (else the registered default). Unknown names are a programming error."""
    spec = NUMBERS[name]
    raw = os.environ.get(name, "").strip()
    if not raw:
        return spec.default if default is None else default
    return spec.parse(raw)


def whole(name: str, default: int | None = None) -> int:
    """A whole-number setting (bytes, files), as an int."""
    if not NUMBERS[name].integer:
        raise KeyError(f"{name} is not a whole-number setting")
    return int(number(name, default))


# Text settings, each with what it holds.
TEXTS = {
    "FACEDATA_HOME": "the cache root (unset: ~/.cache/facedata)",
    "FACEDATA_MANIFESTS": "extra manifest folders, separated by os.pathsep",
    "FACEDATA_MIRROR": "a mirror's base URL, asked before each file's own URL",
    "FACEDATA_CACHE_URL": "the fetch cache on object storage (s3://BUCKET/PREFIX), for "
    "`fetch` to push to and `build` to read from",
}
# FACEDATA_<DETECTOR>_<VARIANT>: the path of a person's own weights file for a detector.
WEIGHT_FILES = ("FACEDATA_RETINAFACE_", "FACEDATA_BLAZEFACE_")


def text(name: str) -> str:
    """The text setting `name` as written ("" when unset). Unknown names are a
    programming error, so every variable facedata reads is listed above."""
    if name not in TEXTS and not name.startswith(WEIGHT_FILES):
        raise KeyError(f"{name} is not a facedata setting")
    return os.environ.get(name, "")


def folders(name: str) -> list[Path]:
    """A list-of-folders setting (os.pathsep between them; blank entries skipped)."""
    return [Path(p) for p in text(name).split(os.pathsep) if p.strip()]


def mirror() -> str:
    """FACEDATA_MIRROR's base URL without a trailing slash ("" when unset)."""
    return text("FACEDATA_MIRROR").strip().rstrip("/")
