"""What a model may be used for, and what it learnt from: the governance record.

A model is what ships, so it carries the same terms as the corpus it came from,
never fewer: the corpus's own statement (itself the most restrictive of its inputs,
recomputed from the inputs so a hand-edited statement cannot weaken it), the face
detector `predict` runs in front of it, each input's license and attribution, and
the clearances relied on with their expiry. Its lineage is stated so an erasure can
reach it: a fingerprint of the shard bytes it read (which `forget` changes), and the
subjects it learnt from as salted digests that `forget` tests without the model
listing anyone's id in the clear. The record goes into README.md, model.onnx
(`facedata.terms`) and model.pt alike. No torch here: `predict` reads it with
onnxruntime only.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from facedata import __version__
from facedata.consent.withdrawals import Withdrawal, WithdrawalIndex, read_ledger, subjects_of
from facedata.corpus import CorpusError, file_sha256
from facedata.corpus.read import text_problem
from facedata.corpus.record import CorpusRecord, read_corpus
from facedata.errors import FacedataError
from facedata.files.digest import is_sha256
from facedata.vocabulary import EU_AI_ACT_NOTE, HEAD_TERMS, HEADS, canonical_heads

TERMS_FORMAT = "facedata-model-terms/1"
TERMS_KEY = "terms"  # model.onnx metadata key facedata.terms, model.pt key terms
SPLITS_READ = ("train", "validation")

# facts about the heads, with references; not legal advice
EU_AI_ACT = {h.name: h.eu_ai_act for h in HEAD_TERMS.values()} | {"note": EU_AI_ACT_NOTE}


def parse_heads(text: str) -> tuple[str, ...]:
    """`--heads smile,expression` or `--heads smile`; the smile head is always there."""
    heads = tuple(dict.fromkeys(h.strip() for h in text.split(",") if h.strip()))
    if not heads or any(h not in HEADS for h in heads) or "smile" not in heads:
        raise FacedataError(
            f"--heads {text!r} is not a set of heads this model has",
            hint="pass --heads smile (no expression head) or --heads smile,expression",
        )
    return canonical_heads(heads)


class LineageError(FacedataError):
    """A corpus that still holds a person who asked to be forgotten."""


def _shards(root: Path, record: CorpusRecord) -> list[tuple[str, Path]]:
    """(split, path) of each shard, confined to the corpus folder."""
    root = Path(root).resolve()
    found = []
    for s in record.shards:
        path = (root / s.path).resolve()
        if not path.is_relative_to(root):
            raise FacedataError(
                f"{root}: shard path {s.path!r} leads outside the corpus",
                hint="a corpus's shards live under its data/ folder; rebuild the corpus",
            )
        found.append((str(s.split), path))
    return found


def lineage(root: Path, record: CorpusRecord) -> dict[str, Any]:
    """Fingerprint of the rows training reads (shard bytes), the subjects it learns from,
    and every subject the corpus holds (test rows included), each with its datasets."""
    h = hashlib.sha256()
    learnt: dict[str, set[str]] = {}
    held: dict[str, set[str]] = {}
    tiers: dict[str, set[str]] = {}  # dataset -> license tiers its rows carry
    detectors: set[str] = set()  # the detectors that found the faces read
    for split, path in sorted(_shards(root, record), key=lambda sp: (str(sp[0]), str(sp[1]))):
        read = split in SPLITS_READ
        if read:
            h.update(f"{split}\0{path.name}\0{file_sha256(path)}\n".encode())
        try:
            schema = pq.ParquetFile(path).schema_arrow
            names = schema.names
            problem = text_problem(schema, ("subject_id", "dataset", "license_tier"))
            if problem:
                raise ValueError(problem)
            columns = ["subject_id", "dataset"] + [
                c for c in ("license_tier", "detector") if c in names
            ]
            table = pq.read_table(path, columns=columns)
        except (pa.ArrowException, OSError, ValueError) as exc:
            raise CorpusError(
                f"cannot read shard {path}: {(str(exc).splitlines() or [''])[0][:300]}",
                hint="the shard is damaged or was not written by facedata; rebuild the corpus "
                "with `facedata build`",
            ) from None
        if read and "detector" in names:
            detectors.update(str(d) for d in table.column("detector").to_pylist() if d)
        ids = table.column("subject_id").to_pylist()
        sets = table.column("dataset").to_pylist()
        if read and "license_tier" in names:
            for ds, tier in zip(sets, table.column("license_tier").to_pylist(), strict=True):
                tiers.setdefault(str(ds), set()).add(str(tier or "unknown"))
        for sid, ds in zip(ids, sets, strict=True):
            for one in subjects_of(sid):
                held.setdefault(one, set()).add(str(ds))
                if read:
                    learnt.setdefault(one, set()).add(str(ds))
    return {
        "fingerprint": "sha256:" + h.hexdigest(),
        "subjects": learnt,
        "held": held,
        "tiers": tiers,
        "detectors": detectors,
    }


def corpus_lineage(root: Path, record: CorpusRecord, cache: Caches = None) -> dict[str, Any]:
    """The lineage of the rows training reads, refusing a corpus that holds someone
    the erasure ledger (or the fetch cache, `cache` else FACEDATA_CACHE_URL) says was
    forgotten."""
    from facedata.learn.registry import read_models

    read_models()  # a damaged model registry is refused before training, not after
    found = lineage(root, record)
    check_withdrawals(root, record, found["held"], cache=cache)
    return found


def subject_digest(salt: str, subject_id: str) -> str:
    return hashlib.sha256(f"{salt}\0{subject_id}".encode()).hexdigest()


def learnt_from(terms: dict[str, Any], subject_id: str) -> bool:
    """Did the model with this governance record learn from `subject_id`'s rows?"""
    subjects = terms.get("subjects") if isinstance(terms, dict) else None
    if not isinstance(subjects, dict):
        return False
    salt, digests = subjects.get("salt"), subjects.get("sha256")
    if not isinstance(salt, str) or not isinstance(digests, list):
        return False
    return subject_digest(salt, subject_id) in digests


