"""A corpus received from someone else is untrusted input.

Its corpus.json names shard files; `report`, `cite`, `forget` and the PyTorch
dataset follow those names. A name that is absolute, climbs out with '..', or a
shard that is a link out of the corpus must be refused with a clear message, never
read or rewritten; JSON nested 100,000 deep is a clear error, not RecursionError.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from facedata.corpus import CorpusError, read_corpus
from facedata.errors import UnsafePathError
from tests.helpers.cli import run_cli
from tests.helpers.corpus import make_corpus


@pytest.fixture
def corpus(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("FACEDATA_HOME", str(tmp_path / "home"))
    root = tmp_path / "received"
    make_corpus(root, n=12, size=32)
    return root


def _victim(tmp_path: Path, corpus: Path) -> Path:
    """A real shard copied outside the corpus: a file someone else owns."""
    victim = tmp_path / "victim" / "other.parquet"
    victim.parent.mkdir()
    shutil.copy(next((corpus / "data").glob("*.parquet")), victim)
    return victim


def _edit(corpus: Path, shard_path: str) -> None:
    record = json.loads((corpus / "corpus.json").read_text())
    record["shards"][0]["path"] = shard_path
    (corpus / "corpus.json").write_text(json.dumps(record))


def _commands(corpus: Path) -> list[tuple[str, ...]]:
    return [
        ("report", str(corpus), "--out", str(corpus.parent / "r.html")),
        ("cite", str(corpus)),
        ("forget", "--subject", "ds-a-s1", str(corpus)),
    ]


@pytest.mark.parametrize("style", ["dotdot", "absolute"])
def test_shard_path_out_of_the_corpus_is_refused(
    tmp_path: Path, corpus: Path, capsys: pytest.CaptureFixture[str], style: str
) -> None:
    victim = _victim(tmp_path, corpus)
    before = victim.read_bytes()
    _edit(corpus, "../victim/other.parquet" if style == "dotdot" else str(victim))
    for args in _commands(corpus):
        result = run_cli(capsys, *args)
        assert result.code != 0, args
        assert "Traceback" not in result.err
        assert "shard path must stay inside the corpus" in result.err + result.out, args
    assert victim.read_bytes() == before
    assert not (tmp_path / "r.html").exists()
    with pytest.raises(CorpusError, match="stay inside"):
        read_corpus(corpus)


def test_shard_that_is_a_link_out_is_refused(
    tmp_path: Path, corpus: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    victim = _victim(tmp_path, corpus)
    before = victim.read_bytes()
    shard = sorted((corpus / "data").glob("*.parquet"))[0]
    shard.unlink()
    shard.symlink_to(victim)
    for args in _commands(corpus)[::2]:  # report and forget read shards; cite does not
        result = run_cli(capsys, *args)
        assert result.code != 0, args
        assert "Traceback" not in result.err
        assert "outside" in result.err + result.out, args
    assert victim.read_bytes() == before
    assert shard.is_symlink()


def test_torch_dataset_refuses_a_shard_out_of_the_corpus(tmp_path: Path, corpus: Path) -> None:
    pytest.importorskip("torch")
    from facedata.learn.dataset import CorpusDataset

    victim = _victim(tmp_path, corpus)
    shard = next(s for s in sorted((corpus / "data").glob("train*.parquet")))
    shard.unlink()
    shard.symlink_to(victim)
    with pytest.raises(UnsafePathError, match="outside"):
        CorpusDataset(corpus, "train")


@pytest.mark.parametrize("depth", [101, 100_000])
def test_deeply_nested_corpus_json_is_a_clear_error(
    corpus: Path, capsys: pytest.CaptureFixture[str], depth: int
) -> None:
    (corpus / "corpus.json").write_text('{"shards": ' + "[" * depth + "]" * depth + "}")
    for args in _commands(corpus):
        result = run_cli(capsys, *args)
        assert result.code != 0, args
        assert "Traceback" not in result.err
        assert "nested" in result.err + result.out, args


@pytest.mark.parametrize("kind", ["link-out", "fifo", "dev-zero"])
def test_corpus_json_that_is_not_a_file_of_the_corpus_is_refused(
    tmp_path: Path, corpus: Path, capsys: pytest.CaptureFixture[str], kind: str
) -> None:
    import os

    record = corpus / "corpus.json"
    elsewhere = tmp_path / "elsewhere.json"
    elsewhere.write_bytes(record.read_bytes())
    record.unlink()
    if kind == "link-out":
        record.symlink_to(elsewhere)
    elif kind == "fifo":
        os.mkfifo(record)
    else:
        record.symlink_to("/dev/zero")
    for args in _commands(corpus):
        result = run_cli(capsys, *args)
        assert result.code != 0, args
        assert "Traceback" not in result.err
        assert "corpus" in result.err, args


def test_forget_never_copies_a_linked_file_into_the_rewritten_corpus(
    tmp_path: Path, corpus: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A received corpus may hold a link beside its shards (say, to the person's key
    file); rewriting the corpus for an erasure must not copy what it points to."""
    secret = tmp_path / "secret.txt"
    secret.write_text("private key material")
    (corpus / "NOTES.txt").symlink_to(secret)
    result = run_cli(capsys, "forget", "--subject", "smiles-s1", str(corpus))
    assert result.code == 0, result.err
    assert not (corpus / "NOTES.txt").exists()
    assert not any(
        p.is_file() and p.read_bytes() == b"private key material" for p in corpus.rglob("*")
    )
    assert secret.read_text() == "private key material"
