"""What a build counts while it runs, one concern per part.

A build counts four different things, read by different parts of corpus.json and
by different people: the funnel (rows read, dropped at each stage, written), the
subjects (what each consent register admitted, which withdrawals dropped rows), the
own-data media files the rows came from (so `forget` can find them again), and
what the readers said once (the file set they read, their notes). Each is a small
class with methods; `Tally` holds one of each.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from facedata.corpus.counts import RowCounter
from facedata.vocabulary import HEADS, STAGES

if TYPE_CHECKING:
    from facedata.consent.register import ConsentRegister
    from facedata.consent.withdrawals import Withdrawal
    from facedata.read.sample import Note

EXAMPLES = 5  # places named per drop reason; every drop is counted
# distinct drop reasons kept per dataset: a reason can hold a value of the file (an
# unknown label code), so a hostile file could make one per row; past this bound the
# dataset's further reasons are counted under one (`folded`), in corpus.json too
MAX_REASONS = 32
REASON_SHOWN = 80  # characters of a folded reason shown beside its place


def folded(dataset: str) -> str:
    """The drop key a dataset's reasons past MAX_REASONS are counted under."""
    return f"{dataset}: other reasons (past {MAX_REASONS} distinct)"


@dataclass
class Funnel:
    """Rows read, dropped (why, where, at which stage) and written, and their labels."""

    read: int = 0
    expected: int = 0  # for the ETA: manifest estimates, corrected as each reader finishes
    drops: Counter = field(default_factory=Counter)
    drop_examples: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    drop_stage: dict[str, str] = field(default_factory=dict)
    stages: Counter = field(default_factory=Counter)
    rows: RowCounter = field(default_factory=RowCounter)
    labels: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    duplicates: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    image_errors: list[dict] = field(default_factory=list)
    reasons: Counter = field(default_factory=Counter)  # dataset -> distinct reasons kept

    @property
    def written(self) -> int:
        return self.rows.total

    def drop(
        self, dataset: str, reason: str, where: str | None, stage: str = "reader", n: int = 1
    ) -> None:
        """`n` drops for one reason; `where` names the first (None: counted only, as a
        worker's counts replayed beyond the places they name). A dataset's reasons past
        MAX_REASONS distinct are folded into one, each place naming its own reason;
        which reasons fold depends only on the order they first occur in, the same
        whoever read the rows (a worker's log replays them in row order)."""
        key = f"{dataset}: {reason}"
        if key not in self.drops:
            if self.reasons[dataset] >= MAX_REASONS:
                key = folded(dataset)
                if where is not None:
                    shown = reason if len(reason) <= REASON_SHOWN else reason[:REASON_SHOWN] + "…"
                    where = f"{where} ({shown})"
            else:
                self.reasons[dataset] += 1
        self.drops[key] += n
        self.stages[stage] += n
        self.drop_stage.setdefault(key, stage)
        examples = self.drop_examples[key]
        if where is not None and len(examples) < EXAMPLES:
            examples.append(where)

    def image_error(self, entry: dict, max_listed: int) -> None:
        """List an undecodable or faceless sample by name, up to `max_listed` of them."""
        if len(self.image_errors) < max_listed:
            self.image_errors.append(entry)

    def labelled(self, dataset: str, counted: dict[str, Any], n: int = 1) -> None:
        """`n` samples' labels as their source gave them (the balance before dedup)."""
        for head, value in counted.items():
            self.labels[f"{dataset}/{head}"][value] += n

    def reader_count(self, estimate: int, real: int) -> int:
        """A reader announced its real count: correct the ETA's total; the new estimate."""
        self.expected += real - estimate
        return real

    def relabel(self, split: str, before: dict, changes: dict) -> None:
        """A written row's labels changed (a duplicate merged into it): fix the counts."""
        for head in HEADS:
            if head in changes:
                self.rows.label(split, head, before.get(head), -1)
                self.rows.label(split, head, changes[head], +1)
        if "label_conflict" in changes and not before.get("label_conflict"):
            self.rows.flags["label_conflict"] += 1
        if "merged_from" in changes and not before.get("merged_from"):
            self.rows.flags["merged"] += 1

    def duplicate(self, row: dict) -> None:
        """Count the labels of a row dedup removed: the balance before dedup is kept + these."""
        for head in HEADS:
            if row.get(head) is not None:
                self.duplicates[head][str(row[head])] += 1

    def progress(self) -> dict[str, int]:
        return {
            "read": self.read,
            "written": self.written,
            "dropped": sum(self.drops.values()),
            "expected": self.expected,
        }

    def to_dict(self) -> dict:
        """Rows read to rows written, step by step: read - every stage after "reader" = written."""
        return {
            "read": self.read,
            "stages": {s: self.stages.get(s, 0) for s in STAGES},
            "written": self.written,
            "duplicates_by_label": {k: dict(v) for k, v in self.duplicates.items()},
        }

    def drops_record(self) -> dict[str, dict]:
        """corpus.json `drops`: per reason, its count, its first places and its stage."""
        return {
            k: {"count": n, "examples": self.drop_examples[k], "stage": self.drop_stage[k]}
            for k, n in self.drops.items()
        }

    def counts(self) -> dict:
        return {**self.rows.to_dict(), "read": self.read}


