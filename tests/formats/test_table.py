"""The generic `table` reader: datasets shaped "images + one row per image" need no Python."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from facedata.corpus import iter_rows
from facedata.errors import ReaderError
from facedata.label.taxonomy import load_taxonomy
from facedata.manifest.schema import Manifest, load_manifest
from facedata.read import read_source
from facedata.read.sample import Drop, Sample
from tests.helpers.cli import run_cli
from tests.helpers.photos import lfw_face

EXPRESSIONS = {
    "0": "anger",
    "1": "contempt",
    "2": "disgust",
    "3": "fear",
    "4": "happy",
    "5": "neutral",
    "6": "sad",
    "7": "surprise",
}


def _manifest(folder: Path, options: dict, dataset: str = "tbl-faces") -> Path:
    """A manifest as a person writes one for a new table-shaped dataset."""
    doc = {
        "id": dataset,
        "name": "Faces listed in a table",
        "tasks": ["expression"],
        "license": {
            "id": "CC-BY-4.0",
            "tier": "commercial",
            "derivatives": "allowed",
            "redistribution": "allowed",
        },
        "citation": "@misc{tbl, title={Table faces}}",
        "sources": [
            {
                "id": "copy",
                "kind": "manual",
                "official": True,
                "access": {"level": "open", "instructions": "Copy the folder."},
            }
        ],
        "format": {"reader": "table", "root": ".", "options": options},
        "labels": {"expression": {"codes": EXPRESSIONS}},
        "faces": {"align": "detect"},
    }
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{dataset}.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def _hub_copy(root: Path) -> dict[str, tuple[str, str | None, str | None]]:
    """labels.csv `pth,label` as a user README describes the AffectNet Hub copy, plus a
    split and a subject column; images in class folders. Returns key -> (label, split,
    subject) for the rows that must be read."""
    rows = [
        ("anger/a1.png", "0", "train", "p1"),
        ("happy/h1.png", "4", "train", "p2"),
        ("happy/h2.png", "4", "val", "p2"),
        ("sad/s1.png", "6", "test", ""),
        ("surprise/u1.png", "7", "Training", "p3"),
    ]
    lines = ["pth,label,split,person"]
    for i, (name, code, split, subject) in enumerate(rows):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        lfw_face(i, (96, 96)).save(root / name)
        lines.append(f"{name},{code},{split},{subject}")
    lines += ["missing/x.png,5,train,p9", "anger/a1.png,,train,p1", "../escape.png,1,train,p1"]
    (root / "labels.csv").write_text("\n".join(lines) + "\n")
    norm = {"train": "train", "val": "validation", "test": "test", "Training": "train"}
    return {n: (c, norm[s], p or None) for n, c, s, p in rows}


def _load(path: Path) -> Manifest:
    return load_manifest(path, load_taxonomy())


OPTIONS = {
    "file": "labels.csv",
    "columns": {"path": "pth", "label": "label", "split": "split", "subject": "person"},
}


def test_table_reader_reads_rows_and_counts_what_it_cannot(tmp_path):
    want = _hub_copy(tmp_path / "data")
    path = _manifest(tmp_path / "m", OPTIONS)
    m = _load(path)
    items = list(read_source(m, m.sources[0], tmp_path / "data"))
    samples = {s.key: s for s in items if isinstance(s, Sample)}
    assert {k: (s.codes["expression"], s.split, s.subject_id) for k, s in samples.items()} == want
    drops = sorted((d.reason, d.where) for d in items if isinstance(d, Drop))
    assert drops == [
        ("malformed row", "labels.csv:9"),
        ("missing image", "labels.csv:7"),
        ("unlabeled", "labels.csv:8"),
    ]


def test_headerless_whitespace_table_by_column_numbers(tmp_path):
    root = tmp_path / "data"
    (root / "img").mkdir(parents=True)
    for i in range(3):
        lfw_face(10 + i, (64, 64)).save(root / "img" / f"{i}.jpg")
    (root / "list.txt").write_text("0.jpg  4\n1.jpg\t6\n\n2.jpg 0\n")
    path = _manifest(
        tmp_path / "m",
        {"file": "list.txt", "header": False, "images": "img", "columns": {"path": 0, "label": 1}},
    )
    m = _load(path)
    got = {
        s.key: s.codes["expression"]
        for s in read_source(m, m.sources[0], root)
        if isinstance(s, Sample)
    }
    assert got == {"img/0.jpg": "4", "img/1.jpg": "6", "img/2.jpg": "0"}


def test_a_wrong_column_name_is_a_clear_error(tmp_path):
    _hub_copy(tmp_path / "data")
    path = _manifest(tmp_path / "m", {"file": "labels.csv", "columns": {"path": "file"}})
    m = _load(path)
    with pytest.raises(ReaderError, match="no column 'file'"):
        list(read_source(m, m.sources[0], tmp_path / "data"))


def test_a_table_dataset_from_fetch_to_corpus_with_a_manifest_only(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("FACEDATA_HOME", str(tmp_path / "cache"))
    want = _hub_copy(tmp_path / "data")
    _manifest(tmp_path / "m", OPTIONS)
    args = ("--manifests", str(tmp_path / "m"))
    assert run_cli(capsys, "fetch", "tbl-faces", "--from", str(tmp_path / "data"), *args).code == 0
    out = tmp_path / "corpus"
    res = run_cli(
        capsys, "build", "--datasets", "tbl-faces", "--out", str(out), "--workers", "1", *args
    )
    assert res.code == 0, res.err
    cols = ["key", "expression", "split", "subject_id"]
    rows = list(iter_rows(out, cols))  # labels by name
    got = {r["key"]: (r["expression"], r["split"], r["subject_id"]) for r in rows}
    assert got == {k: (EXPRESSIONS[c], s, p) for k, (c, s, p) in want.items()}
    drops = json.loads((out / "corpus.json").read_text())["drops"]
    assert {k: v["count"] for k, v in drops.items()} == {
        "tbl-faces: missing image": 1,
        "tbl-faces: unlabeled": 1,
        "tbl-faces: malformed row": 1,
    }
