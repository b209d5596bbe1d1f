"""The two kinds of task a sharded build runs on an engine, as plain picklable data.

A chunk task takes a run of labelled samples (or a range of a label file, which it
reads and labels itself: assemble/rows.py), decodes, aligns, hashes and encodes
them, assigns each row its split (a pure function of the row) and writes them as
one partial shard; what it returns is light: per row only what the merge needs
(hashes, split, subject, labels). A shard task assembles one final shard from rows
of partial shards chosen by the merge: it copies encoded bytes and never decodes an
image again.

Partial and final shards go to files (a staging folder inside the build's temporary
folder, and the corpus folder) when every worker can reach them: the local engine.
On a cluster no folder is shared by every node, so a chunk task without a staging
folder returns its partial shard as an Arrow IPC buffer, which stays in Ray's object
store until a shard task reads it (by reference: it never passes through the
driver), and a shard task without a root returns its Parquet file's bytes for the
driver to write. Only the inputs (the cache) and the driver's output touch storage.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from facedata.assemble.rows import RowLog, SourceJob, part_items
from facedata.assemble.splits import assign_split
from facedata.assemble.worker import Failed, Item, WorkSettings, process_item
from facedata.corpus import HEADS, LabelCodec, describe, shard_path, to_table
from facedata.corpus.counts import COUNT_COLUMNS

if TYPE_CHECKING:
    from facedata.read.registry import Part

ROW_GROUP = 512  # rows per Parquet row group in final shards: bounded memory per read
# what the merge reads of a row (dedup, leak check, counts); the rest stays in the
# partial shard, so results stay small on their way back to the driver
MERGE_COLUMNS = (
    *COUNT_COLUMNS,
    "key",
    "subject_id",
    "sha256",
    "phash",
    "smile_derived",
    "license_id",
    "license_tier",  # a merged row takes the stricter terms (dedup)
)


@dataclass(frozen=True)
class ChunkTask:
    index: int
    items: list[Item]
    settings: WorkSettings
    staging: str  # folder for partial shards every worker can reach; "": in memory
    split_ratios: tuple[float, float, float]
    seed: int
    schema: pa.Schema
    codec: LabelCodec
    # a range of a label file to read here instead of `items` (assemble/rows.py)
    part: Part | None = None
    job: SourceJob | None = None


@dataclass
class ChunkResult:
    index: int
    # the partial shard (None: no row survived): a file, or a reference to an Arrow
    # IPC buffer in Ray's object store (see `run_chunk_in_memory`)
    path: Any
    rows: list[dict]  # per written row, in order: its MERGE_COLUMNS
    failed: list[Failed] = field(default_factory=list)
    weights: list[str] = field(default_factory=list)
    log: RowLog | None = None  # a range's reader counts, replayed by the driver


def _write_partial(path: Path, rows: list[dict], schema: pa.Schema, codec: LabelCodec) -> None:
    """Arrow IPC, uncompressed: written and read back (memory-mapped) at memory speed;
    the final shard is where compression is paid, once."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    table = to_table(rows, schema, codec)
    with pa.OSFile(str(tmp), "wb") as sink, pa.ipc.new_file(sink, schema) as writer:
        writer.write_table(table)
    os.replace(tmp, path)  # a retried task overwrites whole, never half


def _partial_buffer(rows: list[dict], schema: pa.Schema, codec: LabelCodec) -> pa.Buffer:
    """The same Arrow IPC file as `_write_partial`, in memory."""
    sink = pa.BufferOutputStream()
    with pa.ipc.new_file(sink, schema) as writer:
        writer.write_table(to_table(rows, schema, codec))
    return sink.getvalue()


def _read_partial(source: Any) -> pa.Table:
    """A partial shard from its file, or from Ray's object store by reference."""
    if isinstance(source, str):
        with pa.memory_map(source, "r") as mapped:
            return pa.ipc.open_file(mapped).read_all()
    import ray  # only a Ray task is ever handed a reference

    return pa.ipc.open_file(pa.BufferReader(ray.get(source))).read_all()


