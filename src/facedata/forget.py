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

from .atomic import atomic_dir
from .corpus import (
    CORPUS_JSON,
    DATA_DIR,
    CorpusRecord,
    Counts,
    Head,
    Shard,
    file_sha256,
    heads_record,
    read_corpus,
    renumber,
)
from .corpus.counts import count_shards
from .errors import FacedataError
from .paths import home


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


def _load_corpus(path: Path) -> CorpusRecord:
    return read_corpus(path, require=("shards", "counts"))


def _check_shards(path: Path, corpus: CorpusRecord) -> None:
    """Open every listed shard's footer, so a broken one stops forget before any write."""
    for shard in corpus.shards:
        try:
            pq.ParquetFile(Path(path) / shard.path).schema_arrow  # noqa: B018
        except (pa.ArrowException, OSError) as exc:
            raise _damaged(path, f"cannot read shard {shard.path}: {exc}") from None


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
    # the shard's own schema: its label names and image mode stay as built
    with pq.ParquetWriter(dst, pf.schema_arrow, compression="zstd") as writer:
        for batch in pf.iter_batches(batch_size=1024):
            hit = pc.equal(batch.column("subject_id"), subject_id)
            if dataset:
                hit = pc.and_(hit, pc.equal(batch.column("dataset"), dataset))
            hit = pc.fill_null(hit, False)
            removed += pc.sum(hit).as_py() or 0
            writer.write_batch(batch.filter(pc.invert(hit)))
    return removed


def _recount(root: Path, corpus: CorpusRecord) -> None:
    """Counts and head statistics from the shards as they are now."""
    counts = count_shards([root / s.path for s in corpus.shards]).to_dict()
    read = corpus.counts.read
    corpus.counts = Counts.model_validate({**counts, "read": read})
    if corpus.heads:  # a record from before head statistics gets none invented
        heads = heads_record(corpus.expression_names(), counts)
        corpus.heads = {k: Head.model_validate(v) for k, v in heads.items()}


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


def _rewrite(
    path: Path, corpus: CorpusRecord, subject_id: str, dataset: str | None, entry: dict
) -> int:
    with atomic_dir(path) as tmp:
        removed = 0
        shards = [s.model_dump(mode="json", exclude_unset=True) for s in corpus.shards]
        for shard in shards:
            src, dst = path / shard["path"], tmp / shard["path"]
            dst.parent.mkdir(parents=True, exist_ok=True)
            n = _filter_shard(src, dst, subject_id, dataset)
            if n:
                removed += n
                shard.update(
                    rows=pq.ParquetFile(dst).metadata.num_rows,
                    sha256=file_sha256(dst),
                    bytes=dst.stat().st_size,
                )
            else:
                dst.unlink()
                _link_or_copy(src, dst)
        corpus.shards = [Shard.model_validate(s) for s in renumber(tmp, shards)]
        for item in path.rglob("*"):
            rel = item.relative_to(path)
            if rel.parts[0] == DATA_DIR or rel.as_posix() == CORPUS_JSON:
                continue  # shards and provenance were rewritten above
            if item.is_file() and not (tmp / rel).exists():
                _link_or_copy(item, tmp / rel)
        _recount(tmp, corpus)
        corpus.forgotten = [*corpus.forgotten, {**entry, "rows_removed": removed}]
        corpus.write(tmp)
        if removed:
            from .bundle import write_bundle

            write_bundle(tmp, corpus.to_dict())  # card counts and Croissant file hashes changed
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