def check_withdrawals(
    root: Path, record: CorpusRecord, subjects: dict[str, set[str]], cache: Caches = None
) -> None:
    """Refuse a corpus still holding someone who asked to be forgotten.

    A copy made before `forget` ran keeps the person's rows: training on it would
    bring them back. Withdrawals come from this home's ledger and from the
    withdrawals file beside each own source's register (it travels with the
    recordings, so a copy trained under another home is refused too), and, with a fetch
    cache configured, from the cache (forgets made on other homes). The rows are
    accepted again only when the register shows a signature dated after the
    withdrawal that grants the corpus's purpose, and the corpus was made after it:
    `created` alone is a claim anyone can write into a corpus.json.
    """
    created = str(record.created or "")
    ledger = read_ledger()  # a damaged ledger is refused here, with its own message
    copies = _ledger_copies()
    held = {d for ds in subjects.values() for d in ds}
    beside, registers = _source_withdrawals(record, held)
    beside += cache_withdrawals(held, cache, corpus_recordings(record, held))
    today = dt.datetime.now(dt.UTC).date()
    purpose = record.purpose if record.purpose in ("research", "commercial") else "commercial"
    for w in [*ledger, *beside]:
        sets = subjects.get(w.subject_id)
        scope = copies.get((w.subject_id, w.when), set())
        hit = {ds for ds in sets or () if w.applies(ds) or ds in scope}
        if not hit:
            continue
        if (
            created
            and created[:19] > w.when[:19]
            and all(_regranted(registers.get(ds), w, purpose, today) for ds in hit)
        ):
            continue  # built after the withdrawal, admitted again by a later signature
        raise LineageError(
            f"{root} holds rows of subject {w.subject_id}, who withdrew on {w.when[:10]} "
            f"({w.reason or 'consent withdrawn'}); this corpus was made before that erasure "
            "or no later consent re-grants them",
            hint=f"run `facedata forget --subject {w.subject_id} {root}` on this copy (or "
            "rebuild it with `facedata build`), then train again",
        )
    for ds, register in registers.items():
        if register is None:
            continue  # the register is not at hand here (see docs/consent.md)
        for sid in sorted(s for s, sets in subjects.items() if ds in sets):
            ok, why = register.decide(sid, purpose, today)
            if not ok:
                raise LineageError(
                    f"{root} holds rows of subject {sid} ({ds}), whose consent no longer "
                    f"covers this {purpose} corpus today ({why}, per {register.path})",
                    hint=f"run `facedata forget --subject {sid} {root}` (or rebuild it with "
                    "`facedata build`), then train again",
                )


# a fetch cache's URL (None: FACEDATA_CACHE_URL, if set), or the URLs of several
# (`storage.location.corpus_caches`: the one named and the one a corpus was built from)
Caches = str | list[str] | None


