"""What counts as present in a delivered tree: own path, a same-named file below, or
an archive's extraction."""

from __future__ import annotations

from facedata.fetch.delivery import TreeIndex, completeness, locate
from facedata.manifest.schema import FileSet, FileSpec
from facedata.manifest.sources import ManualSource


def test_the_shallowest_same_named_file_wins_whatever_the_walk_order(tmp_path):
    for rel in ("a/b/c/labels.txt", "z/labels.txt", "a/labels2.txt"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(rel)
    assert TreeIndex(tmp_path).below("labels.txt", dirs=False) == tmp_path / "z/labels.txt"


def test_an_archive_counts_as_present_when_its_extraction_is(tmp_path):
    (tmp_path / "wrap/Emotion/S005").mkdir(parents=True)
    spec = FileSpec(name="Emotion_labels.zip", unpacks_to="Emotion")
    assert locate(tmp_path, spec) == tmp_path / "wrap/Emotion"
    assert locate(tmp_path, FileSpec(name="Landmarks.zip", unpacks_to="Landmarks")) is None


def test_completeness_reports_missing_required_files_and_the_first_complete_set(tmp_path):
    src = ManualSource(
        id="s",
        kind="manual",
        official=True,
        access={"level": "agreement", "instructions": "ask"},
        files=[
            FileSpec(name="req.txt"),
            FileSpec(name="a.csv"),
            FileSpec(name="b.csv"),
            FileSpec(name="opt.txt", optional=True),
        ],
        file_sets=[FileSet(id="A", files=["a.csv"]), FileSet(id="B", files=["b.csv"])],
    )
    (tmp_path / "deep").mkdir()
    (tmp_path / "deep/b.csv").write_text("x")
    state = completeness(tmp_path, src, [f for f in src.files if f.name == "req.txt"])
    assert state.missing == ["req.txt"] and state.file_set.id == "B" and not state.ok
    state = completeness(tmp_path, src, [], claimed={"a.csv"})
    assert state.file_set.id == "A" and state.ok
