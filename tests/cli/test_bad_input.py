"""Careless input, through the real entry point: a clear error, a hint, no traceback.

Each test gives one command the kind of input a new user gets wrong (a file where a
folder belongs, garbage bytes, a damaged corpus) and checks the exit code, the words
of the message, and that what was already on disk is untouched.
"""

from __future__ import annotations

import tarfile
import zipfile
from pathlib import Path

import pytest

from facedata.consent.owndata import new_local_manifest
from tests.fixtures.layouts import make_genki4k
from tests.helpers.cli import CliResult, run_cli
from tests.helpers.corpus import make_corpus
from tests.helpers.photos import face_variant

GARBAGE = bytes(range(256)) * 8


@pytest.fixture(autouse=True)
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    monkeypatch.setenv("FACEDATA_HOME", str(home))
    monkeypatch.delenv("FACEDATA_MANIFESTS", raising=False)
    monkeypatch.delenv("FACEDATA_MIRROR", raising=False)
    return home


def failed(res: CliResult, *words: str, code: int = 1) -> None:
    assert res.code == code, (res.code, res.out, res.err)
    assert "Traceback" not in res.err + res.out
    for w in words:
        assert w in res.err, (w, res.err)


def snapshot(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }


# -- usage errors (Typer ships its own copy of click: they must still print cleanly)


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("no-such-command",), ["No such command"]),
        (("info",), ["Missing argument"]),
        (("build", "--workers", "many", "--datasets", "genki4k"), ["--workers"]),
        (("list", "--no-such-option"), ["No such option"]),
    ],
)
def test_usage_errors_print_a_message_not_a_traceback(capsys, args, words):
    failed(run_cli(capsys, *args), "Usage:", *words, code=2)


def test_a_folder_where_a_file_belongs_is_a_usage_error(capsys, tmp_path):
    failed(run_cli(capsys, "list", "--clearances", str(tmp_path)), "is a directory", code=2)
    file = tmp_path / "notes.txt"
    file.write_text("x")
    failed(run_cli(capsys, "list", "--manifests", str(file)), "is a file", code=2)


# -- YAML inputs: recipe, clearances


def test_recipe_of_binary_garbage(capsys, tmp_path):
    recipe = tmp_path / "recipe.yaml"
    recipe.write_bytes(GARBAGE)
    failed(run_cli(capsys, "build", str(recipe)), "not UTF-8 text", "hint:")


def test_recipe_with_a_wrong_field_names_its_line_and_says_what_to_do(capsys, tmp_path):
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text("datasets: [genki4k]\nsize: big\n")
    failed(run_cli(capsys, "build", str(recipe)), f"{recipe}:2: size", "hint:")


def test_clearances_given_a_folder(capsys, tmp_path):
    res = run_cli(capsys, "build", "--datasets", "genki4k", "--clearances", str(tmp_path))
    failed(res, "is a folder, not a YAML file", "hint:")


def test_datasets_option_with_no_id(capsys, tmp_path):
    res = run_cli(capsys, "build", "--datasets", ",", "--out", str(tmp_path / "out"))
    failed(res, "--datasets names no dataset", "hint:")
    assert not (tmp_path / "out").exists()


# -- fetch --from with files that are not what they claim


def test_fetch_from_a_file_that_is_not_an_archive_pins_nothing(capsys, tmp_path, cache):
    bogus = tmp_path / "genki4k.tar"
    bogus.write_bytes(b"<html>rate limited</html>" * 40)
    failed(
        run_cli(capsys, "fetch", "genki4k", "--from", str(bogus)),
        "genki4k.tar is named like an archive but is neither a zip nor a tar",
        "hint:",
    )
    assert not (cache / "facedata.lock").exists()
    # the right file is then accepted: the wrong one was never pinned
    make_genki4k(tmp_path / "src")
    good = tmp_path / "good" / "genki4k.tar"
    good.parent.mkdir()
    with tarfile.open(good, "w") as tf:
        tf.add(tmp_path / "src" / "GENKI4K", "GENKI4K")
    assert run_cli(capsys, "fetch", "genki4k", "--from", str(good)).code == 0


def test_fetch_from_a_corrupt_zip_names_the_file_not_a_hash(capsys, tmp_path):
    bad = tmp_path / "genki4k.tar"
    bad.write_bytes(b"PK\x03\x04" + b"\x00" * 64)
    res = run_cli(capsys, "fetch", "genki4k", "--from", str(bad))
    failed(res, "genki4k.tar is damaged", "fresh, complete copy")
    assert "hash matched" not in res.err


