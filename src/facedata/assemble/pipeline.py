"""`facedata build`: gate, read, remap, align, dedup, split, write, bundle.

Data flows one way. Readers stream samples; the remap labels them; batches go to
workers (in-process for one worker, a process pool otherwise, with a bounded number
of batches in flight so memory stays flat); the main process dedups, assigns splits
and appends to Parquet shards. Everything is written into a temp folder that
replaces the output only when complete.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing as mp
import sys
import time
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path

from .. import __version__
from ..atomic import atomic_dir, atomic_write_text
from ..catalog import Catalog
from ..consent import ConsentRegister, load_register
from ..corpus import (
    CORPUS_FORMAT,
    CORPUS_JSON,
    SPLITS,
    CorpusRecord,
    LabelCodec,
    arrow_schema,
    heads_record,
)
from ..corpus.counts import RowCounter
from ..errors import BuildError
from ..licensing import corpus_terms, load_clearances
from ..manifest import Manifest, Source
from ..sample import Drop
from .dedup import Deduper
from .gate import Admitted, gate
from .recipe import Recipe
from .splits import LeakCheck, assign_split
from .worker import Failed, Item, WorkSettings, fresh_process, process_batch
from .writer import SplitWriter, file_sha256

MAX_LISTED = 1000  # image errors listed by name in corpus.json; all are counted

Progress = Callable[[dict[str, int]], None]


@dataclass
class Tally:
    """Everything counted during a build; becomes part of corpus.json."""

    drops: Counter = field(default_factory=Counter)
    drop_examples: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    labels: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    image_errors: list[dict] = field(default_factory=list)
    rows: RowCounter = field(default_factory=RowCounter)
    read: int = 0
    weights: set[str] = field(default_factory=set)
    consent: dict[str, dict] = field(default_factory=dict)
    today: dt.date = field(default_factory=dt.date.today)

    def drop(self, dataset: str, reason: str, where: str) -> None:
        key = f"{dataset}: {reason}"
        self.drops[key] += 1
        if len(self.drop_examples[key]) < 5:
            self.drop_examples[key].append(where)

    @property
    def written(self) -> int:
        return self.rows.total

    def relabel(self, split: str, before: dict, changes: dict) -> None:
        """A written row's labels changed (a duplicate merged into it): fix the counts."""
        for head in ("smile", "expression"):
            if head in changes:
                self.rows.label(split, head, before.get(head), -1)
                self.rows.label(split, head, changes[head], +1)
        if "label_conflict" in changes and not before.get("label_conflict"):
            self.rows.flags["label_conflict"] += 1
        if "merged_from" in changes and not before.get("merged_from"):
            self.rows.flags["merged"] += 1

    def counts(self) -> dict:
        return {**self.rows.to_dict(), "read": self.read}


def _items(
    admitted: list[Admitted], catalog: Catalog, recipe: Recipe, tally: Tally
) -> Iterator[Item]:
    """Stream labelled samples from every admitted source; count every drop."""
    from ..formats import read_source
    from ..labels import remap

    for adm in admitted:
        m, src = adm.manifest, adm.source
        spec = m.labels_for(src)
        face = m.faces_for(src)
        meta = {
            "source_id": src.id,
            "official": src.official,
            "license_id": m.license.id,
            "license_tier": m.license.tier,
        }
        register = _consent(m, src, recipe, tally)
        for item in read_source(m, src, adm.fetched.root):
            if isinstance(item, Drop):
                tally.drop(item.dataset, item.reason, item.where)
                continue
            tally.read += 1
            if register is not None:
                ok, why = register.decide(item.subject_id, recipe.purpose, tally.today)
                if not ok:
                    tally.drop(m.id, why, f"subject {item.subject_id or '?'}")
                    continue
            labelled = remap(item, spec, catalog.taxonomy, derive_smile=recipe.derive_smile)
            if isinstance(labelled, Drop):
                tally.drop(labelled.dataset, labelled.reason, labelled.where)
                continue
            for head, value in labelled.counted().items():
                tally.labels[f"{m.id}/{head}"][value] += 1
            yield Item(sample=item, labels=labelled.as_row(), face=face, meta=meta)