def cache_withdrawals(
    datasets: set[str],
    cache: Caches,
    recordings: Mapping[str, set[str]] | None = None,
) -> list[Withdrawal]:
    """The fetch cache's withdrawals that hold for each dataset the corpus holds (none
    without a cache), each scoped to that dataset: those filed under its id, and under
    every id of the same bytes (found as a build finds copies: a person forgotten under a
    copy's id, pushed to the cache after this corpus was built, is refused here as the
    next build leaves them out), and, for own data, any that names its recordings
    (`recordings`, by id; else what this home's catalog has of them): the same
    recordings registered under another id. A store that does not answer stops
    training: the withdrawals on it cannot be known."""
    if isinstance(cache, list):
        return [w for url in cache for w in cache_withdrawals(datasets, url, recordings)]
    from facedata.storage import cachewithdrawals
    from facedata.storage.location import cache_location

    loc = cache_location(cache)
    if loc is None:
        return []
    known = dict(recordings or {})
    known.update(catalog_recordings(set(datasets) - set(known)))
    return cachewithdrawals.for_datasets(datasets, loc, known)


def corpus_recordings(record: CorpusRecord, held: Iterable[str]) -> dict[str, set[str]]:
    """sha256 of each own-data dataset's files, by id, as corpus.json records them (its
    `inputs`, the bytes the rows came from, as the report reads them): what a withdrawal
    on the cache names when the person was forgotten under another id of the same
    recordings. A dataset counts as own data by its consent register or per-file
    subjects; bounded by what the record holds, each hash checked for shape."""
    wanted = set(held)
    out: dict[str, set[str]] = {}
    for ds in record.datasets:
        if not isinstance(ds, dict) or not isinstance(ds.get("id"), str) or ds["id"] not in wanted:
            continue
        inputs = [i for i in ds.get("inputs") or [] if isinstance(i, dict)]
        if not any(i.get("role") == "consent register" or "subjects" in i for i in inputs):
            continue
        hashes = {i["sha256"] for i in inputs if is_sha256(i.get("sha256"))}
        if hashes:
            out.setdefault(str(ds["id"]), set()).update(hashes)
    return out


def catalog_recordings(datasets: set[str]) -> dict[str, set[str]]:
    """sha256 of the recordings of each of `datasets` this home's catalog knows as own
    data (its folder, hashed now): what predict and export match a cache withdrawal
    against, the model recording only its datasets' ids. A folder not at hand gives
    none; the ids and the copies found by tree still hold."""
    from facedata.read.local import recordings_of

    out: dict[str, set[str]] = {}
    for dataset, m, src in _catalog_own_sources(datasets):
        try:
            found = recordings_of(m.resolve(src.path or "."), m.format_for(src).options)
        except (FacedataError, OSError, ValueError):
            continue  # unreadable here: matched by id and tree only
        out.setdefault(dataset, set()).update(found)
    return out


def _catalog_own_sources(datasets: set[str]) -> list[tuple[str, Any, Any]]:
    """(dataset, manifest, source) for each own-data source with a consent register
    this home's catalog knows among `datasets`; none when the catalog cannot load."""
    from facedata.manifest.catalog import Catalog

    if not datasets:
        return []
    try:
        catalog = Catalog.load()
    except FacedataError:
        return []
    return [
        (dataset, m, src)
        for dataset in sorted(datasets)
        if dataset in catalog
        for m in [catalog.get(dataset)]
        for src in m.sources
        if src.is_own_data and src.consent
    ]


def _regranted(register: Any, w: Any, purpose: str, today: dt.date) -> bool:
    """Does `register` show a signature after withdrawal `w` that grants `purpose`?"""
    if register is None:
        return False
    rec = register.records.get(w.subject_id)
    return (
        rec is not None and rec.signed > w.date and register.decide(w.subject_id, purpose, today)[0]
    )


