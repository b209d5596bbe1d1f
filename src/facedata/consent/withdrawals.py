"""The withdrawal ledger: every `forget`, kept where every later build reads it.

Erasing rows from the corpora that exist today is half of honouring a withdrawal;
the other half is that no later build (a recipe replay, a new corpus, another
machine's build of the same folder) brings the person back. So `forget` appends to
`$FACEDATA_HOME/erasure-log.jsonl`, each erased corpus keeps the entry in its
`forgotten` list, and a build drops the subject's rows, before any pixel is decoded,
until the consent register re-grants with a signature dated after the withdrawal.

A ledger lives in one FACEDATA_HOME, so a withdrawal also travels with the recordings:
`forget` appends it to `withdrawals.jsonl` beside the consent register of every own
source that knows the subject. Whoever copies the folder copies that file, and every
build of a source reads the file beside its register, whatever the dataset id, manifest
folder, home or machine. Ledger entries also name the sha256 of the subject's
recordings, so a copy of the same bytes under another id is caught in that home.

A ledger line that cannot be read stops the build: skipping it could bring back a
person who asked to leave.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from filelock import FileLock

import facedata.files.jsontext as jsontext
from facedata.errors import FacedataError
from facedata.files.atomic import atomic_write_text
from facedata.files.fielddict import field_dict
from facedata.paths import home

if TYPE_CHECKING:
    from facedata.consent.register import ConsentRegister

LEDGER_NAME = "erasure-log.jsonl"
BESIDE_NAME = "withdrawals.jsonl"  # beside a consent register: travels with the recordings
PUBLISH_GUARD = ".publish.guard"  # a build's last check + publish, and a whole forget
LEDGER_REASON = "consent: withdrawn (erasure ledger)"
Admit = Callable[[str | None], tuple[bool, str]]
MULTI = "+"  # a frame showing several participants carries their ids joined by this


def ledger_path() -> Path:
    return home() / LEDGER_NAME


def subjects_of(subject_id: str | None) -> list[str]:
    """The participants a row's subject_id names (several for a shared video frame)."""
    if not subject_id:
        return []
    return [s for s in subject_id.split(MULTI) if s]


@dataclass(frozen=True)
class Withdrawal:
    subject_id: str
    dataset: str | None  # None: every dataset
    when: str  # ISO timestamp, UTC
    by: str = ""
    reason: str = ""
    recordings: tuple[str, ...] = ()  # sha256 of the subject's recordings, when known

    @property
    def date(self) -> dt.date:
        """The withdrawal's UTC date: consent signed after it re-grants."""
        return dt.date.fromisoformat(self.when[:10])

    def applies(self, dataset: str) -> bool:
        return self.dataset in (None, dataset)

    def to_dict(self) -> dict:
        return field_dict(self)

    @property
    def key(self) -> tuple:
        return (self.subject_id, self.dataset, self.when)


def _parse(entry: object, where: str) -> Withdrawal:
    if not isinstance(entry, dict) or not isinstance(entry.get("subject_id"), str):
        raise ValueError("not a withdrawal record (no subject_id)")
    when = str(entry.get("when") or "")
    try:
        dt.date.fromisoformat(when[:10])
    except ValueError:
        raise ValueError(f"`when` {when!r} is not an ISO date") from None
    dataset = entry.get("dataset")
    recordings = entry.get("recordings") or []
    if not isinstance(recordings, list) or not all(isinstance(h, str) for h in recordings):
        raise ValueError("`recordings` must be a list of sha256 strings")
    return Withdrawal(
        entry["subject_id"],
        dataset if isinstance(dataset, str) and dataset else None,
        when,
        str(entry.get("by") or ""),
        str(entry.get("reason") or ""),
        tuple(recordings),
    )


def parse_withdrawal(entry: object, where: str) -> Withdrawal:
    """One withdrawal record read from elsewhere (the fetch cache); ValueError if it is
    not one."""
    return _parse(entry, where)


def beside(register: Path) -> Path:
    """The withdrawals file that travels with a consent register (same folder)."""
    return Path(register).parent / BESIDE_NAME


def beside_files(register: Path, recordings: Path) -> list[Path]:
    """The withdrawals files of one own source: beside its register and at the top of
    its recordings folder (one file when they share a folder, as the template lays out)."""
    files = [beside(register), Path(recordings) / BESIDE_NAME]
    out: list[Path] = []
    for f in files:
        if all(os.path.abspath(f) != os.path.abspath(o) for o in out):
            out.append(f)
    return out


def read_beside(register: Path, recordings: Path | None = None) -> list[Withdrawal]:
    """Withdrawals recorded with a source; they hold for any id the source gets."""
    found: list[Withdrawal] = []
    for path in beside_files(register, recordings or Path(register).parent):
        if not os.path.lexists(path):
            continue
        if not path.is_file():
            raise _damaged(path, 0, "not a regular file")
        found += read_ledger(path)
    return found


def read_ledger(path: Path | None = None) -> list[Withdrawal]:
    """Every withdrawal recorded under $FACEDATA_HOME; a damaged line is an error."""
    path = path or ledger_path()
    if not path.is_file():
        return []
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise _damaged(path, 0, str(exc)) from None
    out = []
    for i, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            out.append(_parse(jsontext.loads(line), f"{path}:{i}"))
        except ValueError as exc:
            raise _damaged(path, i, str(exc)) from None
    return out


def _damaged(path: Path, line: int, problem: str) -> FacedataError:
    where = f"{path}:{line}" if line else str(path)
    return FacedataError(
        f"the withdrawal ledger {where} is unreadable: {problem}",
        hint="it records who asked to be forgotten, so nothing is built while it is damaged; "
        "restore it from a backup or fix that line by hand (one JSON object per line)",
    )


