"""The sharded build: chunk tasks on an engine, then a merge on hashes alone.

Samples stream from the readers (label remap and consent run here, before any pixel
is decoded) and are cut into chunks; a large label file is cut into ranges instead,
each one chunk that its worker reads, admits and labels itself, its counts replayed
here in stream order. An engine runs the chunks anywhere, each writing a partial
shard. The merge takes chunk results in stream order and does
what needs the whole corpus: exact and near dedup (sha256 / perceptual hash: the
first copy in stream order wins), the subject leak check, the counts, and the plan
of final shards; then the engine writes the final shards from the partial ones by
copying encoded rows. Stream order, not worker timing, decides everything, so 1, 2
or N workers, and the local or Ray engine, give the same corpus.

Memory: the driver holds the dedup index (about 200 bytes per kept row) and, per
kept row, one row index (8 bytes) for the shard plan; workers hold one chunk.
"""

from __future__ import annotations

import os
import shutil
import signal
from collections.abc import Iterable, Iterator
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from facedata.assemble.dedup import Deduper
from facedata.assemble.engines import Engine, get_engine
from facedata.assemble.process import for_build_work
from facedata.assemble.rows import PartWork
from facedata.assemble.splits import LeakCheck
from facedata.assemble.tasks import (
    ChunkResult,
    ChunkTask,
    ShardTask,
    run_chunk,
    run_chunk_in_memory,
    run_shard,
    write_returned,
)
from facedata.assemble.worker import Item, fresh_process
from facedata.corpus import SPLITS, LabelCodec

if TYPE_CHECKING:
    from facedata.assemble.context import BuildContext
    from facedata.assemble.tally import Tally

STAGING = ".chunks"  # inside the build's temp folder: removed before it becomes the corpus


class Merger:
    """Folds chunk results, in stream order, into dedup, leaks, counts and a shard plan."""

    def __init__(self, dedup: Deduper, leaks: LeakCheck, tally: Tally, max_listed: int) -> None:
        self.dedup = dedup
        self.leaks = leaks
        self.tally = tally
        self.max_listed = max_listed
        # per split: (partial shard, indices of its kept rows); a partial shard is a
        # file or a reference into the engine's object store
        self.plan: dict[str, list[tuple[Any, np.ndarray]]] = {s: [] for s in SPLITS}
        self.patches: dict[str, dict] = {}  # "dataset/key" -> label columns to change

    def add(self, res: ChunkResult) -> None:
        flow = self.tally.flow
        for f in res.failed:
            stage = "face" if f.reason.startswith("face:") else "image"
            flow.drop(f.dataset or "image", f.reason, f.where, stage)
            entry = {"where": f.where, "reason": f.reason, "detail": f.detail}
            flow.image_error(entry, self.max_listed)
        kept: dict[str, list[int]] = {s: [] for s in SPLITS}
        for i, row in enumerate(res.rows):
            if self._duplicate(row):
                continue
            self.leaks.add(row["dataset"], row["subject_id"], row["split"])
            self.dedup.add(row)
            flow.rows.add(row)
            kept[row["split"]].append(i)
        self.tally.weights.update(res.weights)
        for split, idx in kept.items():
            if idx and res.path is not None:
                self.plan[split].append((res.path, np.asarray(idx, dtype=np.int64)))

    def _duplicate(self, row: dict) -> bool:
        """Whether `row` duplicates a kept row; if so its labels are merged into that row
        (a patch applied when the final shard is written) and the copy is counted."""
        dedup, flow = self.dedup, self.tally.flow
        match = dedup.find(row["sha256"], row["phash"], row["dataset"], row["subject_id"])
        if match is None:
            return False
        first = match.first
        before = {
            **first.labels,
            "label_conflict": list(first.conflicts),
            "merged_from": list(first.merged_from),
        }
        changes = dedup.merge(match, row)
        if changes:
            self.patches.setdefault(first.ident, {}).update(changes)
            flow.relabel(first.split, before, changes)
        ident = f"{row['dataset']}/{row['key']}"
        flow.drop(row["dataset"], f"{match.kind} duplicate", f"{ident} = {first.ident}", match.kind)
        flow.duplicate(row)  # the removed copy's labels (merged ones live on in the kept row)
        return True

    def shard_tasks(
        self, root: Path | str, shard_rows: int, schema: pa.Schema, codec: LabelCodec
    ) -> list[ShardTask]:
        """Cut each split's kept rows, in order, into shards of `shard_rows`; with root
        "" the tasks return their files' bytes (`run_shard`)."""
        tasks: list[ShardTask] = []
        for split in SPLITS:
            shards: list[list[tuple[Any, np.ndarray]]] = []
            room = 0
            for path, idx in self.plan[split]:
                start = 0
                while start < len(idx):
                    if room == 0:
                        shards.append([])
                        room = shard_rows
                    take = idx[start : start + room]
                    shards[-1].append((path, take))
                    room -= len(take)
                    start += len(take)
            total = len(shards)
            tasks += [
                ShardTask(
                    str(root) if root else "", split, i, total, p, schema, codec, self.patches
                )
                for i, p in enumerate(shards)
            ]
        return tasks


