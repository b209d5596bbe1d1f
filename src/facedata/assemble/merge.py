"""The sharded build: chunk tasks on an engine, then a merge on hashes alone.

Samples stream from the readers (label remap and consent run here, before any pixel
is decoded) and are cut into chunks; an engine runs the chunks anywhere, each
writing a partial shard. The merge takes chunk results in stream order and does
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
from collections.abc import Callable, Iterable, Iterator
from functools import partial
from itertools import islice
from pathlib import Path
from typing import Any

import numpy as np

from .dedup import Deduper
from .engines import Engine, get_engine
from .schema import SPLITS
from .splits import LeakCheck
from .tasks import ChunkResult, ChunkTask, ShardTask, run_chunk, run_shard
from .worker import Item, WorkSettings, fresh_process

STAGING = ".chunks"  # inside the build's temp folder: removed before it becomes the corpus


class Merger:
    """Folds chunk results, in stream order, into dedup, leaks, counts and a shard plan."""

    def __init__(self, dedup: Deduper, leaks: LeakCheck, tally: Any, max_listed: int) -> None:
        self.dedup = dedup
        self.leaks = leaks
        self.tally = tally
        self.max_listed = max_listed
        self.plan: dict[str, list[tuple[str, np.ndarray]]] = {s: [] for s in SPLITS}

    def add(self, res: ChunkResult) -> None:
        tally = self.tally
        for f in res.failed:
            stage = "face" if f.reason.startswith("face:") else "image"
            tally.drop(f.dataset or "image", f.reason, f.where, stage)
            if len(tally.image_errors) < self.max_listed:
                tally.image_errors.append(
                    {"where": f.where, "reason": f.reason, "detail": f.detail}
                )
        kept: dict[str, list[int]] = {s: [] for s in SPLITS}
        for i, row in enumerate(res.rows):
            ident = f"{row['dataset']}/{row['key']}"
            dup = self.dedup.check(ident, row["sha256"], row["phash"])
            if dup is not None:
                tally.drop(row["dataset"], f"{dup[0]} duplicate", f"{ident} = {dup[1]}", dup[0])
                tally.duplicate(row)
                continue
            self.leaks.add(row["dataset"], row["subject_id"], row["split"])
            tally.row(row)
            kept[row["split"]].append(i)
        tally.weights.update(res.weights)
        for split, idx in kept.items():
            if idx and res.path:
                self.plan[split].append((res.path, np.asarray(idx, dtype=np.int64)))

    def shard_tasks(self, root: Path, shard_rows: int) -> list[ShardTask]:
        """Cut each split's kept rows, in order, into shards of `shard_rows`."""
        tasks: list[ShardTask] = []
        for split in SPLITS:
            shards: list[list[tuple[str, np.ndarray]]] = []
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
            tasks += [ShardTask(str(root), split, i, total, p) for i, p in enumerate(shards)]
        return tasks


def worker_start(parent: int) -> None:
    """Ctrl-C in a terminal reaches every process of the group: only the main process
    acts on it (it stops the pool and removes the partial corpus); workers ignore it,
    and die with the build if it is killed outright. A forked worker also drops the
    parent's detector sessions (fresh_process)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    fresh_process(parent)


def _chunks(
    items: Iterable[Item], size: int, settings: WorkSettings, staging: Path, recipe: Any
) -> Iterator[ChunkTask]:
    it = iter(items)
    index = 0
    while chunk := list(islice(it, size)):
        yield ChunkTask(
            index, chunk, settings, str(staging), tuple(recipe.split_ratios), recipe.seed
        )
        index += 1


def run_sharded(
    items: Iterable[Item],
    settings: WorkSettings,
    recipe: Any,
    tally: Any,
    dedup: Deduper,
    leaks: LeakCheck,
    root: Path,
    *,
    max_listed: int,
    progress: Callable[[dict[str, int]], None] | None = None,
) -> list[dict]:
    """Run the build's chunks and merge them into `root`; return the shard records."""
    staging = Path(root) / STAGING
    staging.mkdir(parents=True, exist_ok=True)
    merger = Merger(dedup, leaks, tally, max_listed)
    engine: Engine = get_engine(
        getattr(recipe, "engine", "local"),
        recipe.workers,
        initializer=partial(worker_start, os.getpid()),
    )
    try:
        chunks = _chunks(items, recipe.batch_size, settings, staging, recipe)
        for res in engine.map(run_chunk, chunks):
            merger.add(res)
            if progress:
                progress(tally.progress())
        if progress:  # once more: the readers have finished, so `expected` is exact now
            progress(tally.progress())
        shards = list(engine.map(run_shard, merger.shard_tasks(Path(root), recipe.shard_rows)))
    finally:
        engine.close()
    shutil.rmtree(staging, ignore_errors=True)
    return shards
