"""`facedata build`: gate, read, remap, align, dedup, split, write, bundle.

Data flows one way. Readers stream samples; the remap labels them; batches go to
workers (in-process for one worker, a process pool otherwise, with a bounded number
of batches in flight so memory stays flat); the main process dedups, assigns splits
and appends to Parquet shards. Everything is written into a temp folder that
replaces the output only when complete.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from facedata import __version__
from facedata.assemble.context import BuildContext, Progress
from facedata.assemble.dedup import Deduper
from facedata.assemble.merge import run_sharded
from facedata.assemble.recipe import Recipe
from facedata.assemble.rows import PartWork, SourceJob, label_rows
from facedata.assemble.splits import LeakCheck
from facedata.assemble.tally import SourceCounts, Tally
from facedata.assemble.target import refuse_overwrite, same_build
from facedata.assemble.worker import Item
from facedata.consent.register import ConsentRegister, load_register
from facedata.consent.withdrawals import (
    Admission,
    Withdrawal,
    WithdrawalIndex,
    admission,
    publish_lock,
    read_beside,
    subjects_of,
)
from facedata.corpus import (
    CORPUS_FORMAT,
    CORPUS_JSON,
    CorpusRecord,
    DatasetEntry,
    ExistingCorpus,
    existing_corpus,
    heads_record,
    parse_record,
    read_corpus,
    write_corpus,
)
from facedata.corpus.shards import file_sha256
from facedata.errors import BuildError, PolicyError
from facedata.files.atomic import atomic_dir, atomic_write_text
from facedata.gate.admit import (
    Admitted,
    DetectorDecision,
    check_clearances,
    detector_gate,
    gate,
    needs_detector,
)
from facedata.gate.licensing import corpus_terms, share_alike
from facedata.manifest.schema import Manifest, Source
from facedata.read.sample import Note
from facedata.storage import inputs

if TYPE_CHECKING:
    from facedata.storage.location import Location

READ_IN_PARTS = True  # large label files read in ranges by the workers (off: on the driver)


def _items(
    ctx: BuildContext,
    admitted: list[Admitted],
    withdrawn: WithdrawalIndex,
    registers: dict[str, ConsentRegister | None],
    own: dict[str, OwnWithdrawals],
) -> Iterator[Item | PartWork]:
    """Stream labelled samples from every admitted source; count every drop.

    A source whose reader cuts its input into ranges is not read here: its ranges go
    out as `PartWork`, read, admitted and labelled by the workers exactly as below
    (`label_rows`), their counts replayed in stream order (merge.py).
    """
    from facedata.read import read_source, source_parts

    recipe, subjects = ctx.recipe, ctx.tally.subjects
    for adm in admitted:
        m, src = adm.manifest, adm.source
        admit = _admission(ctx, adm, withdrawn, registers, own, subjects.withdrew)
        job = SourceJob(
            m.id,
            m.labels_for(src),
            ctx.catalog.taxonomy,
            recipe.derive_smile,
            admit,
            m.faces_for(src),
            {
                "source_id": src.id,
                "official": src.official,
                "license_id": m.license.id,
                "license_tier": adm.decision.tier,
            },
        )
        counts = SourceCounts(ctx.tally, m.images or 0)
        root = adm.fetched.root
        cut = None
        if READ_IN_PARTS:
            # a tree from the fetch cache is a view only the driver has: its label files
            # reach workers from the store (read/blob.py), its image files do not
            cut = source_parts(
                m,
                src,
                root,
                recipe.batch_size,
                defer_pixels=True,
                files_readable=not inputs.is_view(adm.fetched),
            )
        if isinstance(cut, Note):  # not cut after all: read whole below, and said so
            counts.note(cut)
            cut = None
        if cut is not None:
            notes, parts = cut
            for note in notes:
                counts.note(note)
            travels = replace(job, admit=admit.portable())  # nothing of the driver's travels
            for i, part in enumerate(parts):
                yield PartWork(part, travels, counts, last=i == len(parts) - 1)
            if not parts:
                counts.finish()
            continue
        stream = read_source(m, src, root, admit, defer_pixels=True)
        for item, labelled in label_rows(job, stream, counts):
            if src.is_own_data:
                extra = item.extra or {}
                digest = extra.get("sha256")
                ctx.tally.own.used(
                    m.id,
                    str(extra.get("video") or item.key),
                    subjects_of(item.subject_id),
                    None if digest is None else str(digest),
                )
            item = inputs.remote(item, adm.fetched)  # a cache view's images: from the store
            yield Item(sample=item, labels=labelled.as_row(), face=job.face, meta=job.meta)
        counts.finish()  # the reader has its real count now


def _admission(
    ctx: BuildContext,
    adm: Admitted,
    withdrawn: WithdrawalIndex,
    registers: dict[str, ConsentRegister | None],
    own: dict[str, OwnWithdrawals],
    on_withdrawn: Callable[[Withdrawal], None],
) -> Admission:
    """The consent rule for one admitted source: its register, every withdrawal that
    holds for it (the ledger's, the cache's, the files beside its register) and for the
    copies of its bytes. The build reads rows with it; the up-to-date check asks it."""
    beside, same_bytes = own.get(adm.manifest.id) or ([], set())
    return admission(
        adm.manifest.id,
        registers.get(adm.manifest.id),
        withdrawn.plus(beside),
        ctx.recipe.purpose,
        ctx.today,
        on_withdrawn=on_withdrawn,
        copies=(*adm.copies, *sorted(same_bytes)),
    )


OwnWithdrawals = tuple[list[Withdrawal], set[str]]


def _recordings(admitted: list[Admitted]) -> dict[str, set[str]]:
    """sha256 of each admitted own-data source's recordings, by dataset id (hashed once
    per reading of the withdrawals: the cache's and the ledger's matching use both)."""
    from facedata.read.local import recordings_of

    return {
        adm.manifest.id: recordings_of(
            Path(adm.fetched.root), adm.manifest.format_for(adm.source).options
        )
        for adm in admitted
        if adm.source.is_own_data and adm.source.consent
    }


def _own_recordings(recordings: dict[str, set[str]] | None, cache: Location | None) -> set[str]:
    """The admitted own data's recordings, with a fetch cache configured (none without):
    a withdrawal on the cache filed under another id that names them (the same
    recordings registered elsewhere under a new id) holds for them here too."""
    if cache is None or not recordings:
        return set()
    return set().union(*recordings.values())


def _own_withdrawals(
    adm: Admitted, withdrawn: WithdrawalIndex, recordings: dict[str, set[str]]
) -> OwnWithdrawals:
    """Own data: the withdrawals file beside its register (held for this source whatever
    its id), and ids whose ledger withdrawals named these very recordings."""
    m, src = adm.manifest, adm.source
    if not src.is_own_data or not src.consent:
        return [], set()
    root = Path(adm.fetched.root)
    beside = [replace(w, dataset=m.id) for w in read_beside(m.resolve(src.consent), root)]
    return beside, withdrawn.same_bytes(recordings.get(m.id, set())) - {m.id}


SHOWN_PROBLEMS = 5  # consent register rows named in a build's notes; the rest counted


def _consent(m: Manifest, src: Source, ctx: BuildContext) -> ConsentRegister | None:
    """Own data: load the register and record, per reason, how many subjects it admits."""
    if not src.is_own_data:
        return None
    path = m.resolve(src.consent or "")
    register = load_register(path)
    ctx.tally.subjects.register(m.id, path, register, ctx.recipe.purpose, file_sha256(path))
    problems = sorted(set(register.malformed.values()))
    for problem in problems[:SHOWN_PROBLEMS]:  # fail closed, and say where: file and line
        ctx.tally.readers.notes[m.id].append(f"consent register {problem}: left out until fixed")
    if len(problems) > SHOWN_PROBLEMS:
        more = len(problems) - SHOWN_PROBLEMS
        ctx.tally.readers.notes[m.id].append(f"consent register: {more} more rows left out")
    return register


def _local_inputs(adm: Admitted, tally: Tally) -> list[dict]:
    """Own data's provenance: the annotation file, the register and every media file used."""
    m, src = adm.manifest, adm.source
    root = Path(adm.fetched.root)
    fmt = m.format_for(src)
    used = tally.used_files.get(m.id, {})
    decoded = tally.used_sha.get(m.id, {})
    names = [str(fmt.options.get("annotations", "annotations.csv")), *sorted(used)]
    out = []
    for name in names:
        p = root / name
        if p.is_file():
            entry = {
                "name": name,
                "origin": str(p),
                "size": p.stat().st_size,
                # the bytes the rows came from, even if the file was replaced since
                "sha256": decoded.get(name) or file_sha256(p),
            }
            if name in used:  # so `forget` can drop the media of a withdrawn subject
                entry["subjects"] = sorted(used[name])
            out.append(entry)
    register = m.resolve(src.consent or "")
    if register.is_file():
        out.append(
            {
                "name": register.name,
                "origin": str(register),
                "size": register.stat().st_size,
                "sha256": file_sha256(register),
                "role": "consent register",
            }
        )
    return out