@pytest.mark.parametrize("kind", ["xz", "zip"])
def test_fetch_from_an_archive_with_corrupt_compressed_data(capsys, tmp_path, cache, kind):
    make_genki4k(tmp_path / "src")
    packed = tmp_path / f"packed.{kind}"
    if kind == "xz":
        with tarfile.open(packed, "w:xz") as tf:
            tf.add(tmp_path / "src" / "GENKI4K", "GENKI4K")
    else:
        with zipfile.ZipFile(packed, "w", zipfile.ZIP_DEFLATED) as zf:
            for f in sorted((tmp_path / "src").rglob("*")):
                zf.write(f, f.relative_to(tmp_path / "src").as_posix())
    data = bytearray(packed.read_bytes())
    at = len(data) // 2 if kind == "xz" else 200  # inside the first compressed member
    data[at : at + 16] = bytes(b ^ 0xFF for b in data[at : at + 16])
    bad = tmp_path / "genki4k.tar"
    bad.write_bytes(bytes(data))
    failed(run_cli(capsys, "fetch", "genki4k", "--from", str(bad)), "genki4k.tar is damaged")
    assert not (cache / "datasets" / "genki4k" / "official").exists()


def test_fetch_from_a_different_file_after_a_pin_says_how_to_unpin(capsys, tmp_path, cache):
    make_genki4k(tmp_path / "src")
    for name, n in (("a", 1), ("b", 2)):
        (tmp_path / name).mkdir()
        with tarfile.open(tmp_path / name / "genki4k.tar", "w") as tf:
            # a readable delivery (labels.txt and some images): fetch reads it before pinning
            labels = tmp_path / "src" / "GENKI4K" / "labels.txt"
            for f in [*sorted((tmp_path / "src" / "GENKI4K").rglob("*"))[: 3 + n], labels]:
                tf.add(f, f.relative_to(tmp_path / "src").as_posix())
    assert (
        run_cli(capsys, "fetch", "genki4k", "--from", str(tmp_path / "a" / "genki4k.tar")).code == 0
    )
    tree = cache / "datasets" / "genki4k" / "official"
    before = snapshot(tree)
    res = run_cli(capsys, "fetch", "genki4k", "--from", str(tmp_path / "b" / "genki4k.tar"))
    failed(res, "from the pin", 'delete the "official" entry under "genki4k"')
    assert snapshot(tree) == before


@pytest.mark.parametrize("content", [b"[1]", b'{"datasets": []}', GARBAGE])
def test_damaged_lock_file(capsys, cache, content):
    cache.mkdir(parents=True)
    (cache / "facedata.lock").write_bytes(content)
    failed(run_cli(capsys, "verify"), "the lock file", "is unreadable", "hint:")
    assert (cache / "facedata.lock").read_bytes() == content


# -- corpus consumers: report, cite, forget


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    root = tmp_path / "corpus"
    make_corpus(root)
    return root


@pytest.mark.parametrize("command", ["report", "cite", "forget"])
@pytest.mark.parametrize("content", [b"", b"\x00\xff not json {", b"[1, 2]"])
def test_damaged_corpus_json(capsys, corpus, command, content):
    (corpus / "corpus.json").write_bytes(content)
    before = snapshot(corpus)
    args = (
        ["forget", "--subject", "smiles-s1", str(corpus)]
        if command == "forget"
        else [command, str(corpus)]
    )
    failed(run_cli(capsys, *args), "corpus.json", "hint:")
    assert snapshot(corpus) == before


def test_forget_refuses_a_truncated_shard_before_touching_any_corpus(capsys, tmp_path, corpus):
    other = tmp_path / "other"
    make_corpus(other)
    shard = sorted((other / "data").glob("*.parquet"))[0]
    shard.write_bytes(shard.read_bytes()[:200])
    before = snapshot(corpus), snapshot(other)
    res = run_cli(capsys, "forget", "--subject", "smiles-s1", str(corpus), str(other))
    failed(res, f"{other} is a damaged corpus", shard.name, "nothing was changed")
    assert (snapshot(corpus), snapshot(other)) == before


def test_forget_on_a_file(capsys, tmp_path):
    file = tmp_path / "corpus.txt"
    file.write_text("x")
    failed(run_cli(capsys, "forget", "--subject", "P001", str(file)), "not a facedata corpus")