def worker_start(parent: int) -> None:
    """Ctrl-C in a terminal reaches every process of the group: only the main process
    acts on it (it stops the pool and removes the partial corpus); workers ignore it,
    and die with the build if it is killed outright. A forked worker also drops the
    parent's detector sessions (fresh_process)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    fresh_process(parent)
    for_build_work()


def _chunks(
    items: Iterable[Item | PartWork],
    ctx: BuildContext,
    staging: Path | str,
    ranges: dict[int, PartWork],
) -> Iterator[ChunkTask]:
    """The chunk tasks, in stream order; `staging` "" keeps their partial shards in memory.

    Items read on the driver are cut into chunks of `batch_size`; a range of a label
    file (`PartWork`) is one chunk of its own, read by the worker, and is noted in
    `ranges` by chunk index so that its counts are replayed when its result comes back.
    """
    recipe = ctx.recipe
    ratios = tuple(recipe.split_ratios)
    index = 0
    batch: list[Item] = []

    def task(chunk: list[Item], work: PartWork | None = None) -> ChunkTask:
        return ChunkTask(
            index,
            chunk,
            ctx.settings,
            str(staging),
            ratios,
            recipe.seed,
            ctx.schema,
            ctx.codec,
            part=work.part if work else None,
            job=work.job if work else None,
        )

    for item in items:
        if isinstance(item, PartWork):
            if batch:
                yield task(batch)
                index += 1
                batch = []
            ranges[index] = item
            yield task([], item)
            index += 1
            continue
        batch.append(item)
        if len(batch) >= recipe.batch_size:
            yield task(batch)
            index += 1
            batch = []
    if batch:
        yield task(batch)


def run_sharded(ctx: BuildContext, items: Iterable[Item | PartWork], root: Path) -> list[dict]:
    """Run the build's chunks on the recipe's engine and merge them into `root` (the
    unpublished corpus folder); return the shard records."""
    recipe = ctx.recipe
    merger = Merger(ctx.dedup, ctx.leaks, ctx.tally, ctx.max_listed)
    engine: Engine = get_engine(
        recipe.engine, recipe.workers, initializer=partial(worker_start, os.getpid())
    )
    # an engine with an object store keeps partial shards there and hands final
    # shards back as bytes: its workers need no folder of the driver's
    in_memory = bool(getattr(engine, "parts_in_memory", False))
    root = Path(root).resolve()  # a worker's working folder may not be this process's
    staging = root / STAGING
    if not in_memory:
        staging.mkdir(parents=True, exist_ok=True)
    ranges: dict[int, PartWork] = {}  # chunks that read a range: counts to replay
    try:
        chunks = _chunks(items, ctx, "" if in_memory else staging, ranges)
        for res in _chunk_results(engine, chunks, in_memory):
            work = ranges.pop(res.index, None)
            if work is not None and res.log is not None:
                work.replay(res.log)  # the range's reader counts, before its rows merge
            merger.add(res)
            ctx.report()
        ctx.report()  # once more: the readers have finished, so `expected` is exact now
        where = "" if in_memory else Path(root)
        plan = merger.shard_tasks(where, recipe.shard_rows, ctx.schema, ctx.codec)
        shards = [write_returned(Path(root), s) for s in engine.map(run_shard, plan)]
    finally:
        engine.close()
    shutil.rmtree(staging, ignore_errors=True)
    return shards


def _chunk_results(
    engine: Any, chunks: Iterable[ChunkTask], in_memory: bool
) -> Iterator[ChunkResult]:
    """Chunk results in stream order; with `in_memory`, each result's `path` is the
    reference to its partial shard in the engine's object store."""
    if not in_memory:
        yield from engine.map(run_chunk, chunks)
        return
    for res, part in engine.map_split(run_chunk_in_memory, chunks):
        res.path = part if res.rows else None
        yield res