def _dataset_record(adm: Admitted, tally: Tally | None = None) -> DatasetEntry:
    """The input's entry in corpus.json; own data lists the files its rows came from."""
    m, src, d = adm.manifest, adm.source, adm.decision
    if src.is_own_data and tally is not None:
        inputs = _local_inputs(adm, tally)
    else:
        inputs = [
            {
                "name": f.name,
                "origin": getattr(f, "origin", None),
                "size": getattr(f, "size", None),
                "sha256": getattr(f, "sha256", None),
            }
            for f in getattr(adm.fetched, "files", [])
        ]
    return DatasetEntry.of(
        m,
        src,
        tier=d.tier,
        clearance=d.clearance,
        inputs=inputs,
        file_set=tally.file_sets.get(m.id) if tally else None,
        notes=tally.notes.get(m.id, []) if tally else [],
    )


def _corpus_tier(adm: Admitted, purpose: str) -> str:
    """An input a clearance admits for commercial use is commercial in this corpus."""
    d = adm.decision
    if purpose == "commercial" and d.clearance is not None:
        return "commercial"
    return d.tier


def corpus_license(
    admitted: list[Admitted], purpose: str, detector: DetectorDecision | None = None
) -> dict:
    """The corpus's own terms: the most restrictive of its inputs (and cleared exceptions)."""
    inputs = [
        (_corpus_tier(a, purpose), lic.derivatives, lic.redistribution)
        for a in admitted
        for lic in [a.manifest.license]
    ]
    cleared = [a.decision.clearance for a in admitted if a.decision.clearance]
    if detector is not None and detector.clearance is not None:
        cleared.append(detector.clearance)
    alike = [
        f"{a.manifest.id} ({a.manifest.license.id})"
        for a in admitted
        if share_alike(a.manifest.license.id)
    ]
    return corpus_terms(
        inputs, purpose, [c.model_dump(mode="json") for c in cleared], share_alike=alike
    ).to_dict()


