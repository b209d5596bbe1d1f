"""How values from data are named, ordered and looked up across the report.

Nulls become a visible "(none)" key and known splits and classes come first in
their usual order, so every plot and table lists things the same way. corpus.json
is read through `get_dict` / `get_list`: a corpus from an older build, or one a
person edited, must still get a report that says what is missing instead of a
traceback.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from facedata.corpus import SPLITS
from facedata.vocabulary import HEAD_TERMS, SMILE

# "1 · smile": the stored value, then its class name as a person reads it
SMILE_NAMES = {str(i): f"{i} · {n.replace('_', ' ')}" for i, n in enumerate(SMILE.classes or ())}
EXPRESSION_ORDER = ("neutral", "happy", "sad", "surprise", "fear", "disgust", "anger", "contempt")
HEAD_TITLES = {h.name: h.title for h in HEAD_TERMS.values()}
MISSING = "(none)"

# align_status values, as a person reads them. Corpora built before `whole_frame`
# existed wrote `precropped` for two different things: a source declared as crops (no
# detector ran) and a whole frame kept because the detector found no face in a tight
# crop; there the detector column tells them apart.
ALIGN_NAMES = {
    "detected": "detected",
    "multiple_faces": "detected, several faces",
    "dataset_landmarks": "dataset landmarks",
    "no_face": "no face (kept unaligned)",
}
DECLARED_CROP = "declared crop"
FALLBACK_FRAME = "whole frame (no face found)"


def align_label(status: object, detector: object = None) -> str:
    if status == "whole_frame":
        return FALLBACK_FRAME
    if status == "precropped":
        return FALLBACK_FRAME if detector else DECLARED_CROP
    if status is None:
        return MISSING
    return ALIGN_NAMES.get(str(status), str(status))


def order(values: Iterable[Any], preferred: Iterable[str] = ()) -> list[str]:
    present = {MISSING if v is None else str(v) for v in values}
    first = [p for p in preferred if p in present]
    return first + sorted(present - set(first))


def split_order(values: Iterable[Any]) -> list[str]:
    return order(values, SPLITS)


def class_order(head: str, values: Iterable[Any]) -> list[str]:
    return order(values, ("0", "1") if head == "smile" else EXPRESSION_ORDER)


def key(v: Any) -> str:
    return MISSING if v is None else str(v)


def keyed(counter: Counter) -> Counter:
    out: Counter = Counter()
    for k, n in counter.items():
        out[tuple(key(x) for x in k) if isinstance(k, tuple) else key(k)] += n
    return out


def get_dict(meta: Mapping[str, Any], name: str) -> dict:
    value = meta.get(name)
    return value if isinstance(value, dict) else {}


def get_list(meta: Mapping[str, Any], name: str) -> list:
    value = meta.get(name)
    return value if isinstance(value, list) else []
