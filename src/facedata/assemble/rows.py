"""What happens to each row a reader gives, wherever it is read: one function.

The driver reads most sources itself; a source whose reader cuts its input into
ranges (read/registry.py `source_parts`) is read by the workers, one range per chunk
task. Both go through `label_rows`: count the row, admit its subject (the consent
rule, `Admission`, travels as data), remap its labels. What it counts goes to a
`Recorder`: the build's Tally on the driver, a `RowLog` in a worker, which the driver
replays into the Tally in stream order before merging that chunk's rows. So the
counts, drops and notes of a build do not depend on who read the rows.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from facedata.assemble.tally import EXAMPLES
from facedata.assemble.worker import Item
from facedata.read.sample import Drop, Note, Sample

if TYPE_CHECKING:
    from facedata.consent.withdrawals import Admission, Withdrawal
    from facedata.label.remap import Labelled
    from facedata.label.taxonomy import Taxonomy
    from facedata.manifest.schema import FaceSpec, LabelSpec
    from facedata.read.registry import Part

MAX_NOTES = 64  # distinct reader notes one range may report; a reader says a few at most


class Recorder(Protocol):
    """Where `label_rows` counts what it sees."""

    def note(self, note: Note) -> None: ...

    def seen(self, n: int = 1) -> None: ...

    def drop(self, dataset: str, reason: str, where: str | None, stage: str, n: int = 1) -> None:
        """`n` drops; `where` names the first of them (None: counted, not named)."""
        ...

    def read(self, n: int = 1) -> None: ...

    def labelled(self, dataset: str, counted: dict[str, str], n: int = 1) -> None: ...

    def withdrew(self, withdrawal: Withdrawal) -> None: ...


@dataclass(frozen=True)
class SourceJob:
    """What a worker needs to label one source's rows as the driver would: picklable."""

    dataset: str
    labels: LabelSpec
    taxonomy: Taxonomy
    derive_smile: bool
    admit: Admission
    face: FaceSpec
    meta: dict[str, Any]  # dataset-level columns of every row


def label_rows(
    job: SourceJob, stream: Iterable[Sample | Drop | Note], rec: Recorder
) -> Iterator[tuple[Sample, Labelled]]:
    """The samples of `stream` that are admitted and labelled; everything else counted."""
    from facedata.label.remap import remap

    ds, admit = job.dataset, job.admit
    for item in stream:
        if isinstance(item, Note):
            rec.note(item)
            continue
        rec.seen()
        if isinstance(item, Drop):
            rec.drop(item.dataset, item.reason, item.where, "reader")
            continue
        rec.read()
        ok, why = admit(item.subject_id)
        if not ok:  # readers that decode nothing themselves leave the check to us
            rec.drop(ds, why, f"subject {item.subject_id or '?'}", "consent")
            continue
        labelled = remap(item, job.labels, job.taxonomy, derive_smile=job.derive_smile)
        if isinstance(labelled, Drop):
            rec.drop(labelled.dataset, labelled.reason, labelled.where, "labels")
            continue
        rec.labelled(ds, labelled.counted())
        yield item, labelled


@dataclass
class RowLog:
    """A worker's counts for one range, to replay on the driver (`replay`).

    Bounded by what it counts, not by rows: per drop reason and stage a count, per
    reason its first EXAMPLES places in row order (all the Tally ever names), per label
    value a count, a few notes.
    Replayed in order, it leaves the Tally exactly as recording each row would have.
    """

    notes: list[Note] = field(default_factory=list)
    rows_seen: int = 0
    rows_read: int = 0
    drops: Counter = field(default_factory=Counter)  # (dataset, reason, stage) -> count
    # the first EXAMPLES drops of each reason, in row order: (dataset, reason, where, stage),
    # and a reason's first drop even without a place (where None), so that the replay
    # meets every reason in the order the rows did (the Tally folds reasons by it)
    named: list[tuple[str, str, str | None, str]] = field(default_factory=list)
    _named_per_reason: Counter = field(default_factory=Counter)
    _reasons: set[tuple[str, str]] = field(default_factory=set)
    labels: Counter = field(default_factory=Counter)  # (dataset, head, value) -> count
    withdrawals: dict[tuple, Withdrawal] = field(default_factory=dict)

    def note(self, note: Note) -> None:
        if note.kind == "count":  # the latest real count is the one that holds
            self.notes = [n for n in self.notes if n.kind != "count"]
        elif note in self.notes or len(self.notes) >= MAX_NOTES:
            return
        self.notes.append(note)

    def seen(self, n: int = 1) -> None:
        self.rows_seen += n

    def drop(self, dataset: str, reason: str, where: str | None, stage: str, n: int = 1) -> None:
        self.drops[(dataset, reason, stage)] += n
        key = (dataset, reason)
        if where is not None and self._named_per_reason[key] < EXAMPLES:
            self.named.append((dataset, reason, where, stage))
            self._named_per_reason[key] += 1
        elif key not in self._reasons:  # its first drop, named nowhere: its place in order
            self.named.append((dataset, reason, None, stage))
        self._reasons.add(key)

    def read(self, n: int = 1) -> None:
        self.rows_read += n

    def labelled(self, dataset: str, counted: dict[str, str], n: int = 1) -> None:
        for head, value in counted.items():
            self.labels[(dataset, head, value)] += n

    def withdrew(self, withdrawal: Withdrawal) -> None:
        w = withdrawal
        self.withdrawals.setdefault((w.subject_id, w.dataset, w.when), w)

    def replay(self, rec: Recorder) -> None:
        for note in self.notes:
            rec.note(note)
        rec.seen(self.rows_seen)
        named = Counter((d, r, s) for d, r, _, s in self.named)
        for dataset, reason, where, stage in self.named:  # in row order: the places named
            rec.drop(dataset, reason, where, stage)
        for (dataset, reason, stage), n in self.drops.items():
            if n > named[(dataset, reason, stage)]:  # the rest, counted
                rec.drop(dataset, reason, None, stage, n - named[(dataset, reason, stage)])
        rec.read(self.rows_read)
        for (dataset, head, value), n in self.labels.items():
            rec.labelled(dataset, {head: value}, n)
        for w in self.withdrawals.values():
            rec.withdrew(w)


def part_items(part: Part, job: SourceJob, log: RowLog) -> Iterator[Item]:
    """A range's labelled items, read and labelled in the worker; counts go to `log`."""
    from facedata.read import read_part  # every reader registered, wherever this runs

    here = SourceJob(
        job.dataset,
        job.labels,
        job.taxonomy,
        job.derive_smile,
        job.admit.portable(on_withdrawn=log.withdrew),
        job.face,
        job.meta,
    )
    for sample, labelled in label_rows(here, read_part(part), log):
        yield Item(sample=sample, labels=labelled.as_row(), face=job.face, meta=job.meta)


@dataclass
class PartWork:
    """A range on its way from the driver's stream to a chunk task, with the driver's
    recorder for its source (which stays on the driver)."""

    part: Part
    job: SourceJob
    recorder: Any  # the source's SourceCounts (tally.py)
    last: bool  # the source's last range: its counts are final once it is replayed

    def replay(self, log: RowLog) -> None:
        log.replay(self.recorder)
        if self.last:
            self.recorder.finish()