def _source_withdrawals(
    record: CorpusRecord, held: Iterable[str] = ()
) -> tuple[list[Any], dict[str, Any]]:
    """Withdrawals recorded beside the registers of the corpus's own sources (each
    scoped to that dataset id: the file travels with those recordings only), and the
    registers themselves, by dataset id. A register or withdrawals file that cannot
    be read leaves that dataset without a register: nothing is re-granted.

    Registers come from corpus.json, and for held datasets it does not describe (a
    corpus received with its records stripped) from the catalog's local sources."""
    from facedata.consent.register import load_register
    from facedata.consent.withdrawals import Withdrawal, read_beside

    places: dict[str, tuple[Path, Path | None]] = {}
    for ds in record.datasets:
        origin = next(
            (
                i.get("origin")
                for i in ds.get("inputs") or []
                if isinstance(i, dict) and i.get("role") == "consent register"
            ),
            None,
        )
        if isinstance(ds.get("id"), str) and isinstance(origin, str) and origin:
            places[ds["id"]] = (Path(origin), None)
    places.update(_catalog_registers(set(held) - set(places)))
    found: list[Withdrawal] = []
    registers: dict[str, Any] = {}
    for dataset, (register, recordings) in places.items():
        try:
            registers[dataset] = load_register(register)
        except (FacedataError, OSError):
            registers[dataset] = None
        found += [
            Withdrawal(w.subject_id, dataset, w.when, w.by, w.reason, w.recordings)
            for w in read_beside(register, recordings)  # a damaged file stops training
        ]
    return found, registers


def _catalog_registers(datasets: set[str]) -> dict[str, tuple[Path, Path | None]]:
    """(register, recordings folder) of each of `datasets` the catalog knows as own data."""
    return {
        dataset: (m.resolve(src.consent), m.resolve(src.path or "."))
        for dataset, m, src in _catalog_own_sources(datasets)
    }


def known_withdrawals(
    root: Path, cache: Caches = None
) -> dict[tuple[str, str | None, str], Withdrawal]:
    """Every withdrawal known now: this home's erasure ledger, the `forgotten` marks in
    the corpus at `root` (which `forget` writes before it marks any model) and, with a
    fetch cache configured (`cache`, else FACEDATA_CACHE_URL), the cache's withdrawals
    of the corpus's datasets: a `forget --cache` on another home while a model trains."""
    try:
        record = read_corpus(root)
    except (FacedataError, OSError, ValueError):
        record = None
    marks = list(record.forgotten) if record is not None else []
    found = list(WithdrawalIndex.load(marks).all())
    if record is not None:
        held = {str(d.get("id")) for d in record.datasets if isinstance(d, dict) and d.get("id")}
        found += cache_withdrawals(held, cache, corpus_recordings(record, held))
    return {(w.subject_id, w.dataset, w.when[:19]): w for w in found}


def learnt_withdrawals(terms: dict[str, Any], found: Iterable[Withdrawal]) -> list[Withdrawal]:
    """The withdrawals in `found` of a subject the model with `terms` learnt from, a
    dataset-scoped one included when the model learnt from another id of the same
    images (the ledger's `copies`)."""
    datasets = set(terms.get("datasets") or [])
    try:
        copies = _ledger_copies()
    except (OSError, UnicodeDecodeError):
        copies = {}
    return [
        w
        for w in found
        if (
            w.dataset is None
            or w.dataset in datasets
            or datasets & copies.get((w.subject_id, w.when), set())
        )
        and learnt_from(terms, w.subject_id)
    ]


def _ledger_copies() -> dict[tuple[str, str], set[str]]:
    """Other ids of the same images a dataset-scoped withdrawal also covered (`copies`),
    by (subject, when); `read_ledger` has already refused a damaged ledger."""
    from facedata.consent.withdrawals import ledger_path

    found: dict[tuple[str, str], set[str]] = {}
    path = ledger_path()
    if not path.is_file():
        return found
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict) and isinstance(entry.get("copies"), list):
            key = (str(entry.get("subject_id")), str(entry.get("when") or ""))
            found.setdefault(key, set()).update(str(c) for c in entry["copies"])
    return found


def _detector(record: CorpusRecord, name: str | None) -> dict[str, Any]:
    """The detector predict runs in front of the model, with its weights' terms."""
    from facedata.faces import get_detector_info

    recorded = record.detector if isinstance(record.detector, dict) else {}
    try:
        info = get_detector_info(name) if name else get_detector_info()
    except FacedataError:
        info = {}
    if not info and name and name != recorded.get("name"):
        # neither known here nor the detector the corpus records: no terms to rely on
        return {"name": name, "terms": None, "weights_sha256": None}
    terms = info.get("terms") or recorded.get("terms")
    return {
        "name": info.get("name") or recorded.get("name") or name,
        "terms": terms,
        "weights_sha256": recorded.get("weights_sha256") or info.get("weights_sha256"),
    }


def _detector_line(det: dict[str, Any]) -> str:
    terms = det.get("terms")
    if isinstance(terms, dict):
        data = terms.get("training_data") or "data not recorded"
        restriction = (
            "commercial use allowed"
            if terms.get("commercial_use") is True
            else "non-commercial research"
        )
        return f"detector {det.get('name')} weights trained on {data.split(',')[0]}: {restriction}"
    return f"detector {det.get('name')} ({terms or 'terms not recorded'})"


