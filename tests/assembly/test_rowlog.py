"""A worker's counts for a range, replayed on the driver, leave the Tally exactly as
counting each row on the driver does: drops (count, first places, stage), reads,
labels, reader notes (the real count included), withdrawals that refused rows, and
the progress estimate."""

from __future__ import annotations

import datetime as dt
import pickle

from facedata.assemble.rows import RowLog, SourceJob, label_rows
from facedata.assemble.tally import EXAMPLES, SourceCounts, Tally
from facedata.consent.withdrawals import Withdrawal, WithdrawalIndex, admission
from facedata.label.taxonomy import load_taxonomy
from facedata.manifest.schema import FaceSpec
from facedata.read.sample import Drop, Note, PixelImage, Sample
from tests.fixtures import layouts
from tests.formats.conftest import manifest_for

DS = "fer2013"
GONE = Withdrawal("s2", DS, "2020-01-01T00:00:00+00:00")


def _stream() -> list:
    px = PixelImage("1 2 3 4", 2, 2, "L")
    out: list = [Note(DS, "count", "9"), Note(DS, "info", "read the Kaggle copy")]
    for i in range(EXAMPLES + 3):  # more drops of one reason than are ever named
        out.append(Drop(DS, "malformed row", f"f.csv:{i + 2}", "expected 3 fields"))
        subject = ("s2", None, "s1")[i % 3]
        code = ("3", "9", "6", "0")[i % 4]  # "9" is no FER code: a label drop
        out.append(Sample(DS, f"k{i}", px, {"expression": code}, "train", subject, where=f"w{i}"))
    out.append(Note(DS, "info", "read the Kaggle copy"))  # said twice, noted once
    return out


def _job(tmp_path, on_withdrawn=None) -> SourceJob:
    m = manifest_for(layouts.make_fer2013(tmp_path / "f"))
    src = m.sources[0]
    admit = admission(
        DS, None, WithdrawalIndex({"s2": [GONE]}), "research", dt.date(2026, 1, 1), on_withdrawn
    )
    return SourceJob(DS, m.labels_for(src), load_taxonomy(), False, admit, FaceSpec(), {})


def _state(t: Tally) -> tuple:
    f = t.flow
    return (
        f.read,
        f.expected,
        dict(f.drops),
        dict(f.drop_examples),
        f.drop_stage,
        dict(f.stages),
        {k: dict(v) for k, v in f.labels.items()},
        dict(t.readers.notes),
        t.subjects.applied(),
    )


def test_replayed_logs_count_what_the_driver_counts(tmp_path) -> None:
    stream = _stream()
    driver = Tally.on(dt.date(2026, 1, 1))
    counts = SourceCounts(driver, 5)
    job = _job(tmp_path, driver.subjects.withdrew)
    kept = [s.key for s, _ in label_rows(job, stream, counts)]
    counts.finish()

    workers = Tally.on(dt.date(2026, 1, 1))
    replayed = SourceCounts(workers, 5)
    travels = pickle.loads(pickle.dumps(_job(tmp_path / "w")))  # what a task carries
    got: list[str] = []
    for half in (stream[:7], stream[7:]):  # two ranges, two workers
        log = RowLog()
        job = SourceJob(
            travels.dataset,
            travels.labels,
            travels.taxonomy,
            travels.derive_smile,
            travels.admit.portable(log.withdrew),
            travels.face,
            travels.meta,
        )
        got += [s.key for s, _ in label_rows(job, half, log)]
        log = pickle.loads(pickle.dumps(log))  # back to the driver
        log.replay(replayed)
    replayed.finish()

    assert got == kept and kept
    assert _state(workers) == _state(driver)
    drops = driver.flow.drops
    assert drops[f"{DS}: malformed row"] == EXAMPLES + 3
    assert len(driver.flow.drop_examples[f"{DS}: malformed row"]) == EXAMPLES
    assert driver.flow.drop_stage[f"{DS}: consent: withdrawn (erasure ledger)"] == "consent"
    assert [w["subject_id"] for w in driver.subjects.applied()] == ["s2"]
    assert driver.flow.expected == 2 * (EXAMPLES + 3) - 5  # rows seen beyond the estimate


def test_one_reason_at_two_stages_keeps_its_places_in_row_order() -> None:
    events = [("d", "odd", f"w{i}", ("reader", "labels")[i % 2]) for i in range(3 * EXAMPLES)]
    driver, workers = Tally.on(dt.date(2026, 1, 1)), Tally.on(dt.date(2026, 1, 1))
    for e in events:
        driver.flow.drop(*e)
    log = RowLog()
    for e in events:
        log.drop(*e)
    log.replay(SourceCounts(workers, 0))
    assert _state(workers) == _state(driver)
    assert driver.flow.drop_examples["d: odd"] == [f"w{i}" for i in range(EXAMPLES)]