def _consent(m: Manifest, src: Source, recipe: Recipe, tally: Tally) -> ConsentRegister | None:
    """Own data: load the register and record, per reason, how many subjects it admits."""
    if src.kind != "local":
        return None
    path = m.resolve(src.consent or "")
    register = load_register(path)
    tally.consent[m.id] = {
        "register": path.name,
        "sha256": file_sha256(path),
        "purpose": recipe.purpose,
        "date": tally.today.isoformat(),
        "subjects": register.summary(recipe.purpose, tally.today),
        "malformed": sorted(register.malformed.values()),
    }
    return register


def _batches(items: Iterable[Item], size: int) -> Iterator[list[Item]]:
    it = iter(items)
    while batch := list(islice(it, size)):
        yield batch


def _run(
    batches: Iterator[list[Item]], settings: WorkSettings, workers: int
) -> Iterator[list[dict | Failed]]:
    """Results in input order. A pool keeps at most 2x workers batches in flight."""
    if workers <= 1:
        for batch in batches:
            yield process_batch(batch, settings)
        return
    # fork: workers start in milliseconds instead of re-importing everything; the
    # initializer drops state that must not cross a fork (detector sessions)
    ctx = mp.get_context("fork")
    with ProcessPoolExecutor(
        max_workers=workers, mp_context=ctx, initializer=fresh_process
    ) as pool:
        pending: deque[Future] = deque()
        for batch in batches:
            pending.append(pool.submit(process_batch, batch, settings))
            if len(pending) >= 2 * workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def _dataset_record(adm: Admitted) -> dict:
    m, src = adm.manifest, adm.source
    inputs = [
        {
            "name": f.name,
            "origin": getattr(f, "origin", None),
            "size": getattr(f, "size", None),
            "sha256": getattr(f, "sha256", None),
        }
        for f in getattr(adm.fetched, "files", [])
    ]
    return {
        "id": m.id,
        "name": m.name,
        "version": m.version,
        "homepage": m.homepage,
        "source": src.id,
        "source_kind": src.kind,
        "official": src.official,
        "license_id": m.license.id,
        "tier": m.license.tier,
        "derivatives": m.license.derivatives,
        "redistribution": m.license.redistribution,
        "terms_url": m.license.terms_url,
        "license_notes": m.license.notes,
        "license_text": m.license.text,
        "attribution": m.attribution,
        "citation": m.citation,
        "inputs": inputs,
    }


def corpus_license(admitted: list[Admitted], purpose: str) -> dict:
    """The corpus's own terms: the most restrictive of its inputs."""
    lics = [a.manifest.license for a in admitted]
    return corpus_terms(
        ((x.tier, x.derivatives, x.redistribution) for x in lics), purpose
    ).to_dict()


