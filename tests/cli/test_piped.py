"""Off a terminal every table prints full rows (TSV), and every listing has --json."""

from __future__ import annotations

import json

import pytest

from tests.helpers.cli import run_cli


@pytest.fixture(autouse=True)
def _home(tmp_path, monkeypatch):
    monkeypatch.setenv("FACEDATA_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("FACEDATA_MANIFESTS", raising=False)
    monkeypatch.chdir(tmp_path)


def _tsv(out: str) -> list[list[str]]:
    return [line.split("\t") for line in out.splitlines() if "\t" in line]


def test_list_piped_is_one_full_row_per_dataset(capsys):
    res = run_cli(capsys, "list")
    assert res.code == 0, res.err
    rows = _tsv(res.out)
    assert rows[0] == ["id", "name", "images", "labels", "license tier", "access", "commercial",
                       "fetched"]  # fmt: skip
    by_id = {r[0]: r for r in rows[1:]}
    assert by_id["affectnet"][1] == "AffectNet"  # never "affectn" / "et"
    assert by_id["celeba"][1] == "CelebFaces Attributes (CelebA)" or "…" not in by_id["celeba"][1]
    assert all(len(r) == len(rows[0]) for r in rows)
    assert "│" not in res.out and "\x1b[" not in res.out
    ids = {r["id"] for r in json.loads(run_cli(capsys, "list", "--json").out)}
    assert ids == set(by_id)


def test_licenses_piped_and_as_json_agree(capsys):
    rows = _tsv(run_cli(capsys, "licenses").out)
    assert rows[0] == ["id", "license", "tier", "derivatives", "redistribution", "terms"]
    data = json.loads(run_cli(capsys, "licenses", "--json").out)
    assert [[d["id"], d["license"], d["tier"]] for d in data] == [r[:3] for r in rows[1:]]


def test_doctor_piped_and_as_json(capsys):
    res = run_cli(capsys, "doctor")
    rows = _tsv(res.out)
    assert rows[0][0] == "detector" and any(r[0].startswith("retinaface-mnet025") for r in rows)
    assert json.loads(run_cli(capsys, "doctor", "--json").out)


def test_verify_as_json_lists_every_cached_file(capsys, world, monkeypatch):
    monkeypatch.setenv("FACEDATA_HOME", str(world.home))
    res = run_cli(capsys, "verify", "--json", "--manifests", str(world.manifests))
    assert res.code == 0, res.err
    data = json.loads(res.out)
    assert data and all(d["ok"] and d["problem"] is None for d in data)
    piped = _tsv(run_cli(capsys, "verify", "--manifests", str(world.manifests)).out)
    assert piped[0] == ["dataset", "source", "file", "status"] and piped[1][-1] == "ok"


def test_inspect_names_a_source_without_splits_unsplit(capsys, world, monkeypatch):
    monkeypatch.setenv("FACEDATA_HOME", str(world.home))
    res = run_cli(capsys, "inspect", "own-data", "--manifests", str(world.manifests))
    assert res.code == 0, res.err
    assert "(none)" not in res.out and "unsplit" in res.out
    assert "# splits" in res.out  # several tables: each headed when piped


def test_a_long_line_of_text_stays_one_line_when_piped():
    """rich wraps at 80 columns off a terminal: a path or a sentence cut in two is
    lost to grep. Text stays whole; a table still renders as a table."""
    import io

    from rich.table import Table

    from facedata.cli.app import TerminalConsole

    buf = io.StringIO()
    out = TerminalConsole(file=buf)
    long = "root: /" + "/".join(["a-long-folder-name"] * 12)
    out.print(long, highlight=False)
    out.print("withdrawal logged", "(later builds leave the subject out)" * 3)
    assert buf.getvalue().splitlines()[0] == long
    assert len(buf.getvalue().splitlines()) == 2
    table = Table("id", "name")
    table.add_row("x", "y")
    out.print(table)
    assert "x" in buf.getvalue().splitlines()[-2]


def test_corpora_list_piped_and_as_json(capsys, tmp_path):
    from facedata.corpus.registry import register

    assert json.loads(run_cli(capsys, "corpora", "list", "--json").out) == []
    corpus = tmp_path / "with a space" / "c1"
    corpus.mkdir(parents=True)
    record = {"id": "c-1", "purpose": "research", "datasets": [{"id": "a"}, {"id": "b"}]}
    (corpus / "corpus.json").write_text(json.dumps(record))
    register(corpus, {**record, "created": "2026-01-01T00:00:00+00:00"})
    register(tmp_path / "gone", {"id": "c-2", "datasets": [{"id": "a"}]})
    rows = _tsv(run_cli(capsys, "corpora", "list").out)
    assert rows[0] == ["id", "path", "purpose", "datasets", "created", "state"]
    by_id = {r[0]: r for r in rows[1:]}
    assert by_id["c-1"][1] == str(corpus.resolve()) and by_id["c-1"][3] == "a,b"
    assert by_id["c-1"][-1] == "ok" and by_id["c-2"][-1].startswith("missing")
    data = json.loads(run_cli(capsys, "corpora", "list", "--json").out)
    assert {d["id"]: d["state"] for d in data} == {"c-1": "ok", "c-2": "missing"}
