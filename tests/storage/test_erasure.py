"""A withdrawn participant leaves every corpus on object storage, wherever it is named.

`forget` without paths reaches corpora registered by URL; a store that does not answer
leaves the erasure pending (recorded, reported as not done, applied by the next run);
the ledger names the URL; pages written with `report --out` are rewritten; `cite`
prints keys that exist; copies of a prefix, other homes, training after an erasure and
two erasures at once all hold.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

import facedata.corpus.registry as corpora
from facedata import storage
from facedata.corpus import CORPUS_JSON
from facedata.demo import DATASET_ID, OWN_ID
from tests.cli.conftest import World
from tests.helpers.cli import run_cli
from tests.helpers.corpus import make_corpus
from tests.helpers.extras import needs
from tests.storage.conftest import S3, SECRET, _free_port

pytestmark = needs("moto", "boto3")
URL = "s3://faces-bucket/erase/corpus"
KEY = "erase/corpus"


@pytest.fixture
def published(s3: S3, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict:
    """A corpus published at URL and registered by its URL in a fresh home."""
    monkeypatch.setenv("FACEDATA_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("FACEDATA_MANIFESTS", raising=False)
    record = make_corpus(tmp_path / "local", 40)
    storage.publish(tmp_path / "local", URL)
    corpora.register_remote(URL, record)
    return record


def _subjects(s3: S3, key: str = KEY) -> set[str]:
    remote = json.loads(s3.get(f"{key}/{CORPUS_JSON}"))
    found: set[str] = set()
    for shard in remote["shards"]:
        table = pq.read_table(io.BytesIO(s3.get(f"{key}/{shard['path']}")))
        found |= set(table.column("subject_id").to_pylist())
    return found


def _ledger(home: Path) -> list[dict]:
    path = home / "erasure-log.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _registry(home: Path) -> dict:
    return json.loads((home / "corpora.json").read_text())


def test_forget_without_paths_reaches_a_corpus_registered_by_url(
    published: dict, s3: S3, tmp_path: Path, capsys
):
    assert "smiles-s3" in _subjects(s3)
    res = run_cli(capsys, "forget", "--subject", "smiles-s3", "--by", "dpo@example.org")
    assert res.code == 0, res.err
    assert "smiles-s3" not in _subjects(s3)
    assert f"{URL}: removed" in " ".join(res.out.split())
    assert "no longer there" not in res.out and "s3:/faces" not in res.out
    remote = json.loads(s3.get(f"{KEY}/{CORPUS_JSON}"))
    assert remote["forgotten"][-1]["subject_id"] == "smiles-s3"
    # the ledger names the URL, not the private folder the erasure ran in
    home = tmp_path / "home"
    last = _ledger(home)[-1]
    assert list(last["corpora"]) == [URL] and last["pending"] == []
    assert str(home / "remote") not in json.dumps(last)
    assert SECRET not in (home / "erasure-log.jsonl").read_text()


def test_corpora_list_names_the_url(published: dict, capsys):
    res = run_cli(capsys, "corpora", "list")
    assert res.code == 0, res.err
    flat = " ".join(res.out.split())
    assert "faces-bucket/erase/corpus" in res.out and "s3:/faces" not in flat
    assert "missing" not in res.out and "remote" in res.out
    res = run_cli(capsys, "corpora", "list", "--json")
    rows = json.loads(res.out)
    assert [r["path"] for r in rows] == [URL] and rows[0]["state"] == "remote"
    # a remote entry is not "moved": `corpora drop` takes it only by its exact URL
    assert run_cli(capsys, "corpora", "drop", "s3://faces-bucket/erase").code == 1
    assert run_cli(capsys, "corpora", "drop", URL).code == 0
    assert corpora.read_registry() == []


def test_an_unreachable_store_leaves_the_erasure_pending_until_the_next_run(
    published: dict, s3: S3, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
):
    home = tmp_path / "home"
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{_free_port()}")  # nobody there
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    res = run_cli(capsys, "forget", "--subject", "smiles-s3")
    assert res.code == 1
    err = " ".join(res.err.split())
    assert "NOT yet erased" in err and URL in err and "pending" in err
    assert "Traceback" not in res.err and SECRET not in res.out + res.err
    last = _ledger(home)[-1]  # logged: every later build leaves the subject out
    assert last["subject_id"] == "smiles-s3" and last["corpora"] == {}
    assert [p["corpus"] for p in last["pending"]] == [URL]
    (entry,) = _registry(home)["corpora"]
    assert entry["path"] == URL and entry["pending"][0]["subject_id"] == "smiles-s3"
    assert "1 erasure(s) pending" in run_cli(capsys, "corpora", "list").out

    monkeypatch.setenv("AWS_ENDPOINT_URL", s3.endpoint)  # the store is back
    assert "smiles-s3" in _subjects(s3)
    res = run_cli(capsys, "forget", "--subject", "smiles-s4")  # any later run applies it
    assert res.code == 0, res.err
    assert not {"smiles-s3", "smiles-s4"} & _subjects(s3)
    marks = json.loads(s3.get(f"{KEY}/{CORPUS_JSON}"))["forgotten"]
    assert [m["subject_id"] for m in marks] == ["smiles-s3", "smiles-s4"]
    assert "pending" not in _registry(home)["corpora"][0]


def test_report_out_on_a_remote_corpus_is_rewritten_by_forget(
    s3: S3, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
):
    monkeypatch.setenv("FACEDATA_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("FACEDATA_MANIFESTS", raising=False)
    make_corpus(tmp_path / "local", 40)
    storage.publish(tmp_path / "local", URL)  # published elsewhere: not registered here
    page = tmp_path / "pages" / "smile.html"
    res = run_cli(capsys, "report", URL, "--out", str(page))
    assert res.code == 0, res.err
    (entry,) = _registry(tmp_path / "home")["corpora"]
    assert entry["path"] == URL and entry["reports"] == [str(page.resolve())]
    before = page.read_text()
    assert "corpus/corpus.json" in before  # the page names the corpus, not its staged copy
    res = run_cli(capsys, "forget", "--subject", "smiles-s3")
    assert res.code == 0, res.err
    after = page.read_text()
    assert after != before and "corpus/corpus.json" in after
    assert "smiles-s3" not in _subjects(s3)


def test_cite_prints_the_keys_it_wrote(published: dict, s3: S3, capsys):
    res = run_cli(capsys, "cite", URL)
    assert res.code == 0, res.err
    printed = [w for w in res.out.split() if w.startswith("s3://")]
    assert any(p.endswith("/references.bib") for p in printed)
    keys = set(s3.objects(KEY))
    for url in printed:
        if url != URL:
            assert url.removeprefix("s3://faces-bucket/") in keys, url


def test_a_copy_of_the_prefix_is_erased_where_it_was_named(
    published: dict, s3: S3, tmp_path: Path, capsys
):
    for key in s3.objects(KEY):
        s3.put(key.replace(KEY, "erase/copy", 1), s3.get(key))
    copy = "s3://faces-bucket/erase/copy"
    res = run_cli(capsys, "forget", "--subject", "smiles-s3", copy)
    assert res.code == 0, res.err
    assert "smiles-s3" not in _subjects(s3, "erase/copy")
    assert "smiles-s3" in _subjects(s3)  # the original was not named
    record = json.loads(s3.get(f"erase/copy/{CORPUS_JSON}"))
    assert record["storage"]["url"] == copy
    assert all(k.startswith("erase/copy/") for k in s3.objects("erase/copy"))
    # the copy's objects were written under the copy; the original's are untouched
    assert json.loads(s3.get(f"{KEY}/{CORPUS_JSON}")).get("forgotten") in (None, [])
    assert list(_ledger(tmp_path / "home")[-1]["corpora"]) == [copy]


def test_two_forgets_at_once_from_two_homes_both_erase(published: dict, s3: S3, tmp_path: Path):
    """Two homes share no lock: each erasure is committed only over the newest version."""
    import os
    import subprocess
    import sys

    src = str(Path(__file__).resolve().parents[2] / "src")
    procs = []
    for subject, home in (("smiles-s2", tmp_path / "a"), ("smiles-s5", tmp_path / "b")):
        env = {**os.environ, "FACEDATA_HOME": str(home), "PYTHONPATH": src}
        procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "facedata", "forget", "--subject", subject, URL],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
    assert not {"smiles-s2", "smiles-s5"} & _subjects(s3)
    marks = json.loads(s3.get(f"{KEY}/{CORPUS_JSON}"))["forgotten"]
    assert sorted(m["subject_id"] for m in marks) == ["smiles-s2", "smiles-s5"]


def test_a_publish_in_between_is_kept_and_the_erasure_made_over_it(
    published: dict, s3: S3, monkeypatch: pytest.MonkeyPatch, capsys
):
    import facedata.consent.forget as forget_module

    real = forget_module.forget_in_corpus
    calls: list[Path] = []

    def with_a_publish_in_between(path: Path, *args: object) -> int:
        if not calls:  # someone else publishes while the first attempt runs
            with storage.local_corpus(URL, writeback=True) as other:
                (other / "NOTE.md").write_text("published meanwhile\n")
        calls.append(path)
        return real(path, *args)

    monkeypatch.setattr(forget_module, "forget_in_corpus", with_a_publish_in_between)
    res = run_cli(capsys, "forget", "--subject", "smiles-s2")
    assert res.code == 0, res.err
    assert len(calls) == 2  # the first attempt lost the race and was made again
    record = json.loads(s3.get(f"{KEY}/{CORPUS_JSON}"))
    assert "NOTE.md" in {f["path"] for f in record["storage"]["files"]}
    assert "smiles-s2" not in _subjects(s3)


def test_a_writeback_from_a_replaced_version_is_refused(published: dict, s3: S3):
    from facedata.storage.remote import Conflict

    with pytest.raises(Conflict), storage.local_corpus(URL, writeback=True) as copy:
        (copy / "NOTE.md").write_text("an edit\n")
        storage.publish(copy, URL)  # someone else published meanwhile
    files = json.loads(s3.get(f"{KEY}/{CORPUS_JSON}"))["storage"]["files"]
    assert "NOTE.md" in {f["path"] for f in files}  # theirs, kept


def _both(world: World, path: Path, out: str) -> Path:
    """A recipe for the demo's public sample and its own participants into `out`."""
    lines = [
        f"datasets: [{DATASET_ID}, {OWN_ID}]",
        f"out: {out}",
        f"manifests: [{world.manifests}]",
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@needs("torch")
def test_a_forget_under_another_home_stops_builds_and_training_under_the_first(
    world: World, home: Path, s3: S3, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
):
    """Home A builds to s3://; home B (no registry entry, no manifests) erases a
    participant by URL. The withdrawals file beside the consent register then keeps
    the person out of A's next build and refuses A's training on an older copy."""
    url = "s3://faces-bucket/seams/own"
    recipe = _both(world, tmp_path / "own.yaml", url)
    res = run_cli(capsys, "build", str(recipe))
    assert res.code == 0, res.err
    assert "P03" in _subjects(s3, "seams/own")
    for key in s3.objects("seams/own"):  # a copy made before the erasure
        s3.put(key.replace("seams/own", "seams/old", 1), s3.get(key))
    beside = sorted(world.demo.root.rglob("withdrawals.jsonl"))
    try:
        with monkeypatch.context() as other:
            other.setenv("FACEDATA_HOME", str(tmp_path / "home-b"))
            res = run_cli(capsys, "forget", "--subject", "P03", url)
            assert res.code == 0, res.err
        assert "P03" not in _subjects(s3, "seams/own")
        written = sorted(world.demo.root.rglob("withdrawals.jsonl"))
        assert len(written) > len(beside)  # beside the register, found through corpus.json
        # home A: a fresh build of the same sources leaves P03 out
        fresh = _both(world, tmp_path / "fresh.yaml", "s3://faces-bucket/seams/fresh")
        res = run_cli(capsys, "build", str(fresh))
        assert res.code == 0, res.err
        assert "P03" not in _subjects(s3, "seams/fresh")
        # home A: training on the copy made before the erasure is refused, naming the URL
        res = run_cli(
            capsys,
            "train",
            "s3://faces-bucket/seams/old",
            "--out",
            str(tmp_path / "m"),
            "--epochs",
            "1",
            "--max-steps",
            "1",
            "--width",
            "4",
        )
        assert res.code != 0 and "P03" in res.err
        assert "s3://faces-bucket/seams/old" in " ".join(res.err.split())
        assert str(home / "remote") not in res.err
        # and training on the erased corpus works
        res = run_cli(
            capsys,
            "train",
            url,
            "--out",
            str(tmp_path / "m2"),
            "--epochs",
            "1",
            "--max-steps",
            "1",
            "--width",
            "4",
            "--batch-size",
            "4",
        )
        assert res.code == 0, res.err
    finally:
        for path in sorted(world.demo.root.rglob("withdrawals.jsonl")):
            if path not in beside:
                path.unlink()