@dataclass
class Subjects:
    """Consent and withdrawals: what each register admitted on the policy date, and the
    erasure-ledger entries that dropped rows of this build."""

    today: dt.date
    consent: dict[str, dict] = field(default_factory=dict)
    withdrawn: dict[tuple, dict] = field(default_factory=dict)

    def register(
        self, dataset: str, path: Path, register: ConsentRegister, purpose: str, sha256: str
    ) -> None:
        """Record, per reason, how many subjects `register` admits for `purpose` today."""
        self.consent[dataset] = {
            "register": path.name,
            "sha256": sha256,
            "purpose": purpose,
            "date": self.today.isoformat(),
            "subjects": register.summary(purpose, self.today),
            "malformed": sorted(register.malformed.values()),
        }

    def withdrew(self, withdrawal: Withdrawal) -> None:
        """A ledger withdrawal dropped rows: it goes to `withdrawals_applied` once."""
        w = withdrawal
        self.withdrawn[(w.subject_id, w.dataset, w.when)] = w.to_dict()

    def applied(self) -> list[dict]:
        return sorted(self.withdrawn.values(), key=lambda w: w["subject_id"])

    def forgotten(self, marks: list[dict]) -> list[dict]:
        """The replaced corpus's marks, plus ledger withdrawals that dropped rows this time."""
        out = list(marks)
        seen = {(m.get("subject_id"), m.get("dataset"), m.get("when")) for m in marks}
        for key, entry in self.withdrawn.items():
            if key not in seen:
                out.append({**entry, "source": "erasure ledger"})
        return out


@dataclass
class OwnFiles:
    """Own data: per dataset, each media file the rows came from, the subjects in it and
    the sha256 of the bytes decoded (even if the file is replaced later)."""

    subjects: dict[str, dict[str, set[str]]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(set))
    )
    sha256: dict[str, dict[str, str]] = field(default_factory=lambda: defaultdict(dict))

    def used(self, dataset: str, media: str, subjects: set[str], sha256: str | None) -> None:
        self.subjects[dataset][media].update(subjects)
        if sha256 is not None:
            self.sha256[dataset][media] = sha256


@dataclass
class ReaderNotes:
    """What each dataset's reader said once: the file set it read, and its notes."""

    file_sets: dict[str, str] = field(default_factory=dict)
    notes: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))

    def note(self, note: Note) -> None:
        if note.kind == "count":  # progress only (the funnel's ETA); nothing to record
            return
        if note.kind == "file_set":
            self.file_sets[note.dataset] = note.text
        elif note.text not in self.notes[note.dataset]:
            self.notes[note.dataset].append(note.text)


class SourceCounts:
    """The Tally as one source's rows are counted (`assemble/rows.py` Recorder): the
    funnel, the reader's notes, withdrawals, and the progress estimate of rows to come
    (the manifest's guess, replaced by the reader's real count, corrected at the end)."""

    def __init__(self, tally: Tally, estimate: int) -> None:
        self.tally = tally
        self.estimate = estimate
        self.rows = 0

    def note(self, note: Note) -> None:
        if note.kind == "count" and note.text.isdigit():  # the reader's real count
            self.estimate = self.tally.flow.reader_count(self.estimate, int(note.text))
        self.tally.readers.note(note)

    def seen(self, n: int = 1) -> None:
        grow = max(0, self.rows + n - max(self.rows, self.estimate))
        self.tally.flow.expected += grow  # more than expected: grow the estimate
        self.rows += n

    def drop(self, dataset: str, reason: str, where: str | None, stage: str, n: int = 1) -> None:
        self.tally.flow.drop(dataset, reason, where, stage, n)

    def read(self, n: int = 1) -> None:
        self.tally.flow.read += n

    def labelled(self, dataset: str, counted: dict[str, str], n: int = 1) -> None:
        self.tally.flow.labelled(dataset, counted, n)

    def withdrew(self, withdrawal: Withdrawal) -> None:
        self.tally.subjects.withdrew(withdrawal)

    def finish(self) -> None:
        """The source is read: the estimate of its rows becomes what it really had."""
        self.tally.flow.expected -= max(self.estimate - self.rows, 0)


def _today() -> dt.date:
    from facedata.gate.licensing import policy_now

    return policy_now().date()


@dataclass
class Tally:
    """Everything counted during a build, by concern; becomes part of corpus.json.

    The read-only properties at the end are the names corpus.json's record is built
    from; the build itself talks to the parts.
    """

    flow: Funnel = field(default_factory=Funnel)
    subjects: Subjects = field(default_factory=lambda: Subjects(_today()))
    own: OwnFiles = field(default_factory=OwnFiles)
    readers: ReaderNotes = field(default_factory=ReaderNotes)
    weights: set[str] = field(default_factory=set)  # sha256 of the detector weights used

    @classmethod
    def on(cls, today: dt.date) -> Tally:
        """A tally whose consent decisions are made on `today` (the build's policy date)."""
        return cls(subjects=Subjects(today))

    # the names corpus.json's record reads
    def funnel(self) -> dict:
        return self.flow.to_dict()

    def counts(self) -> dict:
        return self.flow.counts()

    @property
    def drops(self) -> Counter:
        return self.flow.drops

    @property
    def drop_examples(self) -> dict[str, list[str]]:
        return self.flow.drop_examples

    @property
    def drop_stage(self) -> dict[str, str]:
        return self.flow.drop_stage

    @property
    def labels(self) -> dict[str, Counter]:
        return self.flow.labels

    @property
    def image_errors(self) -> list[dict]:
        return self.flow.image_errors

    @property
    def consent(self) -> dict[str, dict]:
        return self.subjects.consent

    @property
    def used_files(self) -> dict[str, dict[str, set[str]]]:
        return self.own.subjects

    @property
    def used_sha(self) -> dict[str, dict[str, str]]:
        return self.own.sha256

    @property
    def file_sets(self) -> dict[str, str]:
        return self.readers.file_sets

    @property
    def notes(self) -> dict[str, list[str]]:
        return self.readers.notes
