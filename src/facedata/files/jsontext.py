"""JSON parsing with a bound on nesting, for every JSON file facedata reads.

corpus.json, the lock file, download metadata, registries and hub listings can all
come from someone else. `json.loads` recurses once per nested bracket: 100,000 of
them end in RecursionError (a traceback), and a few hundred still pass the parser
only to crash the code that walks the result. `loads` refuses both as a
`JSONDepthError`, a ValueError, so every caller that already turns bad JSON into a
clear message does the same for this.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from facedata.errors import FacedataError

T = TypeVar("T")

MAX_DEPTH = 100  # nested arrays/objects; facedata's own files nest under 10


class JSONDepthError(ValueError):
    """JSON nested deeper than MAX_DEPTH (or too deep for the parser)."""


def _depth_over(value: Any, limit: int) -> bool:
    """True when `value` nests containers more than `limit` deep (iterative walk)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((c, depth + 1) for c in children if isinstance(c, (dict, list)))
    return False


def loads(text: str | bytes, max_depth: int = MAX_DEPTH) -> Any:
    """`json.loads`, refusing documents nested more than `max_depth` deep."""
    try:
        value = json.loads(text)
    except RecursionError:
        raise JSONDepthError(f"JSON nested too deep (limit {max_depth} levels)") from None
    if _depth_over(value, max_depth):
        raise JSONDepthError(f"JSON nested more than {max_depth} levels deep")
    return value


def read_state(path: Path, parse: Callable[[Any], T], empty: T, *, unreadable: str, hint: str) -> T:
    """A JSON file facedata keeps its state in (a registry, a binding list): `empty` when
    it is absent, `parse` of its document otherwise, and a FacedataError that says
    `unreadable` (with the reason) and `hint` when the file or `parse` fails, so a
    hand-edited or truncated file never ends in a traceback."""
    if not path.is_file():
        return empty
    try:
        return parse(loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError, KeyError, AttributeError, RecursionError) as exc:
        raise FacedataError(f"{unreadable}: {exc}", hint=hint) from None