def _strictest_detector(
    record: CorpusRecord, names: list[str | None], clearances: list[dict[str, Any]]
) -> dict[str, Any]:
    """The detector whose terms bind the model: the recipe names one, but the rows say
    which found each face, and a recipe edited to name a freer detector cannot speak
    for rows another detector found. One neither free nor cleared wins, the one
    whose terms are known first (rows before the recipe)."""
    unique = list(dict.fromkeys(names))  # None: the default detector, as before
    found = [_detector(record, n) for n in unique]
    bound = [d for d in found if not _detector_commercial(d, clearances)]
    known = [d for d in bound if isinstance(d.get("terms"), dict)]  # facts to state
    return (known or bound or found)[0]


def _in_force(clearance: dict[str, Any], today: dt.date) -> bool:
    """A clearance counts only until its expiry; an unreadable expiry is no clearance."""
    try:
        return dt.date.fromisoformat(str(clearance.get("expires"))[:10]) >= today
    except ValueError:
        return False


def _detector_commercial(det: dict[str, Any], clearances: list[dict[str, Any]]) -> bool:
    terms = det.get("terms")
    if isinstance(terms, dict) and terms.get("commercial_use") is True:
        return True
    return any(c.get("detector") == det.get("name") for c in clearances)


def _clearances(record: CorpusRecord, view_terms: Any) -> list[dict[str, Any]]:
    found = [c for c in record.clearances if isinstance(c, dict)]
    found += [c for c in view_terms.clearances if isinstance(c, dict)]
    for d in record.datasets:
        c = d.get("clearance") if isinstance(d, dict) else None
        if isinstance(c, dict):
            found.append(c)
    unique: dict[str, dict[str, Any]] = {}
    for c in found:
        key = repr(sorted((k, str(v)) for k, v in c.items()))
        unique.setdefault(key, c)
    return list(unique.values())


def model_terms(
    root: Path,
    record: CorpusRecord,
    heads: Iterable[str],
    detector_name: str | None,
    subjects: dict[str, set[str]],
    fingerprint: str,
    row_tiers: dict[str, set[str]] | None = None,
    row_detectors: Iterable[str] = (),
) -> dict[str, Any]:
    """The governance record of a model trained on the corpus at `root`.

    `row_tiers` are the license tiers the rows read carry, per dataset: an input is
    never taken as less restricted than its own rows say.
    """
    from dataclasses import replace

    from facedata.bundle.obligations import modifications
    from facedata.bundle.record import derive_terms, view
    from facedata.gate.licensing import policy_today

    corpus = record.to_dict()
    v = view(corpus, root)
    today_date = policy_today()
    # a clearance that has expired by the training date admits nothing into the model
    inputs = [
        d
        if d.clearance is None or _in_force(d.clearance, today_date)
        else replace(d, clearance=None)
        for d in _inputs_with_row_tiers(v.datasets, row_tiers or {})
    ]
    # the statement comes from the inputs themselves: a corpus.json whose statement
    # (or an input's tier) was edited to say less cannot make the model say less
    derived = derive_terms(inputs, v.purpose)
    t = _stricter(v.terms, derived)
    clearances = _clearances(record, t)
    lapsed = [c for c in clearances if not _in_force(c, today_date)]
    det = _strictest_detector(
        record, [*sorted(row_detectors), detector_name], [c for c in clearances if c not in lapsed]
    )
    det_commercial = _detector_commercial(det, [c for c in clearances if c not in lapsed])
    noncommercial = t.noncommercial or not det_commercial
    parts = []
    if noncommercial and not derived.noncommercial:  # the inputs allow it; the detector not
        parts.append("For non-commercial research only.")
    parts.append(derived.statement)
    if t.statement and t.statement != derived.statement:
        parts.append(f"The corpus states: {t.statement}")
    for c in lapsed:
        what = c.get("dataset") or c.get("source") or f"detector {c.get('detector')}"
        parts.append(
            f"The clearance for {what} expired on {c.get('expires')}, before this model was "
            "trained: it is not relied on."
        )
    parts.append(
        "Faces are found by the "
        + _detector_line(det)
        + ("" if det_commercial else " (not cleared for commercial use)")
        + "."
    )
    if "expression" in heads:
        parts.append(
            "Has an expression (emotion recognition) head: high-risk under the EU AI Act, "
            "prohibited in workplaces and education."
        )
    salt = secrets.token_hex(16)
    today = dt.datetime.now(dt.UTC)
    return {
        "format": TERMS_FORMAT,
        "statement": " ".join(parts),
        "banner": banner_text(noncommercial, t, det),
        "purpose": v.purpose,
        "tier": "noncommercial" if noncommercial and t.tier == "commercial" else t.tier,
        "noncommercial": noncommercial,
        "no_derivatives": t.no_derivatives,
        "no_redistribution": t.no_redistribution,
        "unknown_license": t.unknown,
        "corpus_statement": t.statement,
        "share_alike": list(derived.share_alike),
        "modifications": modifications(corpus),
        "inputs": [
            {
                "id": d.id,
                "name": d.name,
                "license": d.license_id,
                "tier": d.tier,
                "derivatives": d.derivatives,
                "redistribution": d.redistribution,
                "terms_url": d.terms_url,
                # the credit the license asks for: the manifest's words, or composed
                # from the citation where the license requires one and gives none
                "attribution": d.credit.text,
                "attribution_required": d.credit.required,
                "attribution_composed": d.credit.composed,
                "share_alike": d.share_alike,
                "official": d.official,
            }
            for d in inputs
        ],
        "detector": det,
        "clearances": [
            {**c, "expires": str(c.get("expires"))} if c.get("expires") else dict(c)
            for c in clearances
        ],
        "corpus": {
            "id": corpus.get("id"),
            "path": str(Path(root).resolve()),
            "created": record.created,
            "fingerprint": fingerprint,
        },
        "datasets": [d.id for d in inputs],
        "subjects": {
            "count": len(subjects),
            "salt": salt,
            "sha256": sorted(subject_digest(salt, s) for s in subjects),
        },
        "trained": today.isoformat(timespec="seconds"),
        "facedata_version": __version__,
        "heads": list(heads),
        "eu_ai_act": {h: EU_AI_ACT[h] for h in canonical_heads(heads)}
        | {"note": EU_AI_ACT["note"]},
    }


