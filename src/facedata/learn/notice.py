"""What `predict` says before any probability: the model's terms, and why to doubt it.

One banner line from the governance record the model carries (or a plain "terms not
recorded" for a model without one), and a warning for each reason the model should
not be used as it is: `forget` marked it as trained on a withdrawn person (in the
model folder or in this home's model registry), or a clearance it relied on has
expired.
"""

from __future__ import annotations

import unicodedata
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from facedata.consent.withdrawals import read_ledger
from facedata.errors import FacedataError
from facedata.learn.registry import entries_for, marks_in
from facedata.learn.terms import cache_withdrawals, expired, learnt_withdrawals
from facedata.vocabulary import HEADS

UNKNOWN = (
    "terms not recorded in this model: treat it as research only, and check the terms of "
    "the data it learnt from and of the face detector (RetinaFace, trained on WIDER FACE, "
    "non-commercial)"
)


def inert(text: object) -> str:
    """One line a terminal shows as written: control and format characters (escape
    sequences, bidi overrides, newlines) from a model's own metadata become \\uXXXX."""
    return "".join(
        f"\\u{ord(c):04x}" if unicodedata.category(c) in ("Cc", "Cf") else c for c in str(text)
    )


@dataclass
class Notice:
    banner: str
    statement: str | None
    warnings: list[str] = field(default_factory=list)
    marks: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """Every field, in order, as plain JSON values (copies: the caller may edit them)."""
        return asdict(self)


def _mark_line(m: dict[str, Any]) -> str:
    return inert(
        f"this model was trained on rows of subject {m.get('subject_id')}, who withdrew "
        f"({m.get('reason') or 'consent withdrawn'}; marked {str(m.get('when') or '')[:10]} by "
        f"{m.get('by') or 'facedata forget'}): retrain it on the erased corpus and stop using "
        "this one"
    )


def notice(model_file: Path, terms: Any) -> Notice:
    """The banner and warnings for the model at `model_file` with governance `terms`."""
    if isinstance(terms, dict) and isinstance(terms.get("statement"), str):
        banner = "terms: " + inert(terms.get("banner") or terms["statement"])
        statement: str | None = terms["statement"]
    else:
        terms, banner, statement = {}, "terms: " + UNKNOWN, None
    folder = Path(model_file).parent
    entries = entries_for(folder, terms)
    warnings: list[str] = []
    recorded = _recorded_terms(entries, terms, statement)
    if recorded is not None:
        statement = recorded["statement"]
        banner = "terms: " + inert(recorded.get("banner") or statement)
        warnings.append(
            "the terms inside this model differ from those `facedata train` recorded for it "
            "in this home's model registry (the model file was edited or replaced): the "
            "recorded terms are shown; retrain it, or restore the file train wrote"
        )
    # one warning per subject: a folder marked twice for one withdrawal says it once
    marks: list[dict[str, Any]] = []
    found = list(marks_in(folder))
    found += [m for e in entries for m in e.get("marks") or []]
    withdrawn, unread = withdrawal_marks(terms)
    found += withdrawn
    if unread:
        warnings.append(unread)
    seen: set[Any] = set()
    for m in found:
        if isinstance(m, dict) and m.get("subject_id") not in seen:
            seen.add(m.get("subject_id"))
            marks.append(m)
    warnings += [_mark_line(m) for m in marks]
    for c in expired(terms):
        what = c.get("dataset") or f"detector {c.get('detector')}"
        warnings.append(
            inert(
                f"the clearance for {what} this model relied on expired on {c.get('expires')}: "
                "its use under that clearance has ended"
            )
        )
    warnings += _untrained_heads(folder)
    return Notice(banner, statement, warnings, marks)


def _recorded_terms(
    entries: list[dict[str, Any]], terms: dict[str, Any], statement: str | None
) -> dict[str, Any] | None:
    """The registry's record of this model when its statement differs from the model's
    own: what `train` wrote outranks metadata anyone can edit. An entry of the same
    training (same subject salt) is preferred to one that only shares the folder."""
    if not entries:
        return None
    salt = (terms.get("subjects") or {}).get("salt") if isinstance(terms, dict) else None
    same = [e for e in entries if salt and (e.get("subjects") or {}).get("salt") == salt]
    best = (same or entries)[-1]
    if not isinstance(best.get("statement"), str) or best["statement"] == statement:
        return None
    return best


