"""`facedata forget`: honour a participant's withdrawal in every corpus, now and later.

Each corpus is rewritten into a temp folder without the subject's rows and swapped in
only when complete (a crash leaves the old corpus, never a half-erased one). What was
derived from those rows goes too: the report page (with its thumbnails) is rewritten,
the cached video frames are deleted. The corpus keeps the withdrawal in `forgotten`,
and the withdrawal ledger under $FACEDATA_HOME records it, so no later build brings
the person back until the consent register re-grants (see facedata.consent.withdrawals).

Without corpus paths, every corpus in the registry (facedata.corpus.registry) is erased;
with paths, registered corpora that hold the subject but were not named are listed.
A corpus on object storage (named by URL, or registered by one) is staged, erased in
a private copy and published back as a new version (facedata.storage). One whose
store cannot be reached keeps the erasure as pending: it is logged (so every later
build leaves the subject out), kept with the corpus's registry entry, applied by the
next `forget` that reaches the store, and reported as not done.
A subject id is matched exactly; an id that matches nothing anywhere is an error
with near matches (`p109` -> P109), and nothing is logged.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import difflib
import getpass
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from facedata.consent.withdrawals import (
    MULTI,
    beside_files,
    ledger_path,
    publish_lock,
    read_ledger,
    subjects_of,
)
from facedata.consent.withdrawals import append as append_ledger
from facedata.corpus import (
    CORPUS_JSON,
    DATA_DIR,
    CorpusRecord,
    file_sha256,
    read_corpus,
    renumber,
    write_corpus,
)
from facedata.corpus.counts import count_shards
from facedata.corpus.read import text_problem
from facedata.errors import FacedataError
from facedata.files.atomic import atomic_dir
from facedata.paths import home

if TYPE_CHECKING:
    from facedata.storage.location import Location


def erasure_log_path() -> Path:
    return ledger_path()


def _holds(subject_id: str | None, wanted: str) -> bool:
    """Exact match, or one of the ids of a frame several participants share."""
    return subject_id is not None and wanted in subjects_of(subject_id)


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
    """The record, type-checked (a shard without a path is damage)."""
    return read_corpus(path, require=("shards", "counts"))


def _check_shards(path: Path, corpus: CorpusRecord) -> None:
    """Open every listed shard's footer, so a broken one stops forget before any write."""
    for shard in corpus.shards:
        try:
            schema = pq.ParquetFile(shard.file(path)).schema_arrow
        except (pa.ArrowException, OSError) as exc:
            raise _damaged(path, f"cannot read shard {shard.path}: {exc}") from None
        problem = text_problem(schema, ("subject_id", "dataset", "split"))
        if problem:
            raise _damaged(path, f"shard {shard.path}: {problem}")


