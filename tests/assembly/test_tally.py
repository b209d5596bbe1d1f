"""The build's tally, one part per concern, and the context every step reads."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from facedata.assemble.context import BuildContext
from facedata.assemble.tally import EXAMPLES, STAGES, Funnel, ReaderNotes, Subjects, Tally
from facedata.consent.withdrawals import Withdrawal
from facedata.read.sample import Note


def test_the_funnel_counts_every_drop_but_names_only_the_first_places():
    flow = Funnel(read=10)
    for i in range(EXAMPLES + 3):
        flow.drop("d", "bad row", f"line {i}")
    flow.drop("d", "no face", "x.jpg", "face")
    assert flow.drops_record()["d: bad row"] == {
        "count": EXAMPLES + 3,
        "examples": [f"line {i}" for i in range(EXAMPLES)],
        "stage": "reader",
    }
    assert flow.to_dict()["stages"] == {s: {"reader": 8, "face": 1}.get(s, 0) for s in STAGES}
    assert flow.progress() == {"read": 10, "written": 0, "dropped": 9, "expected": 0}


def test_image_errors_are_listed_up_to_a_limit():
    flow = Funnel()
    for i in range(4):
        flow.image_error({"where": str(i)}, max_listed=2)
    assert flow.image_errors == [{"where": "0"}, {"where": "1"}]


def test_a_reader_count_corrects_the_estimate():
    flow = Funnel(expected=100)
    assert flow.reader_count(40, 55) == 55
    assert flow.expected == 115


def test_withdrawals_that_dropped_rows_are_applied_once_and_marked_forgotten():
    subjects = Subjects(dt.date(2026, 1, 2))
    later = Withdrawal("P2", "own", "2026-01-01T00:00:00+00:00")
    earlier = Withdrawal("P1", None, "2025-12-01T00:00:00+00:00")
    for w in (later, earlier, later):
        subjects.withdrew(w)
    assert [w["subject_id"] for w in subjects.applied()] == ["P1", "P2"]
    old = {"subject_id": "P1", "dataset": None, "when": "2025-12-01T00:00:00+00:00"}
    forgotten = subjects.forgotten([old])
    assert forgotten[0] is old  # a mark of the replaced corpus is kept as it was
    assert forgotten[1:] == [{**later.to_dict(), "source": "erasure ledger"}]


def test_reader_notes_keep_the_file_set_and_each_note_once():
    notes = ReaderNotes()
    for note in (
        Note("d", "file_set", "aligned"),
        Note("d", "degraded", "no landmarks"),
        Note("d", "degraded", "no landmarks"),
        Note("d", "count", "12"),
    ):
        notes.note(note)
    assert notes.file_sets == {"d": "aligned"}
    assert notes.notes == {"d": ["no landmarks"]}


def test_the_record_reads_the_parts_through_the_tally():
    tally = Tally.on(dt.date(2026, 3, 4))
    tally.flow.drop("d", "bad", "here")
    tally.own.used("own", "a.mp4", {"P1"}, "abc")
    tally.readers.note(Note("d", "file_set", "cropped"))
    assert tally.subjects.today == dt.date(2026, 3, 4)
    assert tally.drops == {"d: bad": 1} and tally.drop_stage == {"d: bad": "reader"}
    assert tally.funnel()["stages"]["reader"] == 1
    assert tally.used_files == {"own": {"a.mp4": {"P1"}}}
    assert tally.used_sha == {"own": {"a.mp4": "abc"}}
    assert tally.file_sets == {"d": "cropped"}


def test_the_build_context_derives_the_worker_settings_from_the_recipe(tmp_path: Path):
    from facedata.assemble.recipe import Recipe

    recipe = Recipe(datasets=["x"], out=tmp_path / "c", size=64, detect_side=None)
    ctx = BuildContext.start(recipe, today=dt.date(2026, 5, 6))
    assert ctx.today == dt.date(2026, 5, 6) and ctx.tally.subjects.today == ctx.today
    assert ctx.out == tmp_path / "c"
    assert (ctx.settings.size, ctx.settings.detect_side) == (64, None)
    assert ctx.settings.decode_side == recipe.decode_side
    seen = []
    ctx.progress = seen.append
    ctx.report()
    assert seen == [{"read": 0, "written": 0, "dropped": 0, "expected": 0}]
