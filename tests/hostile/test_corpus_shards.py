"""A received corpus whose shard files, not its corpus.json, are hostile.

A shard that is a FIFO or a folder, a file that is not Parquet, a Parquet file whose
columns hold the wrong types, and an image that is a decompression bomb: `report`,
`forget` and `train` each end in a clear error (never a traceback, never a hang) or
go on without trusting the bad value.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image

from tests.helpers.cli import run_cli
from tests.helpers.corpus import make_corpus


@pytest.fixture
def corpus(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("FACEDATA_HOME", str(tmp_path / "home"))
    root = tmp_path / "received"
    make_corpus(root, n=12, size=32)
    return root


def _first_train(corpus: Path) -> Path:
    return sorted((corpus / "data").glob("train*.parquet"))[0]


def _clean(res, *words: str) -> None:
    assert res.code == 1, res.out + res.err
    assert "Traceback" not in res.err, res.err
    for w in words:
        assert w in res.err, res.err


@pytest.mark.parametrize("kind", ["fifo", "folder"])
def test_shard_that_is_not_a_file_is_refused_by_every_reader(corpus, capsys, kind):
    shard = _first_train(corpus)
    shard.unlink()
    os.mkfifo(shard) if kind == "fifo" else shard.mkdir()
    word = "a FIFO" if kind == "fifo" else "a folder"
    # forget used to open the FIFO and wait for a writer forever
    for args in (
        ("report", str(corpus), "--out", str(corpus.parent / "r.html")),
        ("forget", "--subject", "ds-a-s1", str(corpus)),
    ):
        _clean(run_cli(capsys, *args), word, "not a file")


def _retype(shard: Path, column: str, make) -> None:
    table = pq.read_table(shard)
    i = table.column_names.index(column)
    pq.write_table(table.set_column(i, column, make(table.num_rows)), shard)


def test_report_shows_no_thumbnail_for_an_image_column_of_the_wrong_type(corpus, capsys):
    for shard in (corpus / "data").glob("*.parquet"):
        _retype(shard, "image", lambda n: pa.array(range(n)))
    out = corpus.parent / "r.html"
    res = run_cli(capsys, "report", str(corpus), "--out", str(out))
    assert res.code == 0 and "Traceback" not in res.err, res.err
    assert out.is_file()


def _train(capsys, corpus: Path):
    pytest.importorskip("torch")
    out = corpus.parent / "model"
    return run_cli(capsys, "train", str(corpus), "--out", str(out), "--epochs", "1")


@pytest.mark.parametrize("damage", ["not-parquet", "empty", "image-int"])
def test_train_on_a_damaged_shard_is_a_clear_error(corpus, capsys, damage):
    shard = _first_train(corpus)
    if damage == "not-parquet":
        shard.write_bytes(os.urandom(4096))
    elif damage == "empty":
        shard.write_bytes(b"")
    else:
        for s in (corpus / "data").glob("*.parquet"):
            _retype(s, "image", lambda n: pa.array(range(n)))
    _clean(_train(capsys, corpus), "shard")
    assert not (corpus.parent / "model").exists()


def test_train_refuses_a_decompression_bomb_in_a_shard(corpus, capsys):
    bomb = io.BytesIO()
    Image.new("L", (12_000, 12_000)).save(bomb, "PNG")  # 144 M pixels, ~140 KiB
    for shard in (corpus / "data").glob("train*.parquet"):
        _retype(
            shard,
            "image",
            lambda n: pa.array(
                [{"bytes": bomb.getvalue(), "path": None}] * n,
                pa.struct([("bytes", pa.binary()), ("path", pa.string())]),
            ),
        )
    _clean(_train(capsys, corpus), "cannot be decoded", "pixels")


@pytest.mark.parametrize("column", ["subject_id", "dataset", "split"])
def test_forget_refuses_id_columns_that_are_not_text(corpus, capsys, column):
    """Compared as text, a number or a list matches nobody: a withdrawal would miss."""
    shard = _first_train(corpus)
    before = shard.read_bytes()
    _retype(shard, column, lambda n: pa.array([[1]] * n))
    changed = shard.read_bytes()
    res = run_cli(capsys, "forget", "--subject", "ds-a-s1", str(corpus))
    _clean(res, "damaged corpus", f"column {column}", "not text")
    assert shard.read_bytes() == changed != before


def test_train_refuses_a_subject_column_that_is_not_text(corpus, capsys):
    for shard in (corpus / "data").glob("*.parquet"):
        _retype(shard, "subject_id", lambda n: pa.array(range(n)))
    _clean(_train(capsys, corpus), "column subject_id", "not text")


def test_train_refuses_a_class_index_past_the_heads_classes(corpus, capsys):
    for shard in (corpus / "data").glob("*.parquet"):
        _retype(shard, "smile", lambda n: pa.array([2**62] * n))
    _clean(_train(capsys, corpus), "column smile holds class index")


def test_report_skips_detection_scores_that_are_not_numbers(corpus, capsys):
    for shard in (corpus / "data").glob("*.parquet"):
        _retype(shard, "det_score", lambda n: pa.array(["high"] * n))
    out = corpus.parent / "r.html"
    res = run_cli(capsys, "report", str(corpus), "--out", str(out))
    assert res.code == 0 and "Traceback" not in res.err, res.err
    assert out.is_file()
