"""Parquet shards laid out like the Hugging Face Hub's: data/{split}-00000-of-0000N.parquet.

Rows are buffered into row groups and flushed, so memory stays bounded whatever the
corpus size. Shard totals are only known at the end, so shards are written under a
provisional name and renamed when the split is closed.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from .schema import DATA_DIR, SCHEMA


def file_sha256(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


class SplitWriter:
    """Appends rows of one split; rolls to a new shard every `shard_rows` rows."""

    def __init__(self, root: Path, split: str, shard_rows: int, row_group: int = 512) -> None:
        self.root = Path(root) / DATA_DIR
        self.root.mkdir(parents=True, exist_ok=True)
        self.split = split
        self.shard_rows = shard_rows
        self.row_group = min(row_group, shard_rows)
        self._buffer: list[dict] = []
        self._writer: pq.ParquetWriter | None = None
        self._in_shard = 0
        self._paths: list[Path] = []
        self.rows = 0

    def add(self, row: dict) -> None:
        self._buffer.append(row)
        if len(self._buffer) >= self.row_group or (
            self._in_shard + len(self._buffer) >= self.shard_rows
        ):
            self._flush()

    def _flush(self) -> None:
        while self._buffer:
            if self._writer is None:
                path = self.root / f".{self.split}-{len(self._paths):05d}.parquet.part"
                self._paths.append(path)
                self._writer = pq.ParquetWriter(path, SCHEMA, compression="zstd")
                self._in_shard = 0
            room = self.shard_rows - self._in_shard
            take, self._buffer = self._buffer[:room], self._buffer[room:]
            self._writer.write_table(pa.Table.from_pylist(take, schema=SCHEMA))
            self._in_shard += len(take)
            self.rows += len(take)
            if self._in_shard >= self.shard_rows:
                self._writer.close()
                self._writer = None

    def close(self) -> list[dict]:
        """Finish the split; return [{path, rows, sha256, bytes}] relative to the corpus."""
        self._flush()
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        total = len(self._paths)
        shards = []
        for i, part in enumerate(self._paths):
            final = self.root / f"{self.split}-{i:05d}-of-{total:05d}.parquet"
            os.replace(part, final)
            shards.append(
                {
                    "path": f"{DATA_DIR}/{final.name}",
                    "split": self.split,
                    "rows": pq.ParquetFile(final).metadata.num_rows,
                    "sha256": file_sha256(final),
                    "bytes": final.stat().st_size,
                }
            )
        return shards