def _link_or_copy(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


Scope = frozenset[str] | None  # the dataset ids a withdrawal covers; None: every dataset


def _filter_shard(src: Path, dst: Path, subject_id: str, scope: Scope) -> int:
    """Copy `src` to `dst` without the subject's rows, batch by batch; return rows removed."""
    pf = pq.ParquetFile(src)
    removed = 0
    # the shard's own schema: its label names and image mode stay as built
    with pq.ParquetWriter(dst, pf.schema_arrow, compression="zstd") as writer:
        for batch in pf.iter_batches(batch_size=1024):
            ids = batch.column("subject_id").to_pylist()
            sets = batch.column("dataset").to_pylist()
            hit = pa.array(
                [
                    _holds(i, subject_id) and (scope is None or d in scope)
                    for i, d in zip(ids, sets, strict=True)
                ],
                pa.bool_(),
            )
            removed += pc.sum(hit).as_py() or 0
            writer.write_batch(batch.filter(pc.invert(hit)))
    return removed


def subjects_in(path: Path, corpus: CorpusRecord | None = None) -> dict[str, set[str]]:
    """Every subject id in a corpus's shards, with the datasets it appears in."""
    corpus = corpus or _load_corpus(path)
    found: dict[str, set[str]] = {}
    for shard in corpus.shards:
        try:
            table = pq.read_table(shard.file(path), columns=["subject_id", "dataset"])
        except (pa.ArrowException, OSError) as exc:
            raise _damaged(path, f"cannot read shard {shard.path}: {exc}") from None
        ids, sets = table.column("subject_id").to_pylist(), table.column("dataset").to_pylist()
        for sid, ds in zip(ids, sets, strict=True):
            for one in subjects_of(sid):
                found.setdefault(one, set()).add(ds)
    return found


def _recount(root: Path, corpus: CorpusRecord) -> CorpusRecord:
    """The record with counts and head statistics from the shards as they are now."""
    return corpus.with_counts(count_shards([s.file(root) for s in corpus.shards]).to_dict())


def forget_in_corpus(path: Path, subject_id: str, scope: Scope, entry: dict) -> int:
    """Remove one subject from one corpus atomically; return the rows removed."""
    from facedata.files.locking import exclusive

    path = Path(path)
    with exclusive(path, "forget"):  # a build into this corpus would replace it meanwhile
        return _forget_locked(path, subject_id, scope, entry)


def _forget_locked(path: Path, subject_id: str, scope: Scope, entry: dict) -> int:
    corpus = _load_corpus(path)
    _check_shards(path, corpus)
    try:
        return _rewrite(path, corpus, subject_id, scope, entry)
    except (pa.ArrowException, OSError) as exc:
        raise FacedataError(
            f"cannot erase from {path}: {exc}",
            hint="the corpus was left as it was; check the disk and its shards (a damaged "
            "shard needs a rebuild), then run forget again",
        ) from None


def _rewrite(path: Path, corpus: CorpusRecord, subject_id: str, scope: Scope, entry: dict) -> int:
    with atomic_dir(path) as tmp:
        removed = 0
        shards = []
        for listed in corpus.shards:
            shard = listed.model_dump(mode="json", exclude_unset=True)
            src, dst = listed.file(path), tmp / listed.path
            dst.parent.mkdir(parents=True, exist_ok=True)
            n = _filter_shard(src, dst, subject_id, scope)
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
            shards.append(shard)
        corpus = corpus.with_shards(renumber(tmp, shards))
        for item in path.rglob("*"):
            rel = item.relative_to(path)
            if rel.parts[0] == DATA_DIR or rel.as_posix() == CORPUS_JSON:
                continue  # shards and provenance were rewritten above
            # a link is never carried over: in a corpus received from someone else it
            # may lead anywhere, and following it would copy that file into the corpus
            if not item.is_symlink() and item.is_file() and not (tmp / rel).exists():
                _link_or_copy(item, tmp / rel)
        corpus = _recount(tmp, corpus).without_subject(
            subject_id, scope, {**entry, "rows_removed": removed}
        )
        write_corpus(tmp, corpus)
        if removed:
            from facedata.bundle import write_bundle

            # card counts and Croissant file hashes changed; a damaged citation in the
            # record is left out rather than allowed to block the erasure
            write_bundle(tmp, corpus.to_json(), withhold_unsafe=True)
        _rewrite_report(tmp, name=path)  # the page names the corpus, not its temp copy
    return removed


def _rewrite_report(root: Path, page: Path | None = None, name: Path | None = None) -> None:
    """A report embeds thumbnails of rows: rebuild it from what is left, or delete it.

    `page` is one written outside the corpus (`report --out`); default: the corpus's own.
    """
    from facedata.report import REPORT_NAME, write_report

    target = page if page is not None else root / REPORT_NAME
    if not target.exists():
        return
    target.unlink()  # a hard link to the old page: never write through it
    try:
        write_report(root, page, name=name)
    except Exception:  # the page is derived; without it nothing of the subject remains
        target.unlink(missing_ok=True)


def delete_cached_frames(subject_id: str, scope: Scope = None) -> list[Path]:
    """Frame folders of the subject, shared frames (P001+P002) included."""
    gone = []
    root = frames_dir()
    if root.is_dir():
        for folder in sorted(root.glob("*/*")):
            if scope is not None and folder.parent.name not in scope:
                continue
            if folder.is_dir() and subject_id in folder.name.split(MULTI):
                shutil.rmtree(folder)
                gone.append(folder)
    return gone


def _known_subjects(
    targets: list[Path], others: list[Path], manifests: list[Path]
) -> tuple[set[str], dict[str, dict[str, set[str]]], list[str]]:
    """Ids a forget request may name: in corpora, consent registers, or the ledger.

    Also which unnamed registered corpora could not be read (damaged since): named ones
    must be readable, unnamed ones are only reported.
    """
    per_corpus = {str(p): subjects_in(p) for p in targets}
    unreadable = []
    for p in others:
        try:
            per_corpus[str(p)] = subjects_in(p)
        except FacedataError:
            unreadable.append(str(p))
    known: set[str] = set()
    for ids in per_corpus.values():
        known |= set(ids)
    known |= {w.subject_id for w in read_ledger()}
    known |= _register_subjects(manifests)
    return known, per_corpus, unreadable


def _learnt_by_a_model(subject_id: str) -> bool:
    from facedata.learn.registry import learnt_by_any

    return learnt_by_any(subject_id)


def _register_subjects(manifests: list[Path]) -> set[str]:
    """Subject ids in the consent registers of every local source the catalog knows."""
    from facedata.consent.register import load_register
    from facedata.manifest.catalog import Catalog

    found: set[str] = set()
    try:
        catalog = Catalog.load(manifests)
    except FacedataError:
        return found
    for m in catalog:
        for src in m.sources:
            if src.is_own_data and src.consent:
                try:
                    reg = load_register(m.resolve(src.consent))
                except FacedataError:
                    continue
                found |= set(reg.records) | set(reg.malformed)
    return found


def _unknown_subject(subject_id: str, known: set[str]) -> FacedataError:
    same = sorted(k for k in known if k.lower() == subject_id.lower())
    near = same + [
        k
        for k in difflib.get_close_matches(subject_id, sorted(known), n=3, cutoff=0.6)
        if k not in same
    ]
    hint = (
        f"did you mean {', '.join(near)}? ids are matched exactly"
        if near
        else "check the id in your consent register; ids are matched exactly"
    )
    return FacedataError(
        f"subject {subject_id!r} is in no corpus, consent register or withdrawal ledger; "
        "nothing was erased or logged",
        hint=hint,
    )


def forget(
    subject_id: str,
    corpora: list[Path | str] | None = None,
    *,
    dataset: str | None = None,
    by: str | None = None,
    reason: str = "consent withdrawn",
    manifests: list[Path] | None = None,
    cache: str | None = None,
) -> dict:
    """Erase a subject from corpora (named, else every registered one) and caches; log it.

    `manifests` are extra manifest folders whose consent registers also know subjects.
    Builds publish under the same lock, so none publishes the subject meanwhile.
    A corpus may be a URL on object storage; the record names it by its URL.
    With a fetch cache (`cache`, else FACEDATA_CACHE_URL) the withdrawal is also written
    there, for builds on other homes (storage/cachewithdrawals.py).
    """
    from facedata.storage.location import cache_location

    remote = cache_location(cache)  # a bad or keyed URL is refused before anything changes
    with publish_lock():
        return _forget(
            subject_id,
            corpora,
            dataset=dataset,
            by=by,
            reason=reason,
            manifests=manifests,
            cache=remote,
        )


def _forget(
    subject_id: str,
    corpora: list[Path | str] | None,
    *,
    dataset: str | None,
    by: str | None,
    reason: str,
    manifests: list[Path] | None,
    cache: Location | None = None,
) -> dict:
    from facedata.corpus.registry import live_corpora, remote_corpora

    subject_id = subject_id.strip()
    if not subject_id:
        raise FacedataError(
            "empty subject id", hint="pass the pseudonymous id, e.g. --subject P017"
        )
    if MULTI in subject_id:
        raise FacedataError(
            f"{subject_id!r} names several subjects", hint="forget one subject id at a time"
        )
    from facedata.storage.location import StorageError, is_remote, parse

    urls: dict[str, str] = {}  # staged folder -> the remote corpus's URL, as given
    unreached: list[dict] = []  # remote corpora whose store did not answer
    given: dict[str, str] = {}  # URL -> as given (with the `?endpoint=` to reach it)
    named = []
    for value in corpora or []:
        if is_remote(value):
            parse(value)  # a URL carrying keys is refused, never kept as pending
            try:
                named.append(_staged(value, urls))
            except StorageError as exc:  # unreachable: the erasure waits for the store
                unreached.append({"corpus": _name(value), "problem": _problem(exc)})
                given[_name(value)] = str(value)
        else:
            named.append(Path(value))
    registered = [r.path for r in live_corpora()]
    if not corpora:
        for r in remote_corpora():
            try:
                registered.append(_staged(r.reach, urls))
            except FacedataError as exc:
                unreached.append({"corpus": r.where, "problem": _problem(exc)})
    targets = named if corpora else registered
    for p in targets:  # refuse before touching anything if one corpus is wrong
        _check_shards(p, _load_corpus(p))
    named_keys = {_same(p) for p in targets}
    others = [p for p in registered if _same(p) not in named_keys]
    known, holdings, unreadable = _known_subjects(targets, others, manifests or [])
    # a home that pushed the dataset to the fetch cache but built nothing still records
    # the withdrawal there: builds from the cache on other homes may hold the subject
    only_recorded = subject_id not in known and cache is not None and dataset is not None
    if (
        subject_id not in known
        and not only_recorded
        and not _learnt_by_a_model(subject_id)
        and not unreached
    ):
        # (a corpus that could not be reached may hold the subject: the erasure waits)
        raise _unknown_subject(subject_id, known)
    scope: Scope = None
    if dataset is not None:
        if not unreached:  # else the dataset may be known only to a corpus not reached
            _check_dataset(dataset, holdings, manifests or [])
        scope = same_people(dataset, manifests or [])
    unnamed = [
        _name(urls.get(str(p), p))
        for p in others
        if str(p) in holdings
        and subject_id in holdings[str(p)]
        and (scope is None or scope & holdings[str(p)][subject_id])
    ]
    own = own_sources(subject_id, scope, manifests or [])
    own += corpus_sources(subject_id, scope, [*targets, *map(Path, unnamed)], own)
    entry = {
        "subject_id": subject_id,
        "dataset": dataset,
        **({"copies": sorted(scope - {dataset})} if scope and dataset is not None else {}),
        "by": by or _user(),
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "reason": reason,
        "recordings": sorted({h for _, _, hashes in own for h in hashes}),
    }
    files, unwritten = record_beside(own, entry)  # first: it travels if an erasure fails
    per_corpus: dict[str, int] = {}
    pending: list[dict] = []  # remote corpora not erased yet: the store did not answer
    for item in unreached:
        pending.append(item)
        _keep_pending(given.get(item["corpus"], item["corpus"]), entry)
    uploading = [_name(urls[str(p)]) for p in targets if str(p) in urls]
    if uploading or pending:
        # on record before any upload starts: a kill mid-upload leaves the erasure
        # pending (logged for builds, kept for the next forget), never lost
        for p in targets:
            if str(p) in urls:
                _keep_pending(urls[str(p)], entry)
        waiting = [{"corpus": u, "problem": "erasure started, not confirmed"} for u in uploading]
        _log({**entry, "corpora": {}, "pending": [*pending, *waiting]})
    for p in targets:
        url = urls.get(str(p))
        try:
            if url is not None:
                per_corpus[_name(url)] = _forget_remote(url, subject_id, scope, entry)
            else:
                per_corpus[str(p)] = forget_in_corpus(p, subject_id, scope, entry)
        except FacedataError as exc:
            if url is not None:  # staged, but erasing or publishing failed
                pending.append({"corpus": _name(url), "problem": _problem(exc)})
                _keep_pending(_name(url), entry)
                continue
            # the withdrawal is logged even when one corpus fails: later builds must honour it
            _log(
                {**entry, "corpora": per_corpus, "frames_deleted": [], "failed": str(p)}
                | ({"pending": pending} if pending else {})
            )
            done = f"already erased from: {', '.join(per_corpus)}" if per_corpus else "none erased"
            exc.message += f" (the withdrawal is logged; {done})"
            raise
    from facedata.corpus.registry import reports_of

    for p in targets:
        if str(p) in per_corpus:
            for page in reports_of(p):  # pages written elsewhere with `report --out`
                _rewrite_report(Path(p), page)
    frames = delete_cached_frames(subject_id, scope)
    from facedata.learn.registry import mark_models

    concerned = set(scope or ()) or {
        ds for ids in holdings.values() for ds in ids.get(subject_id, ())
    } | {ds for ds, _, _ in own}
    on_cache, cache_problem = _record_on_cache(cache, concerned, entry)
    record = {
        **entry,
        "models": mark_models(subject_id, entry),  # trained on the subject: retrain
        "corpora": per_corpus,
        "frames_deleted": [str(f) for f in frames],
        "unnamed": unnamed,
        "unchecked": unreadable,
        "withdrawal_files": [str(f) for f in files],
        "missing": [] if corpora else _missing(),
        "pending": pending,
        **({"cache_withdrawals": on_cache} if cache is not None else {}),
        **({"cache_problem": cache_problem} if cache_problem else {}),
        **({"unknown_here": True} if only_recorded else {}),
    }
    _log(record)
    if cache_problem:
        raise FacedataError(
            "the subject was erased and the withdrawal logged in this home, but it could not "
            f"be written to the fetch cache: {cache_problem}",
            hint="builds from the cache on other homes will not see it; run this forget again "
            "once the store is reachable",
        )
    if unwritten:
        raise FacedataError(
            "the subject was erased and the withdrawal logged in this home, but it could not "
            "be recorded with the recordings: " + "; ".join(unwritten),
            hint="builds of a copy of those recordings on another home will not see it; make "
            "that folder writable and run this forget again",
        )
    return record


def _record_on_cache(
    cache: Location | None, datasets: set[str], entry: dict
) -> tuple[list[str], str]:
    """Write the withdrawal to the fetch cache under each dataset it concerns: the keys
    written, and what went wrong ("" when nothing did)."""
    if cache is None:
        return [], ""
    if not datasets:
        return [], ""  # no dataset holds the subject here: nothing to file it under
    from facedata.consent.withdrawals import parse_withdrawal
    from facedata.storage import cachewithdrawals

    try:
        keys = cachewithdrawals.record(cache, datasets, [parse_withdrawal(entry, "forget")])
    except FacedataError as exc:
        return [], exc.message
    return [f"{cache.url}/{k}" for k in keys], ""


def _staged(value: Path | str, urls: dict[str, str]) -> Path:
    """The folder to read a corpus in: itself, or (a URL) its staged copy, remembered
    in `urls` under the URL it stands for."""
    from facedata.storage.location import is_remote, parse
    from facedata.storage.stage import stage

    if not is_remote(value):
        return Path(value)
    folder = stage(parse(value))
    urls[str(folder)] = str(value)
    return folder


def _name(value: Path | str) -> str:
    """How a corpus is recorded and printed: a URL without credentials, or its folder."""
    from facedata.storage import shown

    return shown(value)


def _problem(exc: FacedataError) -> str:
    from facedata.storage import redact

    return redact(exc.message)


def _scope_of(mark: dict) -> Scope:
    """The datasets an erasure mark covers (None: every dataset)."""
    if not isinstance(mark.get("dataset"), str):
        return None
    return frozenset({mark["dataset"], *(mark.get("copies") or [])})


def erase_mark(path: Path, mark: dict) -> int:
    """Apply an erasure recorded elsewhere (a `forgotten` mark, a pending erasure) to the
    corpus at `path`, as the same mark; a mark naming no subject is not acted on."""
    subject = mark.get("subject_id")
    if not isinstance(subject, str) or not subject:
        return 0
    entry = {k: v for k, v in mark.items() if k != "rows_removed"}
    return forget_in_corpus(path, subject, _scope_of(mark), entry)


def _keep_pending(url: str, entry: dict) -> None:
    """Remember an erasure the store at `url` did not take, for the next `forget`."""
    from facedata.corpus.registry import pending_of, set_pending

    waiting = pending_of(url)
    if entry not in waiting:
        set_pending(url, [*waiting, entry])


REMOTE_ATTEMPTS = 5  # a remote corpus republished meanwhile is staged and erased again


def _forget_remote(given: str, subject_id: str, scope: Scope, entry: dict) -> int:
    """Erase from a remote corpus: a private copy, erased (with every erasure still
    pending for it), its report pages rewritten, published back as a new version.
    `given` is the URL as given (it may carry the store's settings)."""
    from facedata.corpus.registry import pending_of, reports_of, set_pending
    from facedata.storage import local_corpus
    from facedata.storage.remote import Conflict

    url = _name(given)
    waiting = [
        p
        for p in pending_of(url)
        if (p.get("subject_id"), p.get("dataset")) != (subject_id, entry.get("dataset"))
    ]
    for attempt in range(REMOTE_ATTEMPTS):
        left: list[str] = []  # old versions (holding the subject) the store kept
        try:
            # purge: a half-written version, whatever its age, may hold the subject's rows
            with local_corpus(given, writeback=True, purge=True, left=left) as copy:
                for old in waiting:
                    erase_mark(copy, old)
                removed = forget_in_corpus(copy, subject_id, scope, entry)
                for page in reports_of(url):  # pages written elsewhere with `report --out`
                    _rewrite_report(copy, page, name=Path(url))
        except Conflict:  # published meanwhile (another forget, a build): erase from that
            if attempt + 1 == REMOTE_ATTEMPTS:
                raise
            continue
        if left:
            from facedata.storage import StorageError

            raise StorageError(
                f"{url} now holds the erased version, but the store refused to delete the "
                f"old version(s) {', '.join(left)}, which still hold the subject's rows",
                hint="allow DELETE on the prefix (or delete those versions by hand), then run "
                "`facedata forget` again",
            )
        set_pending(url, [])
        return removed
    raise AssertionError("unreachable")


OwnSource = tuple[str, list[Path], set[str]]  # dataset id, withdrawals files, recording sha256s


def own_sources(subject_id: str, scope: Scope, manifests: list[Path]) -> list[OwnSource]:
    """Own sources the catalog knows whose register or annotations name the subject,
    with the sha256 of the subject's recordings there."""
    from facedata.consent.register import load_register
    from facedata.manifest.catalog import Catalog
    from facedata.read.local import recordings_of

    try:
        catalog = Catalog.load(manifests)
    except FacedataError:
        return []
    out = []
    for m in catalog:
        if scope is not None and m.id not in scope:
            continue
        for src in m.sources:
            if not src.is_own_data or not src.consent:
                continue
            register = m.resolve(src.consent)
            try:
                reg = load_register(register)
                known = subject_id in reg.records or subject_id in reg.malformed
            except FacedataError:
                known = False
            root = m.resolve(src.path or ".")
            try:
                hashes = recordings_of(root, m.format_for(src).options, subject_id)
            except (FacedataError, OSError):
                hashes = set()
            if known or hashes:
                out.append((m.id, beside_files(register, root), hashes))
    return out


def corpus_sources(
    subject_id: str, scope: Scope, corpora: list[Path], known: list[OwnSource]
) -> list[OwnSource]:
    """Own sources the corpora were built from that the catalog did not name (a forget
    run without the team's manifest folder): corpus.json records where their register
    and recordings were, so the withdrawal still lands beside them and travels."""
    from facedata.consent.register import load_register

    covered = {os.path.abspath(f) for _, files, _ in known for f in files}
    out: list[OwnSource] = []
    for path in corpora:
        try:
            records = _load_corpus(path).datasets
        except FacedataError:
            continue
        for rec in records:
            if not isinstance(rec, dict) or not isinstance(rec.get("id"), str):
                continue
            if scope is not None and rec["id"] not in scope:
                continue
            inputs = [i for i in rec.get("inputs") or [] if isinstance(i, dict)]
            register = next(
                (i.get("origin") for i in inputs if i.get("role") == "consent register"), None
            )
            if not isinstance(register, str):
                continue
            mine = [i for i in inputs if subject_id in (i.get("subjects") or [])]
            try:
                reg = load_register(Path(register))
                named = subject_id in reg.records or subject_id in reg.malformed
            except FacedataError:
                named = False
            if not (named or mine):
                continue
            first = inputs[0] if inputs else {}
            root = _input_root(first) or Path(register).parent
            files = [
                f for f in beside_files(Path(register), root) if os.path.abspath(f) not in covered
            ]
            if files:
                covered.update(os.path.abspath(f) for f in files)
                hashes = {str(i["sha256"]) for i in mine if isinstance(i.get("sha256"), str)}
                out.append((rec["id"], files, hashes))
    return out


def _input_root(entry: dict) -> Path | None:
    """The recordings folder an input was read from (its origin less its name)."""
    origin, name = entry.get("origin"), entry.get("name")
    if not isinstance(origin, str) or not isinstance(name, str) or not name:
        return None
    origin_path, parts = Path(origin), Path(name).parts
    if origin_path.parts[-len(parts) :] != parts:
        return None
    return Path(*origin_path.parts[: -len(parts)]) if len(origin_path.parts) > len(parts) else None


def record_beside(own: list[OwnSource], entry: dict) -> tuple[list[Path], list[str]]:
    """Append the withdrawal to each source's withdrawals files (append-only); return
    the files written and the problems of those that could not be."""
    written, failed = [], []
    for dataset_id, paths, hashes in own:
        record = {**entry, "dataset": dataset_id, "recordings": sorted(hashes)}
        for path in paths:
            try:
                append_ledger(record, path)
            except (OSError, TimeoutError) as exc:
                failed.append(f"{path}: {getattr(exc, 'strerror', None) or exc}")
                continue
            written.append(path)
    return written, failed


def same_people(dataset: str, manifests: list[Path]) -> frozenset[str]:
    """`dataset` and every catalog dataset holding the same bytes under another id (the
    same URL, Kaggle slug, Hub repo, LicenseRef id, fetched sha256 or image files): a withdrawal
    named for one covers the rows of the others in existing corpora, as builds do."""
    from facedata.fetch.store import fetched_hashes
    from facedata.gate.licensing import TwinIndex
    from facedata.manifest.catalog import Catalog

    try:
        catalog = Catalog.load(manifests)
    except FacedataError:
        return frozenset({dataset})  # a broken manifest folder: the named id still goes
    if dataset not in catalog:
        return frozenset({dataset})
    from facedata.gate import filetwins

    fetched = filetwins.merged(
        {ds: set(h) for ds, h in fetched_hashes().items()},
        filetwins.local_trees([m.id for m in catalog]),  # the same photos under another id
    )
    twins = TwinIndex(catalog, fetched)
    manifest = catalog.get(dataset)
    hashes = fetched.get(dataset, set())
    copies = {c for src in manifest.sources for c in twins.copies(manifest, src, hashes)}
    return frozenset({dataset, *copies})


def _missing() -> list[dict]:
    """Registered corpora forget could not reach: moved or deleted since they were built."""
    from facedata.corpus.registry import missing_corpora

    return [{"id": r.id, "path": str(r.path)} for r in missing_corpora()]


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name in some containers
        return "unknown"


def _check_dataset(
    dataset: str, holdings: dict[str, dict[str, set[str]]], manifests: list[Path]
) -> None:
    """A mistyped --dataset would log a withdrawal no build ever matches: refuse it."""
    from facedata.manifest.catalog import Catalog

    known = {ds for ids in holdings.values() for sets in ids.values() for ds in sets}
    with contextlib.suppress(FacedataError):  # a broken catalog: corpora still count
        known |= set(Catalog.load(manifests).ids)
    if dataset not in known:
        near = difflib.get_close_matches(dataset, sorted(known), n=3, cutoff=0.5)
        raise FacedataError(
            f"--dataset {dataset!r} is in no corpus and no manifest; nothing was erased or logged",
            hint=f"did you mean {', '.join(near)}?" if near else "run `facedata list` for ids",
        )


def _same(path: Path) -> Path:
    try:
        return Path(path).resolve()
    except OSError:
        return Path(path)


def _log(record: dict) -> None:
    append_ledger(record)
