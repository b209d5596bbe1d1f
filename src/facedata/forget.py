"""`facedata forget`: honour a participant's withdrawal in corpora already built.

Each named corpus is rewritten into a temp folder without the subject's rows and
swapped in only when complete (a crash leaves the old corpus, never a half-erased
one). Its provenance records the erasure; a log outside the corpora records it too,
so the team can show when each request was honoured. The subject's cached frames
are deleted, so the next build cannot bring them back.
"""

from __future__ import annotations

import datetime as dt
import getpass
import json
import os
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from .assemble.pipeline import Tally
from .assemble.schema import CORPUS_JSON, DATA_DIR, SCHEMA
from .assemble.writer import file_sha256
from .atomic import atomic_dir, atomic_write_text
from .corpus import read_corpus
from .errors import FacedataError
from .paths import home

COUNT_COLUMNS = ["split", "dataset", "smile", "expression", "align_status"]


def erasure_log_path() -> Path:
    return home() / "erasure-log.jsonl"


def frames_dir() -> Path:
    """Frames extracted from own videos, as home()/frames/<dataset>/<subject_id>/."""
    return home() / "frames"


def _damaged(path: Path, problem: str) -> FacedataError:
    return FacedataError(
        f"{path} is a damaged corpus: {problem}",
        hint="nothing was changed; rebuild it with `facedata build` (or restore a copy), then "
        "run forget again",
    )


def _load_corpus(path: Path) -> dict:
    corpus = read_corpus(path, require={"shards": list, "counts": dict})
    if not all(isinstance(s, dict) and isinstance(s.get("path"), str) for s in corpus["shards"]):
        raise _damaged(path, f"{CORPUS_JSON} lists a shard without a path")
    return corpus


def _check_shards(path: Path, corpus: dict) -> None:
    """Open every listed shard's footer, so a broken one stops forget before any write."""
    for shard in corpus["shards"]:
        try:
            pq.ParquetFile(Path(path) / shard["path"]).schema_arrow  # noqa: B018
        except (pa.ArrowException, OSError) as exc:
            raise _damaged(path, f"cannot read shard {shard['path']}: {exc}") from None