def run_chunk(task: ChunkTask) -> ChunkResult:
    """Process a chunk; its partial shard goes to `task.staging`, or, without one, to
    the result's `path` as an in-memory Arrow IPC buffer (see `run_chunk_in_memory`)."""
    rows: list[dict] = []
    failed: list[Failed] = []
    weights: set[str] = set()
    log: RowLog | None = None
    items: Iterable[Item] = task.items
    if task.part is not None and task.job is not None:
        log = RowLog()
        items = part_items(task.part, task.job, log)
    for item in items:
        res = process_item(item, task.settings)
        if isinstance(res, Failed):
            failed.append(res)
            continue
        res["split"] = assign_split(
            res["dataset"],
            res["split"],
            res["subject_id"],
            res["sha256"],
            task.split_ratios,
            task.seed,
        )
        w = res.pop("_weights_sha256", None)
        if w:
            weights.add(w)
        rows.append(res)
    path: Any = None
    if rows and task.staging:
        target = Path(task.staging) / f"part-{task.index:07d}.arrow"
        _write_partial(target, rows, task.schema, task.codec)
        path = str(target)
    elif rows:
        path = _partial_buffer(rows, task.schema, task.codec)
    light = [{k: r[k] for k in MERGE_COLUMNS} for r in rows]
    return ChunkResult(task.index, path, light, failed, sorted(weights), log)


def run_chunk_in_memory(task: ChunkTask) -> tuple[ChunkResult, pa.Buffer | None]:
    """A chunk without a staging folder, as two results: the light one for the merge,
    and the partial shard's buffer, which an engine with an object store keeps there
    (`RayEngine.map_split`): the driver only ever holds a reference to it."""
    res = run_chunk(replace(task, staging=""))
    buffer, res.path = res.path, None
    return res, buffer


@dataclass(frozen=True)
class ShardTask:
    root: str  # the corpus folder being built; "": return the file's bytes instead
    split: str
    number: int
    total: int
    pieces: list[tuple[Any, np.ndarray]]  # (partial shard, row indices), in order
    schema: pa.Schema
    codec: LabelCodec
    # label changes for rows written before a later duplicate was merged into them,
    # by "dataset/key" (labels by name)
    patches: dict[str, dict] = field(default_factory=dict)

    @property
    def rel(self) -> str:
        return shard_path(self.split, self.number, self.total)


def _patched(table: pa.Table, task: ShardTask) -> pa.Table:
    """The table with its patched rows changed (rare: only rows a duplicate relabelled)."""
    if not task.patches:
        return table
    idents = [
        f"{d}/{k}"
        for d, k in zip(
            table.column("dataset").to_pylist(), table.column("key").to_pylist(), strict=True
        )
    ]
    if not any(i in task.patches for i in idents):
        return table
    rows = table.to_pylist()
    for ident, row in zip(idents, rows, strict=True):
        for head in HEADS:
            row[head] = task.codec.decode(head, row[head])
        row.update(task.patches.get(ident, {}))
    return to_table(rows, task.schema, task.codec)


def run_shard(task: ShardTask) -> dict:
    """Write one final shard; return its corpus.json record {path, split, rows, sha256,
    bytes}. Without a root, return {path, split, rows, data}: the file's bytes, which
    `write_returned` puts in place on the driver."""
    if not task.root:
        sink = pa.BufferOutputStream()
        rows = _write_shard(sink, task)
        return {"path": task.rel, "split": task.split, "rows": rows, "data": sink.getvalue()}
    root = Path(task.root)
    final = root / task.rel
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.with_name(f".{final.name}.part")
    rows = _write_shard(str(tmp), task)
    os.replace(tmp, final)
    return describe(root, task.rel, task.split, rows)


def write_returned(root: Path, shard: dict) -> dict:
    """A shard returned as bytes (`run_shard` without a root), written under `root`
    (temporary name, then rename); its corpus.json record."""
    data = shard.pop("data", None)
    if data is None:
        return shard
    final = Path(root) / shard["path"]
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.with_name(f".{final.name}.part")
    with open(tmp, "wb") as fh:
        fh.write(memoryview(data))
    os.replace(tmp, final)
    return describe(Path(root), shard["path"], shard["split"], shard["rows"])


def _write_shard(sink: Any, task: ShardTask) -> int:
    """The shard's rows, from its pieces, as Parquet into `sink`; the row count."""
    rows = 0
    buffer: list[pa.Table] = []  # rows not yet written: under one row group
    # no dictionary for the image bytes: every value is distinct, trying costs time
    plain = [f.name for f in task.schema if f.name != "image"]
    with pq.ParquetWriter(sink, task.schema, compression="zstd", use_dictionary=plain) as writer:
        for path, idx in task.pieces:
            table = _read_partial(path).take(pa.array(idx, type=pa.int64()))
            table = _patched(table, task)
            rows += table.num_rows
            buffer.append(table)
            pending = pa.concat_tables(buffer)
            full = pending.num_rows - pending.num_rows % ROW_GROUP
            if full:
                # whole row groups of ROW_GROUP rows, as one sequential writer makes them
                writer.write_table(pending.slice(0, full), row_group_size=ROW_GROUP)
            buffer = [pending.slice(full)] if pending.num_rows > full else []
        if buffer:
            writer.write_table(pa.concat_tables(buffer), row_group_size=ROW_GROUP)
    return rows