def _corpus_id(previous: ExistingCorpus | None) -> str:
    """The id of the corpus a build replaces (a rebuild is the same corpus), else new."""
    import uuid

    old = previous.id if previous is not None else None
    try:
        return str(uuid.UUID(old)) if old else str(uuid.uuid4())
    except ValueError:
        return str(uuid.uuid4())


def _previous_marks(previous: ExistingCorpus | None) -> list[dict]:
    """`forgotten` entries of the corpus a build replaces: they hold even without the ledger."""
    return list(previous.marks) if previous is not None else []


def build(
    recipe: Recipe,
    *,
    argv: list[str] | None = None,
    progress: Progress | None = None,
    today: dt.date | None = None,
    overwrite: bool = True,
    replay: bool = False,
) -> CorpusRecord:
    """Build the corpus `recipe` describes; return its corpus.json record.

    One instant decides: its UTC date (or `today`) is the date of every license,
    clearance and consent decision, recorded as `policy_date` next to `created`.

    With overwrite=False an existing corpus at `recipe.out` is kept: the same build is
    not redone (the record comes back with `up_to_date: true`), a different one raises,
    unless `replay` (the corpus's own recipe, replayed as it is) asks to rebuild it.

    The output folder is locked for the whole build (`locking.exclusive`): a second
    build or a `forget` on it refuses instead of deleting this one's work.
    """
    from facedata.corpus.registry import read_registry
    from facedata.files.locking import exclusive

    with exclusive(Path(recipe.out), "build"):
        _check_out(Path(recipe.out))
        read_registry()  # an unreadable registry stops the build before hours of work
        ctx = BuildContext.start(recipe, today=today, progress=progress, argv=argv)
        return _build(ctx, overwrite=overwrite, replay=replay)


