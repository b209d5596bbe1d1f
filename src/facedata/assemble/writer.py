"""Parquet shards laid out like the Hugging Face Hub's: data/{split}-00000-of-0000N.parquet.

Rows are buffered into row groups and flushed, so memory stays bounded whatever the
corpus size. Shard totals are only known at the end, so shards are written under a
provisional name and renamed when the split is closed.

A duplicate found later can change the labels of a row already written (its heads are
merged, or voided on a conflict). Those few changes are kept as patches and applied
when the split closes, by rewriting only the shards that hold a patched row.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from ..corpus import DATA_DIR, LabelCodec, describe, shard_path, to_table
from ..corpus.shards import file_sha256

__all__ = ["SplitWriter", "file_sha256"]


class SplitWriter:
    """Appends rows of one split; rolls to a new shard every `shard_rows` rows."""

    def __init__(
        self,
        root: Path,
        split: str,
        shard_rows: int,
        schema: pa.Schema,
        codec: LabelCodec,
        row_group: int = 512,
    ) -> None:
        self.root = Path(root) / DATA_DIR
        self.root.mkdir(parents=True, exist_ok=True)
        self.split = split
        self.shard_rows = shard_rows
        self.schema = schema
        self.codec = codec
        self.row_group = min(row_group, shard_rows)
        self._buffer: list[dict] = []
        self._writer: pq.ParquetWriter | None = None
        self._in_shard = 0
        self._paths: list[Path] = []
        self._patches: dict[str, dict[str, Any]] = {}  # "dataset/key" -> column values
        self.rows = 0

    def add(self, row: dict) -> None:
        self._buffer.append(row)
        if len(self._buffer) >= self.row_group or (
            self._in_shard + len(self._buffer) >= self.shard_rows
        ):
            self._flush()

    def patch(self, ident: str, values: dict[str, Any]) -> None:
        """Change columns of the row `dataset/key` (labels by name, as rows hold them)."""
        for row in self._buffer:  # still in memory: change it in place
            if f"{row['dataset']}/{row['key']}" == ident:
                row.update(values)
                return
        self._patches.setdefault(ident, {}).update(values)

    def _flush(self) -> None:
        while self._buffer:
            if self._writer is None:
                path = self.root / f".{self.split}-{len(self._paths):05d}.parquet.part"
                self._paths.append(path)
                self._writer = pq.ParquetWriter(path, self.schema, compression="zstd")
                self._in_shard = 0
            room = self.shard_rows - self._in_shard
            take, self._buffer = self._buffer[:room], self._buffer[room:]
            self._writer.write_table(to_table(take, self.schema, self.codec))
            self._in_shard += len(take)
            self.rows += len(take)
            if self._in_shard >= self.shard_rows:
                self._writer.close()
                self._writer = None

    def _apply_patches(self, path: Path) -> None:
        """Rewrite one shard with its patched rows changed, row group by row group."""
        pf = pq.ParquetFile(path)
        idents = set()
        for batch in pf.iter_batches(columns=["dataset", "key"]):
            for d, k in zip(batch.column(0).to_pylist(), batch.column(1).to_pylist(), strict=True):
                idents.add(f"{d}/{k}")
        if not idents & self._patches.keys():
            return
        tmp = path.with_name(path.name + ".patched")
        with pq.ParquetWriter(tmp, self.schema, compression="zstd") as writer:
            for i in range(pf.metadata.num_row_groups):
                rows = pf.read_row_group(i).to_pylist()
                for row in rows:
                    for head in ("smile", "expression"):
                        row[head] = self.codec.decode(head, row[head])
                    row.update(self._patches.get(f"{row['dataset']}/{row['key']}", {}))
                writer.write_table(to_table(rows, self.schema, self.codec))
        os.replace(tmp, path)

    def close(self) -> list[dict]:
        """Finish the split; return [{path, split, rows, sha256, bytes}] for corpus.json."""
        self._flush()
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        total = len(self._paths)
        shards = []
        for i, part in enumerate(self._paths):
            if self._patches:
                self._apply_patches(part)
            rel = shard_path(self.split, i, total)
            final = self.root.parent / rel
            os.replace(part, final)
            rows = pq.ParquetFile(final).metadata.num_rows
            shards.append(describe(self.root.parent, rel, self.split, rows))
        return shards