def test_report_refuses_a_corpus_missing_its_shards(capsys, corpus):
    for shard in (corpus / "data").glob("*.parquet"):
        shard.unlink()
    failed(run_cli(capsys, "report", str(corpus)), "shards that corpus.json lists are missing")
    assert not (corpus / "report.html").exists()


def test_report_out_under_a_file(capsys, tmp_path, corpus):
    file = tmp_path / "notes.txt"
    file.write_text("x")
    res = run_cli(capsys, "report", str(corpus), "--out", str(file / "report.html"))
    failed(res, "is a file, not a folder", "hint:")
    assert file.read_text() == "x"


# -- own data: manifest new, consent register, annotations


@pytest.fixture
def recordings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    rec = tmp_path / "rec"
    img = rec / "images" / "P002_0001.jpg"
    img.parent.mkdir(parents=True)
    face_variant(300, (200, 240)).save(img)
    (rec / "annotations.csv").write_text(
        "file,subject_id,start,end,smile,expression\nimages/P002_0001.jpg,P002,,,1,happy\n"
    )
    (rec / "consent.csv").write_text(
        "subject_id,scopes,signed,withdrawn\nP002,research;commercial,2026-01-10,\n"
    )
    manifests = tmp_path / "manifests"
    manifests.mkdir()
    new_local_manifest(rec, "own-data", out=manifests / "own-data.yaml")
    monkeypatch.setenv("FACEDATA_MANIFESTS", str(manifests))
    return rec


def test_manifest_new_out_is_a_folder_or_under_a_file(capsys, tmp_path, recordings):
    failed(
        run_cli(
            capsys, "manifest", "new", "--local", str(recordings), "--out", str(tmp_path), "--force"
        ),
        "is a folder",
        "hint:",
    )
    file = tmp_path / "notes.txt"
    file.write_text("x")
    res = run_cli(
        capsys, "manifest", "new", "--local", str(recordings), "--out", str(file / "m.yaml")
    )
    failed(res, "cannot write", "hint:")
    assert file.read_text() == "x"


@pytest.mark.parametrize(
    "args",
    [
        ("fetch", "genki4k", "--from", ""),
        ("fetch", "genki4k", "--from", " "),
        ("build", "--datasets", "genki4k", "--out", ""),
        ("cite", ""),
        ("report", "", "--out", ""),
        ("forget", "--subject", "P002", ""),
        ("manifest", "new", "--local", "", "--id", "mine"),
        ("list", "--manifests", ""),
    ],
)
def test_an_empty_path_is_refused_not_read_as_the_current_folder(
    capsys, tmp_path, monkeypatch, cache, args
):
    here = tmp_path / "here"  # where the person stands: must not be registered or written
    here.mkdir()
    make_genki4k(here)
    monkeypatch.chdir(here)
    before = snapshot(here)
    failed(run_cli(capsys, *args), "an empty path", code=2)
    assert snapshot(here) == before
    assert not (cache / "datasets").exists()


def test_build_out_under_a_file(capsys, tmp_path, recordings):
    file = tmp_path / "notes.txt"
    file.write_text("x")
    for out in (file / "corpus", file / "a" / "corpus"):
        res = run_cli(capsys, "build", "--datasets", "own-data", "--out", str(out))
        failed(res, "cannot write", f"{file} is a file, not a folder", "hint:")
    assert file.read_text() == "x"


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (
            b"id,scope,date\nP002,research;commercial,2026-01-10\n",
            ["lacks column(s) subject_id, scopes, signed", "found: id, scope, date"],
        ),
        (b"", ["no header row"]),
        (GARBAGE, ["not UTF-8 text"]),
    ],
)
def test_consent_register_that_cannot_admit_anyone_is_an_error(
    capsys, tmp_path, recordings, content, words
):
    (recordings / "consent.csv").write_bytes(content)
    out = tmp_path / "out"
    res = run_cli(capsys, "build", "--datasets", "own-data", "--commercial", "--out", str(out))
    failed(res, "consent register", *words, "hint:")
    assert not out.exists()


def test_annotations_of_binary_garbage(capsys, recordings):
    (recordings / "annotations.csv").write_bytes(GARBAGE)
    failed(run_cli(capsys, "inspect", "own-data"), "annotations.csv: not UTF-8 text", "hint:")


def test_inspect_root_is_a_file(capsys, tmp_path):
    file = tmp_path / "genki4k.tar"
    file.write_text("x")
    failed(run_cli(capsys, "inspect", "genki4k", "--root", str(file)), "is a file, not a folder")