def _link_or_copy(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def _filter_shard(src: Path, dst: Path, subject_id: str, dataset: str | None) -> int:
    """Copy `src` to `dst` without the subject's rows, batch by batch; return rows removed."""
    pf = pq.ParquetFile(src)
    removed = 0
    with pq.ParquetWriter(dst, SCHEMA, compression="zstd") as writer:
        for batch in pf.iter_batches(batch_size=1024):
            hit = pc.equal(batch.column("subject_id"), subject_id)
            if dataset:
                hit = pc.and_(hit, pc.equal(batch.column("dataset"), dataset))
            hit = pc.fill_null(hit, False)
            removed += pc.sum(hit).as_py() or 0
            writer.write_batch(batch.filter(pc.invert(hit)))
    return removed


def _renumber(root: Path, shards: list[dict]) -> list[dict]:
    """Drop shards left empty and renumber the rest: readers choke on zero-row files."""
    kept: list[dict] = []
    by_split: dict[str, list[dict]] = {}
    for shard in shards:
        if shard["rows"] == 0:
            (root / shard["path"]).unlink()
            continue
        split = Path(shard["path"]).name.split("-")[0]
        by_split.setdefault(split, []).append(shard)
    for split, group in by_split.items():
        for i, shard in enumerate(group):
            old = root / shard["path"]
            new = old.with_name(f"{split}-{i:05d}-of-{len(group):05d}.parquet")
            if new != old:
                os.replace(old, new)
                shard["path"] = str(Path(shard["path"]).with_name(new.name))
            kept.append(shard)
    return kept


def _recount(root: Path, shards: list[dict]) -> dict:
    tally = Tally()
    for shard in shards:
        table = pq.read_table(root / shard["path"], columns=COUNT_COLUMNS)
        for row in table.to_pylist():
            tally.row(row)
    counts = tally.counts()
    counts.pop("read", None)
    return counts


def forget_in_corpus(path: Path, subject_id: str, dataset: str | None, entry: dict) -> int:
    """Remove one subject from one corpus atomically; return the rows removed."""
    path = Path(path)
    corpus = _load_corpus(path)
    _check_shards(path, corpus)
    try:
        return _rewrite(path, corpus, subject_id, dataset, entry)
    except (pa.ArrowException, OSError) as exc:
        raise FacedataError(
            f"cannot erase from {path}: {exc}",
            hint="the corpus was left as it was; check the disk and its shards (a damaged "
            "shard needs a rebuild), then run forget again",
        ) from None


def _rewrite(path: Path, corpus: dict, subject_id: str, dataset: str | None, entry: dict) -> int:
    with atomic_dir(path) as tmp:
        removed = 0
        touched = set()
        for shard in corpus["shards"]:
            src, dst = path / shard["path"], tmp / shard["path"]
            dst.parent.mkdir(parents=True, exist_ok=True)
            n = _filter_shard(src, dst, subject_id, dataset)
            if n:
                removed += n
                touched.add(shard["path"])
                shard.update(
                    rows=pq.ParquetFile(dst).metadata.num_rows,
                    sha256=file_sha256(dst),
                    bytes=dst.stat().st_size,
                )
            else:
                dst.unlink()
                _link_or_copy(src, dst)
        corpus["shards"] = _renumber(tmp, corpus["shards"])
        for item in path.rglob("*"):
            rel = item.relative_to(path)
            if rel.parts[0] == DATA_DIR or rel.as_posix() == CORPUS_JSON:
                continue  # shards and provenance were rewritten above
            if item.is_file() and not (tmp / rel).exists():
                _link_or_copy(item, tmp / rel)
        base_counts = corpus["counts"]
        corpus["counts"] = {**_recount(tmp, corpus["shards"]), "read": base_counts.get("read")}
        corpus.setdefault("forgotten", []).append({**entry, "rows_removed": removed})
        atomic_write_text(tmp / CORPUS_JSON, json.dumps(corpus, indent=2, default=str))
        if removed:
            from .bundle import write_bundle

            write_bundle(tmp, corpus)  # card counts and Croissant file hashes changed
    return removed


def delete_cached_frames(subject_id: str) -> list[Path]:
    gone = []
    root = frames_dir()
    if root.is_dir():
        for folder in root.glob(f"*/{subject_id}"):
            if folder.is_dir():
                shutil.rmtree(folder)
                gone.append(folder)
    return gone


def forget(
    subject_id: str,
    corpora: list[Path],
    *,
    dataset: str | None = None,
    by: str | None = None,
    reason: str = "consent withdrawn",
) -> dict:
    """Erase a subject from every named corpus and from the frame cache; log it."""
    if not subject_id.strip():
        raise FacedataError(
            "empty subject id", hint="pass the pseudonymous id, e.g. --subject P017"
        )
    for p in corpora:  # refuse before touching anything if one corpus is wrong
        _check_shards(p, _load_corpus(p))
    entry = {
        "subject_id": subject_id,
        "dataset": dataset,
        "by": by or getpass.getuser(),
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "reason": reason,
    }
    per_corpus: dict[str, int] = {}
    for p in corpora:
        try:
            per_corpus[str(p)] = forget_in_corpus(p, subject_id, dataset, entry)
        except FacedataError as exc:
            if per_corpus:  # erasures already done are logged even when a later one fails
                _log({**entry, "corpora": per_corpus, "frames_deleted": [], "failed": str(p)})
                exc.message += f" (already erased from, and logged: {', '.join(per_corpus)})"
            raise
    frames = delete_cached_frames(subject_id)
    record = {**entry, "corpora": per_corpus, "frames_deleted": [str(f) for f in frames]}
    _log(record)
    return record


def _log(record: dict) -> None:
    log = erasure_log_path()
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(record) + "\n")
        fh.flush()
        os.fsync(fh.fileno())
