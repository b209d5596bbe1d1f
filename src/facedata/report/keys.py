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

from ..corpus import SPLITS

SMILE_NAMES = {"1": "1 · smile", "0": "0 · no smile"}
EXPRESSION_ORDER = ("neutral", "happy", "sad", "surprise", "fear", "disgust", "anger", "contempt")
HEAD_TITLES = {"smile": "Smile", "expression": "Expression"}
MISSING = "(none)"


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