def append(record: dict, path: Path | None = None) -> None:
    """Add one erasure record; the whole file is rewritten atomically under a lock.

    Only lines are added: earlier ones are kept byte for byte (append-only)."""
    _parse(record, "new record")  # a record later builds could not read is never written
    path = path or ledger_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(path.with_name(f".{path.name}.guard")), timeout=60):
        old = path.read_text(encoding="utf-8") if path.is_file() else ""
        if old and not old.endswith("\n"):
            old += "\n"
        atomic_write_text(path, old + json.dumps(record, default=str) + "\n")


@dataclass
class WithdrawalIndex:
    """What a build needs: for (dataset, subject), the latest withdrawal in force."""

    by_subject: dict[str, list[Withdrawal]]

    @classmethod
    def load(cls, marks: Iterable[dict] = ()) -> WithdrawalIndex:
        """The ledger plus `marks`: a corpus's own `forgotten` entries survive a lost home."""
        found = list(read_ledger())
        for m in marks:
            try:
                found.append(_parse(m, "corpus mark"))
            except ValueError:
                # a mark without a usable date still withdraws, and no signature beats it
                sid = m.get("subject_id") if isinstance(m, dict) else None
                if isinstance(sid, str) and sid:
                    found.append(Withdrawal(sid, m.get("dataset") or None, "9999-12-31"))
        index: dict[str, list[Withdrawal]] = {}
        for w in found:
            index.setdefault(w.subject_id, []).append(w)
        return cls(index)

    def latest(
        self, dataset: str, subject_id: str, copies: Iterable[str] = ()
    ) -> Withdrawal | None:
        """The latest withdrawal for the subject in `dataset` or any copy of its bytes."""
        names = [dataset, *copies]
        hits = [w for w in self.by_subject.get(subject_id, []) if any(w.applies(n) for n in names)]
        return max(hits, key=lambda w: w.when) if hits else None

    def all(self) -> list[Withdrawal]:
        return [w for ws in self.by_subject.values() for w in ws]

    def plus(self, more: Iterable[Withdrawal]) -> WithdrawalIndex:
        """This index and `more` (a source's own withdrawals file)."""
        index = {k: list(v) for k, v in self.by_subject.items()}
        for w in more:
            index.setdefault(w.subject_id, []).append(w)
        return WithdrawalIndex(index)

    def same_bytes(self, hashes: set[str]) -> set[str]:
        """Dataset ids whose withdrawals named any of these recordings: the same people."""
        return {w.dataset for w in self.all() if w.dataset and hashes & set(w.recordings)}


def publish_lock() -> FileLock:
    """Held by a build from its last withdrawal check until its corpus is registered,
    and by `forget` throughout: a withdrawal lands before that check or finds the corpus."""
    home().mkdir(parents=True, exist_ok=True)
    return FileLock(str(home() / PUBLISH_GUARD), timeout=600)


def admission(
    dataset: str,
    register: ConsentRegister | None,
    withdrawn: WithdrawalIndex,
    purpose: str,
    today: dt.date,
    on_withdrawn: Callable[[Withdrawal], None] | None = None,
    copies: Iterable[str] = (),
) -> Admission:
    """May this subject's rows enter? The ledger first, then (own data) the register.

    A withdrawal recorded by `forget` holds until the register shows a signature dated
    after it that grants the purpose. Several ids joined by '+' (one frame, several
    people) are admitted only together. A withdrawal recorded for another id of the
    same bytes (`copies`: a manifest copied under a new id) holds here too. Readers call
    this before decoding anything.
    """
    return Admission(dataset, register, withdrawn, purpose, today, on_withdrawn, tuple(copies))


@dataclass(frozen=True)
class Admission:
    """The admission rule as data, not a closure: a build's workers that read label rows
    themselves receive this very object (pickled) and apply exactly the driver's rule.
    `on_withdrawn` hears of each withdrawal that refuses a row; it stays behind when the
    rule travels (`portable`), and the worker attaches its own."""

    dataset: str
    register: ConsentRegister | None
    withdrawn: WithdrawalIndex
    purpose: str
    today: dt.date
    on_withdrawn: Callable[[Withdrawal], None] | None = field(default=None, compare=False)
    copies: tuple[str, ...] = ()

    def portable(self, on_withdrawn: Callable[[Withdrawal], None] | None = None) -> Admission:
        """The same rule with another listener (None: nothing of the driver's travels)."""
        return replace(self, on_withdrawn=on_withdrawn)

    def one(self, sid: str | None) -> tuple[bool, str]:
        w = self.withdrawn.latest(self.dataset, sid, self.copies) if sid else None
        ok, why = True, ""
        register = self.register
        if register is not None:
            ok, why = register.decide(sid, self.purpose, self.today)
            rec = register.records.get(sid or "")
            if w is not None and ok and rec is not None and rec.signed > w.date:
                return True, why  # re-granted after the withdrawal
        if w is not None:
            if self.on_withdrawn is not None:
                self.on_withdrawn(w)
            return False, LEDGER_REASON
        return ok, why

    def __call__(self, subject_id: str | None) -> tuple[bool, str]:
        return admit_together(subjects_of(subject_id) or [subject_id], self.one)


def admit_together(people: Sequence[str | None], one: Admit) -> tuple[bool, str]:
    """Several people in one frame enter only together: one refusal refuses the frame,
    and says that it was one of several."""
    for sid in people:
        ok, why = one(sid)
        if not ok:
            return False, (
                f"several participants, one not admitted ({why})" if len(people) > 1 else why
            )
    return True, ""