def build(
    recipe: Recipe,
    *,
    argv: list[str] | None = None,
    progress: Progress | None = None,
    today: dt.date | None = None,
) -> dict:
    """Build the corpus `recipe` describes; return its corpus.json record."""
    _check_out(Path(recipe.out))
    catalog = Catalog.load(recipe.manifests)
    clearances = load_clearances(recipe.clearances)
    admitted, decisions = gate(
        recipe.pinned(),
        catalog,
        recipe.purpose,
        clearances,
        official_only=recipe.official_only,
        today=today,
    )
    settings = WorkSettings(
        size=recipe.size,
        image_format=recipe.image_format,
        image_mode=recipe.image_mode,
        keep_unaligned=recipe.keep_unaligned,
        detector=recipe.detector,
    )
    expressions = list(catalog.taxonomy.expressions)
    schema = arrow_schema(expressions, recipe.image_mode)
    codec = LabelCodec(expressions)
    tally = Tally(today=today or dt.date.today())
    dedup = Deduper(recipe.near_dup_distance, recipe.label_conflicts)
    leaks = LeakCheck()
    started = time.monotonic()
    # a guess for the progress ETA only: manifests give approximate image counts
    expected = sum(a.manifest.images or 0 for a in admitted)
    with atomic_dir(Path(recipe.out)) as tmp:
        writers = {s: SplitWriter(tmp, s, recipe.shard_rows, schema, codec) for s in SPLITS}
        items = _items(admitted, catalog, recipe, tally)
        for results in _run(_batches(items, recipe.batch_size), settings, recipe.workers):
            for res in results:
                if isinstance(res, Failed):
                    tally.drop("image", res.reason, res.where)
                    if len(tally.image_errors) < MAX_LISTED:
                        tally.image_errors.append(
                            {"where": res.where, "reason": res.reason, "detail": res.detail}
                        )
                    continue
                if _duplicate(res, dedup, writers, tally):
                    continue
                res["split"] = assign_split(
                    res["dataset"],
                    res["split"],
                    res["subject_id"],
                    res["sha256"],
                    recipe.split_ratios,
                    recipe.seed,
                )
                leaks.add(res["dataset"], res["subject_id"], res["split"])
                dedup.add(res)
                weights = res.pop("_weights_sha256", None)
                if weights:
                    tally.weights.add(weights)
                writers[res["split"]].add(res)
                tally.rows.add(res)
            if progress:
                progress(
                    {
                        "read": tally.read,
                        "written": tally.written,
                        "dropped": sum(tally.drops.values()),
                        "expected": expected,
                    }
                )
        shards = [s for w in writers.values() for s in w.close()]
        corpus = _corpus_record(
            recipe, admitted, decisions, tally, dedup, leaks, shards, argv, expressions
        )
        corpus.seconds = round(time.monotonic() - started, 3)
        corpus.write(tmp)
        atomic_write_text(tmp / "recipe.yaml", recipe.to_yaml())
        _bundle(tmp, corpus, {a.manifest.id: a.manifest for a in admitted})
    return corpus


def _duplicate(res: dict, dedup: Deduper, writers: dict, tally: Tally) -> bool:
    """Whether `res` duplicates a row already written; if so its labels are merged
    into that row (patched in its shard) and the copy is counted as dropped."""
    match = dedup.find(res["sha256"], res["phash"], res["dataset"], res["subject_id"])
    if match is None:
        return False
    first = match.first
    before = {
        **first.labels,
        "label_conflict": first.conflicts[:],
        "merged_from": first.merged_from[:],
    }
    changes = dedup.merge(match, res)
    if changes:
        writers[first.split].patch(first.ident, changes)
        tally.relabel(first.split, before, changes)
    ident = f"{res['dataset']}/{res['key']}"
    tally.drop(res["dataset"], f"{match.kind} duplicate", f"{ident} = {first.ident}")
    return True


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
    from ..faces import get_detector_info

    return {**get_detector_info(recipe.detector), "weights_sha256": sorted(tally.weights)}


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
) -> CorpusRecord:
    counts = tally.counts()
    record = {
        "format": CORPUS_FORMAT,
        "tool": {"name": "facedata", "version": __version__},
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "command": argv if argv is not None else sys.argv,
        "recipe": recipe.model_dump(mode="json"),
        "purpose": recipe.purpose,
        "license": corpus_license(admitted, recipe.purpose),
        "datasets": [_dataset_record(a) for a in admitted],
        "decisions": [d.to_dict() for d in decisions],
        "clearances": [d.clearance.model_dump(mode="json") for d in decisions if d.clearance],
        "detector": _detector_record(tally, recipe),
        "labels": {k: dict(v) for k, v in tally.labels.items()},
        "consent": tally.consent,
        "drops": {
            k: {"count": n, "examples": tally.drop_examples[k]} for k, n in tally.drops.items()
        },
        "dedup": dedup.to_dict(),
        "leaks": leaks.leaks(),
        "image_errors": tally.image_errors,
        "image": {"mode": recipe.image_mode, "size": recipe.size, "format": recipe.image_format},
        "heads": heads_record(expressions, counts),
        "counts": counts,
        "shards": shards,
        "forgotten": [],
    }
    return CorpusRecord.model_validate(record)


def _bundle(root: Path, corpus: CorpusRecord, manifests: dict) -> None:
    from ..bundle import write_bundle

    write_bundle(root, corpus.to_dict(), manifests)
