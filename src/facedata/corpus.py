"""Reading a built corpus's provenance record, `corpus.json`.

`cite`, `report` and `forget` all start from this record; one reader gives them the
same checks and the same messages, so a damaged corpus reads the same everywhere.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .assemble.schema import CORPUS_JSON
from .errors import FacedataError

REBUILD = "rebuild it with `facedata build` (or restore a copy)"


class CorpusError(FacedataError):
    """A folder that is not a corpus, or a corpus whose record is damaged."""


def read_corpus(
    path: Path,
    *,
    require: dict[str, type] | None = None,
    missing_hint: str = "pass the folder `facedata build --out` wrote",
) -> dict[str, Any]:
    """The record of the corpus at `path`; `require` names keys that must have a type."""
    path = Path(path)
    record = path / CORPUS_JSON
    if not record.is_file():
        raise CorpusError(f"{path} is not a facedata corpus (no {CORPUS_JSON})", hint=missing_hint)
    try:
        data = json.loads(record.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:  # JSONDecodeError, UnicodeDecodeError
        raise CorpusError(
            f"{path} is a damaged corpus: cannot read {CORPUS_JSON}: {exc}", hint=REBUILD
        ) from None
    if not isinstance(data, dict):
        raise CorpusError(
            f"{path} is a damaged corpus: {CORPUS_JSON} holds {type(data).__name__}, not an object",
            hint=REBUILD,
        )
    for key, kind in (require or {}).items():
        if not isinstance(data.get(key), kind):
            raise CorpusError(
                f"{path} is a damaged corpus: {CORPUS_JSON} has no {kind.__name__} `{key}`",
                hint=REBUILD,
            )
    return data
