"""What the report says where a reader would take it literally: its title, the leak
check on a corpus without subject ids, and why rows have no detector score."""

from __future__ import annotations

import re

import pyarrow as pa
import pyarrow.parquet as pq

from facedata.report import write_report
from tests.helpers.corpus import make_corpus


def _html(root) -> str:
    return write_report(root).read_text(encoding="utf-8")


def _drop_subjects(root) -> None:
    for shard in sorted((root / "data").rglob("*.parquet")):
        table = pq.read_table(shard)
        i = table.schema.get_field_index("subject_id")
        nulls = pa.nulls(len(table), type=table.schema.field(i).type)
        table = table.set_column(i, table.schema.field(i), nulls)
        pq.write_table(table, shard)


def test_the_title_names_the_corpus_folder_with_its_parent(tmp_path):
    root = tmp_path / "my-project" / "corpus"
    make_corpus(root)
    title = re.search(r"<title>(.*?)</title>", _html(root)).group(1)
    assert "Corpus report: my-project/corpus" in title


def test_leaks_without_subject_ids_could_not_be_checked(tmp_path):
    root = tmp_path / "c"
    make_corpus(root)
    assert "No subject appears in more than one split." in _html(root)
    _drop_subjects(root)
    html = _html(root)
    assert "No subject appears in more than one split" not in html
    assert "Leaks could not be checked" in html


def test_unscored_rows_say_how_each_was_aligned(tmp_path):
    root = tmp_path / "c"
    make_corpus(root, statuses=("detected", "whole_frame", "dataset_landmarks", "precropped"))
    html = _html(root)
    note = re.search(r"row\(s\) have no score: ([^<.]*)", html).group(1)
    assert "whole frame (no face found)" in note and "dataset landmarks" in note
    assert "used as precropped" not in html
