"""Where a corpus keeps its rows: data/{split}-0000i-of-0000N.parquet, like the Hub.

The name carries the split and the shard count, so `datasets` and DuckDB find splits
by glob; every tool that writes, removes or renames shards goes through here.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from facedata.files.digest import file_sha256

CORPUS_JSON = "corpus.json"
DATA_DIR = "data"
SPLITS = ("train", "validation", "test")

_NAME = re.compile(r"(?P<split>[a-z]+)-(?P<index>\d{5})-of-(?P<total>\d{5})\.parquet")


def shard_name(split: str, index: int, total: int) -> str:
    return f"{split}-{index:05d}-of-{total:05d}.parquet"


def shard_path(split: str, index: int, total: int) -> str:
    """The shard's path relative to the corpus root, as corpus.json lists it."""
    return f"{DATA_DIR}/{shard_name(split, index, total)}"


def split_of(path: str | Path) -> str:
    """The split a shard belongs to, from its file name."""
    name = Path(path).name
    m = _NAME.fullmatch(name)
    return m.group("split") if m else name.split("-")[0]


def describe(root: Path, rel: str, split: str, rows: int) -> dict[str, Any]:
    """The shard's entry in corpus.json: path, split, rows, sha256, bytes."""
    path = Path(root) / rel
    return {
        "path": rel,
        "split": split,
        "rows": rows,
        "sha256": file_sha256(path),
        "bytes": path.stat().st_size,
    }


def renumber(root: Path, shards: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Drop shards left empty and renumber the rest per split (readers choke on
    zero-row files, and a gap in the numbering looks like a missing shard)."""
    root = Path(root)
    kept: list[dict[str, Any]] = []
    by_split: dict[str, list[dict[str, Any]]] = {}
    for shard in shards:
        if shard["rows"] == 0:
            (root / shard["path"]).unlink()
            continue
        by_split.setdefault(shard.get("split") or split_of(shard["path"]), []).append(shard)
    for split, group in by_split.items():
        for i, shard in enumerate(group):
            old = root / shard["path"]
            new = old.with_name(shard_name(split, i, len(group)))
            if new != old:
                os.replace(old, new)
                shard["path"] = str(Path(shard["path"]).with_name(new.name))
            shard["split"] = split
            kept.append(shard)
    return kept
