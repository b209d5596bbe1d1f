"""The corpus format's one home: row, features, record, published documents."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from facedata.corpus import (
    CORPUS_FORMAT,
    CorpusError,
    LabelCodec,
    arrow_schema,
    column_names,
    default_expressions,
    heads_record,
    hf_features,
    parse_record,
    read_corpus,
    renumber,
    shard_name,
    table_of,
)
from facedata.corpus.docs import documents
from tests.helpers.cli import run_cli
from tests.helpers.corpus import make_corpus

DOCS = Path(__file__).resolve().parents[2] / "docs"
SRC = Path(__file__).resolve().parents[2] / "src"


def test_published_documents_match_the_code():
    for name, text in documents().items():
        committed = (DOCS / name).read_text(encoding="utf-8")
        assert committed == text, f"docs/{name} is stale: run `python -m facedata.corpus docs`"


def test_schema_and_features_come_from_one_declaration():
    names = default_expressions()
    assert names == ("neutral", "happy", "sad", "surprise", "fear", "disgust", "anger", "contempt")
    schema = arrow_schema(names)
    features = hf_features(names)
    assert schema.names == list(features) == column_names()
    stored = json.loads(schema.metadata[b"huggingface"])["info"]["features"]
    assert stored == features
    assert features["expression"] == {"names": list(names), "_type": "ClassLabel"}
    assert features["image"]["mode"] == "RGB" and hf_features(names, "L")["image"]["mode"] == "L"
    with pytest.raises(ValueError, match="image mode"):
        arrow_schema(names, "CMYK")


def test_codec_round_trip_and_refusals():
    codec = LabelCodec(default_expressions())
    assert [codec.encode("expression", n) for n in ("neutral", "contempt", None)] == [0, 7, -1]
    assert [codec.decode("expression", i) for i in (0, 7, -1, None)] == [
        "neutral",
        "contempt",
        None,
        None,
    ]
    assert codec.encode("smile", 1) == 1 and codec.encode("smile", None) == -1
    with pytest.raises(ValueError, match="not in the taxonomy"):
        codec.encode("expression", "joy")
    with pytest.raises(ValueError, match="0 or 1"):
        codec.encode("smile", 2)


def test_class_weights_are_balanced_on_train_and_zero_for_absent_classes():
    counts = {
        "smile": {"train": {"0": 30, "1": 10}, "test": {"1": 5}},
        "expression": {"train": {"neutral": 20, "happy": 5}},
    }
    heads = heads_record(default_expressions(), counts)
    assert heads["smile"]["counts"] == {"train": [30, 10], "test": [0, 5]}
    assert heads["smile"]["weights"] == [pytest.approx(40 / 60), pytest.approx(40 / 20)]
    w = heads["expression"]["weights"]
    assert w[0] == pytest.approx(25 / 40) and w[1] == pytest.approx(25 / 10) and w[2] == 0.0
    assert heads["expression"]["index"]["contempt"] == 7 and heads["expression"]["missing"] == -1


def test_record_reads_typed_keeps_unknown_keys_and_refuses_damage(tmp_path):
    corpus = make_corpus(tmp_path / "c", n=12)
    record = read_corpus(tmp_path / "c")
    assert record.format == CORPUS_FORMAT and record.counts.total == 12
    assert record.heads["expression"].names[-1] == "contempt"
    assert record["counts"]["total"] == 12  # the JSON shape, for code written against it
    assert record.to_dict()["shards"] == corpus["shards"]
    future = {**corpus, "added_later": {"x": 1}}
    assert parse_record(future).to_dict()["added_later"] == {"x": 1}
    with pytest.raises(CorpusError, match=r"`counts.total`: Input should be a valid integer"):
        parse_record({**corpus, "counts": {"total": "many"}}, "c")
    with pytest.raises(CorpusError, match="format 'facedata-corpus/9'"):
        parse_record({**corpus, "format": "facedata-corpus/9"}, "c")


def test_renumber_drops_empty_shards(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    shards = []
    for i, rows in enumerate([3, 0, 2]):
        name = shard_name("train", i, 3)
        pq.write_table(table_of([]), data / name)
        shards.append({"path": f"data/{name}", "split": "train", "rows": rows})
    kept = renumber(tmp_path, shards)
    assert [s["path"] for s in kept] == [
        "data/train-00000-of-00002.parquet",
        "data/train-00001-of-00002.parquet",
    ]
    assert sorted(p.name for p in data.iterdir()) == [Path(s["path"]).name for s in kept]


def test_report_tells_declared_crops_from_whole_frames_and_shows_label_merges(tmp_path, capsys):
    root = tmp_path / "c"
    corpus = make_corpus(root, n=16, statuses=("detected", "precropped", "whole_frame"))
    corpus["dedup"].update(
        merged={"expression": 2},
        conflicts={"smile": 1},
        examples=[
            {
                "kind": "conflict",
                "head": "smile",
                "kept": "a/1",
                "duplicate": "b/7",
                "values": [1, 0],
            }
        ],
    )
    corpus["counts"]["flags"] = {"label_by_convention": 3, "landmarks_error": 1}
    (root / "corpus.json").write_text(json.dumps(corpus))
    res = run_cli(capsys, "report", str(root))
    assert res.code == 0, res.err
    page = (root / "report.html").read_text()
    assert "declared crop" in page  # precropped rows (no detector column in the fixture)
    assert "whole frame (no face found)" in page  # whole_frame rows
    assert "labels merged into the kept copy: expression" in page and "conflicts: smile" in page
    assert "b/7" in page
    assert "label_by_convention" in page and "landmarks_error" in page


def test_help_and_core_do_not_import_torch():
    code = (
        "import sys\n"
        "from facedata.cli import app\n"
        "import facedata.assemble.pipeline, facedata.consent.forget, facedata.report\n"
        "try:\n    app(['--help'], standalone_mode=False)\nexcept SystemExit:\n    pass\n"
        "assert 'torch' not in sys.modules, 'torch imported'\n"
    )
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "train" in done.stdout and "predict" in done.stdout


def test_train_without_torch_says_how_to_get_it(tmp_path, capsys, monkeypatch):
    make_corpus(tmp_path / "c", n=12, size=32)
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` now fails
    res = run_cli(capsys, "train", str(tmp_path / "c"), "--out", str(tmp_path / "m"))
    assert res.code == 1 and "PyTorch is not installed" in res.err
    assert "facedata[torch]" in res.err and "Traceback" not in res.err
