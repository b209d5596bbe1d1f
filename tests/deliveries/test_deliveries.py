"""Each dataset as people receive it: fetch --from, inspect, build, every row checked.

Through the real entry point, as a user runs it. The shapes are in shapes.py.
"""

from __future__ import annotations

import json

import pytest

from facedata.corpus import iter_rows
from tests.deliveries import shapes
from tests.helpers.cli import run_cli


def _source_args(d: shapes.Delivery) -> list[str]:
    return ["--source", d.source] if d.source else []


@pytest.mark.parametrize("shape", sorted(shapes.ALL))
def test_delivery_fetch_inspect_build(shape, tmp_path, capsys):
    d = shapes.ALL[shape](tmp_path / "made")
    exp = d.expected
    res = run_cli(capsys, "fetch", d.dataset, "--from", str(d.path), *_source_args(d))
    assert res.code == 0, res.err

    res = run_cli(capsys, "inspect", d.dataset, "--json", *_source_args(d))
    assert res.code == 0, res.err
    report = json.loads(res.out)
    assert report["read"] == len(exp.samples), report
    assert report["kept"] == len(exp.kept)
    assert report["file_set"] == d.file_set
    for text in d.notes:
        assert any(text in n for n in report["notes"]), report["notes"]
    got = {row["reason"]: row["count"] for row in report["drops"]["drops"]}
    assert got == {**exp.reader_drops, **exp.remap_drops}, report["drops"]

    out = tmp_path / "corpus"
    pick = f"{d.dataset}:{d.source}" if d.source else d.dataset
    res = run_cli(capsys, "build", "--datasets", pick, "--out", str(out), "--workers", "1")
    assert res.code == 0, res.err
    corpus = json.loads((out / "corpus.json").read_text())
    (record,) = corpus["datasets"]
    assert record["file_set"] == d.file_set
    for text in d.notes:
        assert sum(text in n for n in record["notes"]) == 1, record["notes"]
        assert res.out.count(text) == 1, res.out  # said once in the build output
    cols = ["key", "smile", "expression", "split", "subject_id", "align_status"]
    rows = list(iter_rows(out, cols))  # labels by name
    want = exp.kept
    assert sorted(r["key"] for r in rows) == sorted(want), corpus["drops"]
    for r in rows:
        e = want[r["key"]]
        assert (r["smile"], r["expression"]) == (e.smile, e.expression), r
        assert r["subject_id"] == e.subject_id, r
        if e.split:
            assert r["split"] == e.split, r
        if d.align:
            assert r["align_status"] == d.align, r
    assert not any(k.startswith("image:") for k in corpus["drops"]), corpus["drops"]
