"""Reading rows back with their labels by name, for tools and checks (not training:
the PyTorch dataset reads class indices straight into tensors)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from facedata.corpus.record import shard_file
from facedata.corpus.row import HEADS, codec_of
from facedata.corpus.shards import DATA_DIR


def text_problem(schema: pa.Schema, columns: Sequence[str]) -> str | None:
    """Why one of `columns` (those present) does not hold text, or None.

    A shard from someone else may type a subject id as a number or a list; compared
    as text it would match nobody (a withdrawal missed) or end in a TypeError."""
    for name in columns:
        if name in schema.names:
            kind = schema.field(name).type
            if not (
                pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_null(kind)
            ):
                return f"column {name} holds {kind}, not text"
    return None


def shard_files(root: Path) -> list[Path]:
    """The corpus's shards in name order; hidden names are shards still being written.

    A corpus may come from someone else: a shard that is a link leading out of it is
    refused (UnsafePathError), never read.
    """
    data = Path(root) / DATA_DIR
    found = sorted(p for p in data.glob("*.parquet") if not p.name.startswith("."))
    return [shard_file(root, p.relative_to(root).as_posix()) for p in found]


def iter_rows(root: Path, columns: Sequence[str] | None = None) -> Iterator[dict[str, Any]]:
    """Every row of the corpus at `root`, smile as 0/1/None and expression by name."""
    for path in shard_files(root):
        pf = pq.ParquetFile(path)
        codec = codec_of(pf.schema_arrow)
        for batch in pf.iter_batches(batch_size=1024, columns=list(columns) if columns else None):
            for row in batch.to_pylist():
                for head in HEADS:
                    if isinstance(row.get(head), int):
                        row[head] = codec.decode(head, row[head])
                yield row