def _untrained_heads(folder: Path) -> list[str]:
    """A warning per head that `facedata train` found no better than chance: its
    probabilities and verdicts look like any other model's, so say it before them.
    Read from metrics.json beside the model; a model without one says nothing here."""
    from facedata.files.jsontext import loads

    path = folder / "metrics.json"
    try:
        if not path.is_file() or path.stat().st_size > 16 * 2**20:
            return []
        metrics = loads(path.read_bytes())
        trust = metrics.get("trust") or {}
        heads = metrics.get("trained_heads") or list(HEADS)
    except (OSError, ValueError, AttributeError, FacedataError):
        return []
    out = []
    for head in HEADS:
        if not isinstance(heads, list) or head not in heads:
            continue
        verdict = trust.get(head) if isinstance(trust, dict) else None
        if isinstance(verdict, dict) and verdict.get("learnt") is False:
            out.append(
                inert(
                    f"training found the {head} head no better than chance "
                    f"({verdict.get('why')}): its probabilities and verdicts mean nothing"
                )
            )
    return out


def _ledger_marks(terms: dict[str, Any]) -> list[dict[str, Any]]:
    """Withdrawals in this home's erasure ledger of a subject the model learnt from: a
    model copied in from elsewhere, or trained under another home (whose ledger never
    heard of the withdrawal), is flagged even though no `forget` here ever marked it."""
    if not terms.get("subjects"):
        return []
    try:
        ledger = read_ledger()
    except FacedataError:
        return []
    return _marks_of(terms, ledger, "the erasure ledger")


def withdrawal_marks(terms: dict[str, Any]) -> tuple[list[dict[str, Any]], str | None]:
    """Marks for every withdrawal on record of a subject the model with `terms` learnt
    from, whether or not a `forget` here marked it (this home's ledger, the fetch
    caches), and a warning when a cache could not be read. What `predict`, `live`,
    `export` and `models` say of a model."""
    marks = _ledger_marks(terms)
    on_cache, unread = _cache_marks(terms)
    return [*marks, *on_cache], unread


def _model_caches(terms: dict[str, Any]) -> list[str]:
    """The fetch caches whose withdrawals hold for a model: the one configured
    (FACEDATA_CACHE_URL) and the one its corpus was built from, as the model records it
    (`corpus.cache`) or, for a model that does not, as the corpus's recipe names it
    where that corpus is at hand."""
    from facedata.storage.location import corpus_caches

    corpus = terms.get("corpus") if isinstance(terms.get("corpus"), dict) else {}
    path = corpus.get("path")
    at_hand = Path(path) if isinstance(path, str) and path and Path(path).is_dir() else None
    caches = corpus_caches(at_hand)
    recorded = corpus.get("cache")
    if isinstance(recorded, str) and recorded.strip() and recorded.strip() not in caches:
        caches.append(recorded.strip())
    return caches


def _cache_marks(terms: dict[str, Any]) -> tuple[list[dict[str, Any]], str | None]:
    """The fetch caches' withdrawals of a subject the model learnt from (`_model_caches`):
    a person forgotten on another home with `forget --cache` flags this home's models
    too. A store that cannot be read is said, not skipped silently: the model may hold
    someone who asked to leave."""
    if not terms.get("subjects"):
        return [], None
    datasets = {str(d) for d in terms.get("datasets") or [] if isinstance(d, str)}
    try:
        found = cache_withdrawals(datasets, _model_caches(terms))
    except FacedataError as exc:
        return [], inert(
            f"the fetch cache's withdrawals could not be read ({exc.message}): a person "
            "forgotten on another home may be in this model; check again when the store "
            "answers"
        )
    return _marks_of(terms, found, "the fetch cache"), None


def _marks_of(terms: dict[str, Any], withdrawals: Any, by: str) -> list[dict[str, Any]]:
    """Marks for the withdrawals of a subject the model learnt from.

    A withdrawal older than the corpus the model records is passed over only where the
    person can lawfully be in that corpus again: the team's own participants (a
    dataset this home's catalog knows as own recordings), whom a build admits again on
    a signature dated after the withdrawal. Anyone else the model learnt from after
    withdrawing is there because the build never saw the withdrawal (it reached the
    fetch cache, or this home's ledger, late): flagged. One logged after training
    always is."""
    from facedata.manifest.catalog import own_data_ids

    learnt = learnt_withdrawals(terms, withdrawals)
    if not learnt:
        return []  # the common case: no catalog to load
    trained = str(terms.get("trained") or "")
    corpus = terms.get("corpus") if isinstance(terms.get("corpus"), dict) else {}
    created = str(corpus.get("created") or "")
    own = own_data_ids()
    used = {str(d) for d in terms.get("datasets") or []}

    def regrantable(w: Any) -> bool:
        # a withdrawal from every dataset: the model's subjects are not kept by dataset,
        # so only a model of own recordings alone can hold the person again lawfully
        return (w.dataset in own) if w.dataset else bool(used) and used <= own

    return [
        {**w.to_dict(), "action": "retrain", "by": w.by or by}
        for w in learnt
        if w.when[:19] >= trained[:19]
        or not created
        or created[:19] <= w.when[:19]
        or not regrantable(w)
    ]