def _inputs_with_row_tiers(datasets: list[Any], row_tiers: dict[str, set[str]]) -> list[Any]:
    """Each input at the most restrictive of its record's tier and its rows' tiers; a
    dataset the rows name but the record does not is an input of unknown terms."""
    from dataclasses import replace

    from facedata.gate.licensing import most_restrictive_tier

    out = [
        replace(d, tier=most_restrictive_tier([d.tier, *row_tiers.get(d.id, ())])) for d in datasets
    ]
    known = {d.id for d in datasets}
    if datasets:
        for ds in sorted(set(row_tiers) - known):
            out.append(
                replace(
                    datasets[0],
                    id=ds,
                    name=ds,
                    license_id="unknown",
                    tier="unknown",
                    derivatives="unknown",
                    redistribution="unknown",
                    terms_url=None,
                    attribution=None,
                    clearance=None,
                )
            )
    return out


def _stricter(recorded: Any, derived: Any) -> Any:
    """The corpus's terms with every restriction the inputs state added."""
    from dataclasses import replace

    from facedata.gate.licensing import most_restrictive_tier

    return replace(
        recorded,
        tier=most_restrictive_tier([recorded.tier, derived.tier]),
        noncommercial=recorded.noncommercial or derived.noncommercial,
        no_derivatives=recorded.no_derivatives or derived.no_derivatives,
        no_redistribution=recorded.no_redistribution or derived.no_redistribution,
        unknown=recorded.unknown or derived.unknown,
    )


def banner_text(noncommercial: bool, t: Any, det: dict[str, Any]) -> str:
    """One line for `predict`: use allowed, then the detector's own restriction."""
    bits = ["research only" if noncommercial else "commercial use under the recorded terms"]
    if t.no_redistribution:
        bits.append("not for redistribution")
    if t.unknown:
        bits.append("an input has no known license")
    bits.append(_detector_line(det))
    return "; ".join(bits)


def expired(terms: dict[str, Any], today: dt.date | None = None) -> list[dict[str, Any]]:
    """Clearances the model relied on that have expired by `today`."""
    from facedata.gate.licensing import policy_today

    today = today or policy_today()
    out = []
    for c in terms.get("clearances") or []:
        if not isinstance(c, dict):
            continue
        try:
            until = dt.date.fromisoformat(str(c.get("expires"))[:10])
        except ValueError:
            out.append(c)  # an unreadable expiry is no clearance
            continue
        if until < today:
            out.append(c)
    return out