def _build(ctx: BuildContext, *, overwrite: bool, replay: bool) -> CorpusRecord:
    from facedata.corpus.registry import register
    from facedata.faces import detector_names

    recipe, out, tally = ctx.recipe, ctx.out, ctx.tally
    requested = [ds for ds, _ in recipe.pinned()]
    warnings = check_clearances(ctx.clearances, ctx.catalog, requested, detector_names())
    previous = existing_corpus(out)
    marks = _previous_marks(previous)
    corpus_id = _corpus_id(previous)
    withdrawn = WithdrawalIndex.load(marks)
    admitted, decisions = gate(
        recipe.pinned(),
        ctx.catalog,
        recipe.purpose,
        ctx.clearances,
        official_only=recipe.official_only,
        today=ctx.today,
        cache=recipe.cache,
    )
    from facedata.storage.cachewithdrawals import for_build
    from facedata.storage.location import cache_location

    # forgets of other homes, on the cache: for every admitted dataset and its copies
    cache = cache_location(recipe.cache)
    # own recordings, hashed once: with a cache, before its withdrawals are read
    recordings = _recordings(admitted) if cache is not None else None
    withdrawn = withdrawn.plus(for_build(admitted, cache, _own_recordings(recordings, cache)))
    # registers are read before anything else is decided: a bad one is the first error
    registers = {a.manifest.id: _consent(a.manifest, a.source, ctx) for a in admitted}
    if recordings is None:
        recordings = _recordings(admitted)
    own = {a.manifest.id: _own_withdrawals(a, withdrawn, recordings) for a in admitted}
    detector = _admit_detector(ctx, admitted)
    if not overwrite and previous is not None:
        datasets = [_dataset_record(a).to_json() for a in admitted]
        # a withdrawal logged since that build began (same second included) may concern
        # its rows: never "up to date" then
        every = [*withdrawn.all(), *(w for b, _ in own.values() for w in b)]
        withdrawn_since = any(w.when >= previous.created for w in every)
        same = previous.record is not None and same_build(
            previous.record, recipe, datasets, [d.to_dict() for d in decisions]
        )
        # whatever its time (clocks of two homes differ; a withdrawal reaches the cache
        # late), a withdrawal that refuses someone the corpus still holds: rebuilt
        stale = withdrawn_since or (
            same and _holds_withdrawn(ctx, out, admitted, withdrawn, registers, own)
        )
        if same and not stale:
            return previous.record.as_up_to_date()
        if not replay and not same:
            raise refuse_overwrite(out)
    started = time.monotonic()
    # a guess for the progress ETA only: manifests give approximate image counts
    tally.flow.expected = sum(a.manifest.images or 0 for a in admitted)
    with contextlib.ExitStack() as publishing:
        with atomic_dir(out) as tmp:
            # chunks run on the recipe's engine; the merge dedups on hashes (merge.py)
            items = _items(ctx, admitted, withdrawn, registers, own)
            shards = run_sharded(ctx, items, tmp)
            record = _corpus_record(
                recipe,
                admitted,
                decisions,
                tally,
                ctx.dedup,
                ctx.leaks,
                shards,
                ctx.argv,
                ctx.expressions,
                made=Made(corpus_id, ctx.now, ctx.today, detector, warnings, marks, started),
            )
            write_corpus(tmp, record)
            atomic_write_text(tmp / "recipe.yaml", recipe.to_yaml())
            _bundle(tmp, record, {a.manifest.id: a.manifest for a in admitted})
            # from here to registration, no `forget` runs: one that ran during the build is
            # read now, and one that starts later finds this corpus registered
            publishing.enter_context(publish_lock())
            if _erase_late(tmp, admitted, marks, withdrawn, own, cache):
                record = read_corpus(tmp)
        try:
            register(out, record.to_json())
        except OSError as exc:
            raise BuildError(
                f"{recipe.out} was built, but it could not be added to the corpus registry: "
                f"{exc.strerror or exc}",
                hint="until it is registered, `facedata forget` reaches it only when named; fix "
                "$FACEDATA_HOME's permissions and rebuild (or name it in every forget)",
            ) from None
    return record


