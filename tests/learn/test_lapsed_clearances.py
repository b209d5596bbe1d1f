"""A clearance that expired before training admits nothing into the model.

The build checked the clearance on its own date; a model trained later from the same
corpus must not claim a use the clearance no longer allows, whether it cleared the
face detector or a dataset. Through the real CLI (`train`, `predict`).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from tests.helpers.cli import run_cli
from tests.helpers.corpus import FixtureDataset, aligned_face, make_corpus
from tests.helpers.extras import needs

pytestmark = needs("torch", "onnxruntime")

FAST = ("--epochs", "1", "--batch-size", "8", "--width", "4", "--threads", "1")
FREE = FixtureDataset("free", "Free faces", ("smile",), "CC-BY-4.0", "commercial")
PAID = FixtureDataset("paid", "Licensed faces", ("smile",), "LicenseRef-paid", "research-only")


def _clearance(expires: str, **what: str) -> dict:
    return {
        "purpose": "commercial",
        "cleared_by": "legal",
        "evidence": "memo 7",
        **what,
        "expires": expires,
    }


def _found_by(corpus: Path, detector: str) -> None:
    """Every row's `detector` as a real build writes it (the fixture's is no real name)."""
    for shard in sorted((corpus / "data").glob("*.parquet")):
        table = pq.read_table(shard)
        rows = pa.array([detector] * table.num_rows, table.schema.field("detector").type)
        table = table.set_column(table.schema.get_field_index("detector"), "detector", rows)
        pq.write_table(table, shard)


def _corpus(tmp_path: Path, ds: FixtureDataset, clearances: list[dict]) -> Path:
    corpus = tmp_path / "c"
    make_corpus(corpus, n=24, size=32, datasets=(ds,), purpose="commercial")
    _found_by(corpus, "retinaface-mnet025")
    record = json.loads((corpus / "corpus.json").read_text())
    record["clearances"] = clearances
    for d in record["datasets"]:
        cleared = [c for c in clearances if c.get("dataset") == d["id"]]
        if cleared:  # as a build on a date the clearance was in force records it
            d["clearance"] = cleared[0]
            record["license"]["tier"] = "commercial"
            record["license"]["statement"] = "Each input's own terms apply; see LICENSES/."
    (corpus / "corpus.json").write_text(json.dumps(record))
    return corpus


def _terms(capsys, corpus: Path, out: Path) -> dict:
    res = run_cli(capsys, "train", str(corpus), "--out", str(out), *FAST)
    assert res.code == 0, res.err
    text = (out / "README.md").read_text(encoding="utf-8")
    return yaml.safe_load(re.match(r"\A---\n(.*?)\n---\n", text, re.S).group(1))["facedata"][
        "terms"
    ]


def test_a_detector_clearance_expired_before_training_is_not_relied_on(tmp_path, capsys):
    detector = {"detector": "retinaface-mnet025"}
    live = _terms(
        capsys, _corpus(tmp_path, FREE, [_clearance("2099-12-31", **detector)]), tmp_path / "live"
    )
    assert live["noncommercial"] is False  # in force: the model may be used commercially
    terms = _terms(
        capsys, _corpus(tmp_path, FREE, [_clearance("2020-01-31", **detector)]), tmp_path / "m"
    )
    assert terms["noncommercial"] is True and terms["tier"] != "commercial"
    assert terms["banner"].startswith("research only")
    assert "expired on 2020-01-31" in terms["statement"]
    face = tmp_path / "face.png"
    aligned_face(3, 32).save(face)
    res = run_cli(capsys, "predict", str(tmp_path / "m"), str(face), "--whole-frame")
    assert res.err.startswith("terms: research only"), res.err


def test_a_dataset_clearance_expired_before_training_is_not_relied_on(tmp_path, capsys):
    detector = _clearance("2099-12-31", detector="retinaface-mnet025")
    live = [detector, _clearance("2099-12-31", dataset="paid")]
    assert (
        _terms(capsys, _corpus(tmp_path, PAID, live), tmp_path / "live")["noncommercial"] is False
    )
    clearances = [detector, _clearance("2021-06-30", dataset="paid")]
    terms = _terms(capsys, _corpus(tmp_path, PAID, clearances), tmp_path / "m")
    assert terms["noncommercial"] is True and terms["tier"] != "commercial"
    assert terms["banner"].startswith("research only")
    assert "clearance for paid expired on 2021-06-30" in terms["statement"]


@pytest.mark.parametrize("claimed", ["blazeface-full", "no-such-detector"])
def test_a_recipe_edited_to_name_a_freer_detector_cannot_speak_for_the_rows(
    tmp_path, capsys, claimed
):
    corpus = tmp_path / "c"
    make_corpus(corpus, n=24, size=32, datasets=(FREE,), purpose="commercial")
    _found_by(corpus, "retinaface-mnet025")  # as a build's rows say
    record = json.loads((corpus / "corpus.json").read_text())
    record["recipe"]["detector"] = claimed
    record["detector"]["name"] = claimed
    (corpus / "corpus.json").write_text(json.dumps(record))
    terms = _terms(capsys, corpus, tmp_path / "m")
    assert terms["noncommercial"] is True, terms["statement"]
    assert terms["detector"]["name"] == "retinaface-mnet025"
    assert "WIDER FACE" in terms["banner"]
