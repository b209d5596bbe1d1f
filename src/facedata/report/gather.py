"""Everything the report shows, read from a corpus folder with bounded memory.

Counts come from the shards, not from corpus.json: the shards are what a trainer
reads, so the report checks the provenance record instead of repeating it (a
mismatch is shown). Only label and metadata columns are scanned, one batch at a
time; images are read afterwards for the few rows picked as samples, one row group
at a time, so a corpus of any size costs the same memory.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from facedata.corpus import (
    CORPUS_JSON,
    DATA_DIR,
    LabelCodec,
    codec_of,
    read_corpus,
    shard_file,
    shard_files,
)
from facedata.errors import FacedataError
from facedata.report.keys import align_label
from facedata.report.thumbs import Publication, Thumb, to_data_uri
from facedata.vocabulary import HEADS

# The columns every count is broken down by; a combination counter over them is
# small (splits x datasets x classes x licenses x statuses) whatever the row count.
GROUP_COLUMNS = (
    "split",
    "dataset",
    *HEADS,
    "license_id",
    "license_tier",
    "align_status",
    "detector",  # with align_status: a declared crop or a whole frame kept as fallback
)
SCORE_BINS = 40  # detector scores are probabilities: fixed bins over [0, 1]
BATCH_ROWS = 65_536
_STRING_TYPES = {c: pa.string() for c in GROUP_COLUMNS} | {"smile": pa.int8()}
_NO_RANK = "~"  # sorts after every hex digest: rows without a sha256 are picked last


class ReportError(FacedataError):
    """A corpus folder cannot be reported on."""


@dataclass(frozen=True, order=True)
class Pick:
    """A sample chosen for the grid: the smallest sha256 values win, so the choice is
    deterministic, spread over datasets and splits, and independent of shard order."""

    rank: str
    shard: int
    row: int


@dataclass
class ShardStats:
    shards: list[Path]
    rows: int = 0
    combos: Counter = field(default_factory=Counter)
    score_counts: np.ndarray = field(default_factory=lambda: np.zeros(SCORE_BINS, np.int64))
    score_edges: np.ndarray = field(default_factory=lambda: np.linspace(0.0, 1.0, SCORE_BINS + 1))
    scored: int = 0
    score_outside: int = 0  # scores outside [0, 1], counted but not binned
    with_subject: int = 0  # rows that name a subject: only these can be checked for leaks
    missing_columns: list[str] = field(default_factory=list)
    picks: dict[tuple[str, str], list[Pick]] = field(default_factory=lambda: defaultdict(list))

    def count_by(self, *columns: str) -> Counter:
        """Marginal counts over `columns` (one column: plain keys, else tuples)."""
        idx = [GROUP_COLUMNS.index(c) for c in columns]
        out: Counter = Counter()
        for combo, n in self.combos.items():
            key = tuple(combo[i] for i in idx)
            out[key[0] if len(key) == 1 else key] += n
        return out


@dataclass
class CorpusData:
    root: Path
    meta: dict[str, Any]
    stats: ShardStats
    samples: dict[tuple[str, str], list[Thumb]]
    sample_cap: int


def load_corpus_json(root: Path) -> dict[str, Any]:
    """The record, read defensively: the report shows what it has and warns on gaps."""
    return read_corpus(
        root,
        missing_hint="point at the folder `facedata build` wrote (it holds corpus.json and data/)",
    ).to_json()


def shard_paths(root: Path) -> list[Path]:
    data = Path(root) / DATA_DIR
    if not data.is_dir():
        raise ReportError(
            f"{root} has no {DATA_DIR}/ folder with Parquet shards",
            hint="the build did not finish or the folder was moved; rebuild with `facedata build`",
        )
    # Hidden names are shards still being written (or left by a crash): not the corpus;
    # a shard that is a link out of the corpus is refused (shard_files), never shown.
    return shard_files(root)


def _with_all_columns(batch: pa.RecordBatch, wanted: tuple[str, ...]) -> pa.Table:
    table = pa.Table.from_batches([batch])
    for name in wanted:
        if name not in table.column_names:
            table = table.append_column(name, pa.nulls(len(table), _STRING_TYPES[name]))
    return table


def _named_labels(table: pa.Table, codec: LabelCodec) -> pa.Table:
    """Class indices (-1 = not said) back to what the report shows: 0/1 and names."""
    for head in HEADS:
        column = table.column(head)
        if not pa.types.is_integer(column.type):
            continue  # an older corpus: expression stored by name
        values = [codec.decode(head, v) for v in column.to_pylist()]
        kind = pa.int8() if head == "smile" else pa.string()
        table = table.set_column(
            table.schema.get_field_index(head), head, pa.array(values, type=kind)
        )
    return table


def _class_keys(column: pa.ChunkedArray) -> list[Any]:
    return [v for v in pc.unique(column).to_pylist() if v is not None]


def _pick(stats: ShardStats, table: pa.Table, shard: int, offset: int, cap: int) -> None:
    ranks = (
        table.column("sha256").fill_null(_NO_RANK)
        if "sha256" in table.column_names
        else pa.chunked_array([pa.array([_NO_RANK] * len(table))])
    )
    for head in HEADS:
        column = table.column(head)
        if column.null_count == len(column):
            continue
        for value in _class_keys(column):
            rows = pc.indices_nonzero(pc.equal(column, value).fill_null(False))
            sub = pc.take(ranks, rows)
            best = pc.take(rows, pc.array_sort_indices(sub)[:cap]).to_pylist()
            best_ranks = pc.take(ranks, best).to_pylist() if best else []
            found = [Pick(r, shard, offset + i) for r, i in zip(best_ranks, best, strict=True)]
            key = (head, str(value))
            stats.picks[key] = sorted(stats.picks[key] + found)[:cap]


def _scores(stats: ShardStats, table: pa.Table) -> None:
    if "det_score" not in table.column_names:
        return
    kind = table.column("det_score").type
    if not (pa.types.is_floating(kind) or pa.types.is_integer(kind)):
        return  # a shard from elsewhere with scores as text: no score histogram
    values = table.column("det_score").drop_null().to_numpy().astype(np.float64)
    values = values[np.isfinite(values)]
    inside = (values >= 0.0) & (values <= 1.0)
    stats.score_outside += int((~inside).sum())
    stats.score_counts += np.histogram(values[inside], bins=stats.score_edges)[0]
    stats.scored += int(inside.sum())


def _open(path: Path) -> pq.ParquetFile:
    try:
        return pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as exc:
        raise ReportError(
            f"cannot read shard {path}: {exc}",
            hint="the shard is damaged; rebuild the corpus with `facedata build`",
        ) from exc


def scan_shards(root: Path, sample_cap: int) -> ShardStats:
    """One pass over the label columns of every shard: counts, scores, sample picks."""
    stats = ShardStats(shards=shard_paths(root))
    missing: set[str] = set()
    for shard, path in enumerate(stats.shards):
        pf = _open(path)
        present = set(pf.schema_arrow.names)
        extra = ("det_score", "sha256", "subject_id")
        wanted = [c for c in (*GROUP_COLUMNS, *extra) if c in present]
        missing |= set(GROUP_COLUMNS) - present
        codec = codec_of(pf.schema_arrow)
        offset = 0
        try:
            for batch in pf.iter_batches(batch_size=BATCH_ROWS, columns=wanted):
                table = _named_labels(_with_all_columns(batch, GROUP_COLUMNS), codec)
                grouped = table.group_by(list(GROUP_COLUMNS)).aggregate([([], "count_all")])
                for row in grouped.to_pylist():
                    n = row.pop("count_all")
                    stats.combos[tuple(row[c] for c in GROUP_COLUMNS)] += n
                _scores(stats, table)
                if "subject_id" in table.column_names:
                    subjects = table.column("subject_id")
                    stats.with_subject += len(subjects) - subjects.null_count
                if sample_cap > 0:
                    _pick(stats, table, shard, offset, sample_cap)
                offset += len(table)
        except (pa.ArrowException, OSError) as exc:
            raise ReportError(
                f"cannot read shard {path}: {exc}",
                hint="the shard is damaged; rebuild the corpus with `facedata build`",
            ) from exc
        stats.rows += offset
    stats.missing_columns = sorted(missing, key=GROUP_COLUMNS.index)
    return stats


def _row_groups(pf: pq.ParquetFile) -> list[int]:
    starts, total = [], 0
    for i in range(pf.metadata.num_row_groups):
        starts.append(total)
        total += pf.metadata.row_group(i).num_rows
    return starts


def load_samples(stats: ShardStats) -> dict[tuple[str, str], list[Thumb]]:
    """Read the images of the picked rows only: one row group of one shard at a time."""
    wanted: dict[int, dict[int, list[tuple[str, str]]]] = defaultdict(lambda: defaultdict(list))
    for key, picks in stats.picks.items():
        for p in picks:
            wanted[p.shard][p.row].append(key)
    found: dict[tuple[tuple[str, str], int, int], Thumb] = {}
    for shard, rows in sorted(wanted.items()):
        pf = _open(stats.shards[shard])
        names = set(pf.schema_arrow.names)
        if "image" not in names:
            continue
        wanted_columns = (
            "image",
            "dataset",
            "split",
            "key",
            "align_status",
            "detector",
            "subject_id",
        )
        columns = [c for c in wanted_columns if c in names]
        starts = _row_groups(pf)
        by_group: dict[int, list[int]] = defaultdict(list)
        for row in rows:
            group = int(np.searchsorted(starts, row, side="right")) - 1
            by_group[group].append(row)
        for group, group_rows in sorted(by_group.items()):
            table = pf.read_row_group(group, columns=columns)
            local = [r - starts[group] for r in group_rows]
            for row, rec in zip(group_rows, table.take(local).to_pylist(), strict=True):
                # a shard from elsewhere may hold anything in these columns: a value
                # of the wrong type is shown as unknown, never trusted
                rec = {k: v if isinstance(v, (str, dict)) else None for k, v in rec.items()}
                image = rec.get("image") or {}
                data = image.get("bytes") if isinstance(image, dict) else None
                thumb = Thumb(
                    uri=to_data_uri(data if isinstance(data, bytes) else None),
                    dataset=rec.get("dataset") or "?",
                    split=rec.get("split") or "?",
                    key=rec.get("key") or "",
                    align=align_label(rec.get("align_status"), rec.get("detector")),
                    subject=rec.get("subject_id"),
                )
                for cls in rows[row]:
                    found[(cls, shard, row)] = thumb
            del table
    return {
        key: [found[(key, p.shard, p.row)] for p in picks if (key, p.shard, p.row) in found]
        for key, picks in stats.picks.items()
    }


def check_listed_shards(root: Path, meta: dict[str, Any]) -> None:
    """A shard that corpus.json lists but data/ lacks would silently shrink every count."""
    listed = meta.get("shards")
    if not isinstance(listed, list):
        return
    names = [s.get("path") for s in listed if isinstance(s, dict)]
    missing = [n for n in names if isinstance(n, str) and not shard_file(root, n).is_file()]
    if missing:
        raise ReportError(
            f"{root}: {len(missing)} of {len(names)} shards that {CORPUS_JSON} lists are "
            f"missing: {', '.join(missing[:3])}{', ...' if len(missing) > 3 else ''}",
            hint="the corpus is incomplete (moved or partly copied); copy it whole or rebuild "
            "it with `facedata build`",
        )


def gather(root: Path, sample_cap: int = 8) -> CorpusData:
    from facedata.storage.location import corpus_caches

    root = Path(root)
    meta = load_corpus_json(root)
    check_listed_shards(root, meta)
    stats = scan_shards(root, sample_cap)
    publication = Publication.of(meta, corpus_caches(root))
    picked = {k: publication.apply(v) for k, v in load_samples(stats).items()}
    return CorpusData(root, meta, stats, picked, sample_cap)