def _holds_withdrawn(
    ctx: BuildContext,
    out: Path,
    admitted: list[Admitted],
    withdrawn: WithdrawalIndex,
    registers: dict[str, ConsentRegister | None],
    own: dict[str, OwnWithdrawals],
) -> bool:
    """Whether the corpus at `out` holds anyone this build's admission rule now refuses
    for a withdrawal (ledger, fetch cache, beside a register, copies of the same bytes)."""
    from facedata.consent.forget import subjects_in

    previous = existing_corpus(out)
    record = previous.record if previous is not None else None
    if record is None:
        return True
    if not all(shard.file(out).is_file() for shard in record.shards):
        # a corpus on object storage: only its record is here. Any withdrawal of its
        # datasets it has not applied may concern its rows (re-checked by the rebuild)
        applied = {_key(m) for m in [*previous.marks, *record.withdrawals_applied]}
        return any(
            _key(w.to_dict()) not in applied
            for adm in admitted
            for w in [*withdrawn.all(), *(own.get(adm.manifest.id) or ([], set()))[0]]
            if w.dataset is None or w.dataset in _names(adm, own)
        )
    present = subjects_in(out, record)
    for adm in admitted:
        m = adm.manifest
        hits: list[Withdrawal] = []
        admit = _admission(ctx, adm, withdrawn, registers, own, hits.append)
        for sid, datasets in present.items():
            if m.id in datasets:
                admit.one(sid)
                if hits:
                    return True
    return False


def _key(entry: dict) -> tuple:
    """A withdrawal as a corpus records it (`forgotten`, `withdrawals_applied`)."""
    return (entry.get("subject_id"), entry.get("dataset") or None, entry.get("when"))


def _names(adm: Admitted, own: dict[str, OwnWithdrawals]) -> set[str]:
    """The dataset ids whose withdrawals hold for `adm`: its own, copies of its bytes."""
    return {adm.manifest.id, *adm.copies, *(own.get(adm.manifest.id) or ([], set()))[1]}


def _admit_detector(ctx: BuildContext, admitted: list[Admitted]) -> DetectorDecision | None:
    """The face detector's own license decision, if any admitted source needs detection;
    a refused detector stops the build."""
    recipe = ctx.recipe
    if not needs_detector(admitted):
        return None
    detector = detector_gate(recipe.detector, recipe.purpose, ctx.clearances, ctx.today)
    if not detector.admitted:
        raise PolicyError(
            f"the {recipe.purpose} policy refuses the face detector {detector.name}: "
            f"{detector.reason}",
            hint=f"use a detector whose weights allow commercial use, or add a clearance "
            f"`detector: {detector.name}` (cleared_by, evidence, expires) to --clearances",
        )
    return detector


def _erase_late(
    tmp: Path,
    admitted: list[Admitted],
    marks: list[dict],
    withdrawn: WithdrawalIndex,
    own: dict[str, OwnWithdrawals],
    cache: Location | None = None,
) -> bool:
    """Erase from the unpublished corpus anyone withdrawn since the build read the ledger,
    the withdrawals files and the fetch cache's withdrawals (`cache`: a `forget --cache`
    on another home while this build ran); each is recorded in `forgotten`. True if any
    was. The cache is read again here, last before publishing: what another home writes
    after this read reaches the corpus through its next build or `forget`."""
    from facedata.consent.forget import forget_in_corpus, subjects_in
    from facedata.files.locking import lock_path
    from facedata.storage.cachewithdrawals import for_build

    seen = {w.key for w in withdrawn.all()} | {w.key for b, _ in own.values() for w in b}
    recordings = _recordings(admitted)  # hashed again, as the files beside registers are read
    now = WithdrawalIndex.load(marks).plus(
        for_build(admitted, cache, _own_recordings(recordings, cache))
    )
    late: list[tuple[Withdrawal, str]] = []
    for adm in admitted:
        beside, same_bytes = _own_withdrawals(adm, now, recordings)
        names = {adm.manifest.id, *adm.copies, *same_bytes}
        for w in [*now.all(), *beside]:
            if w.key not in seen and (w.dataset is None or w.dataset in names):
                late.append((w, adm.manifest.id))
    if not late:
        return False
    present = subjects_in(tmp)
    erased = False
    for w, dataset in late:
        if dataset in present.get(w.subject_id, set()):
            present[w.subject_id].discard(dataset)  # one erasure per subject and dataset
            entry = {**w.to_dict(), "source": "withdrawn during the build"}
            forget_in_corpus(tmp, w.subject_id, frozenset({dataset}), entry)
            erased = True
    lock_path(tmp).unlink(missing_ok=True)  # forget's lock on the unpublished folder
    return erased


def _check_out(out: Path) -> None:
    """A build replaces its output folder whole: never let that be someone's other files."""
    if not out.exists():
        return
    if not out.is_dir():
        raise BuildError(f"--out {out} is a file", hint="pick a folder path for the corpus")
    if (out / CORPUS_JSON).is_file() or not any(out.iterdir()):
        return
    raise BuildError(
        f"--out {out} holds files but no {CORPUS_JSON}: it is not a facedata corpus, and a "
        "build replaces its output folder whole",
        hint="pick a new or empty folder (e.g. output/NAME)",
    )


def _detector_record(tally: Tally, recipe: Recipe) -> dict | None:
    if not tally.weights:
        return None
    from facedata.faces import get_detector_info

    return {**get_detector_info(recipe.detector), "weights_sha256": sorted(tally.weights)}


@dataclass(frozen=True)
class Made:
    """When, as what and under which decisions a build made its corpus: the parts of
    the record that are not counted from rows."""

    corpus_id: str  # stable across rebuilds, copies and moves
    now: dt.datetime  # the one instant every policy decision used
    today: dt.date
    detector: DetectorDecision | None
    warnings: list
    marks: list[dict]  # `forgotten` of the corpus this one replaces
    started: float  # time.monotonic() when rows began to be read


def _corpus_record(
    recipe: Recipe,
    admitted: list[Admitted],
    decisions: list,
    tally: Tally,
    dedup: Deduper,
    leaks: LeakCheck,
    shards: list[dict],
    argv: list[str] | None,
    expressions: list[str],
    *,
    made: Made,
) -> CorpusRecord:
    """The corpus's record, made once from the build's parts (its license included)."""
    counts = tally.counts()
    detector = made.detector
    clearances = [d.clearance.model_dump(mode="json") for d in decisions if d.clearance]
    if detector is not None and detector.clearance is not None:
        clearances.append(detector.clearance.model_dump(mode="json"))
    return parse_record(
        {
            "format": CORPUS_FORMAT,
            "id": made.corpus_id,
            "tool": {"name": "facedata", "version": __version__},
            "created": made.now.isoformat(timespec="seconds"),
            "policy_date": made.today.isoformat(),  # the UTC date every decision used
            "command": argv if argv is not None else sys.argv,
            "recipe": recipe.model_dump(mode="json"),
            "purpose": recipe.purpose,
            "license": corpus_license(admitted, recipe.purpose, detector),
            "datasets": [_dataset_record(a, tally).to_json() for a in admitted],
            "decisions": [d.to_dict() for d in decisions],
            "clearances": clearances,
            "detector": _detector_record(tally, recipe),
            "labels": {k: dict(v) for k, v in tally.labels.items()},
            "consent": tally.consent,
            "drops": {
                k: {"count": n, "examples": tally.drop_examples[k], "stage": tally.drop_stage[k]}
                for k, n in tally.drops.items()
            },
            "funnel": tally.funnel(),
            "dedup": dedup.to_dict(),
            "leaks": leaks.leaks(),
            "image_errors": tally.image_errors,
            "image": {
                "mode": recipe.image_mode,
                "size": recipe.size,
                "format": recipe.image_format,
            },
            "heads": heads_record(expressions, counts),
            "counts": counts,
            "shards": shards,
            "forgotten": tally.subjects.forgotten(made.marks),
            "detector_decision": detector.to_dict() if detector else None,
            "warnings": made.warnings,
            "withdrawals_applied": tally.subjects.applied(),
            "seconds": round(time.monotonic() - made.started, 3),
        },
        str(recipe.out),
    )


def _bundle(root: Path, corpus: CorpusRecord, manifests: dict) -> None:
    from facedata.bundle import write_bundle

    write_bundle(root, corpus.to_json(), manifests)
