"""Attacks on corpora on object storage: secrets, shared prefixes, hostile records.

Each test states a promise of docs/storage.md and drives it through the CLI against
the moto server of conftest.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from facedata import storage
from facedata.corpus import CORPUS_JSON
from tests.cli.conftest import World
from tests.helpers.cli import run_cli
from tests.helpers.corpus import make_corpus
from tests.helpers.extras import needs
from tests.storage.conftest import KEY_ID, S3

pytestmark = needs("moto", "boto3")
# a real AWS secret key is 40 base64 characters and often holds '/' and '+'
SLASHED = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzzSECRETkey"


def _texts_under(root: Path) -> str:
    """Every readable file under `root`, as one text."""
    out = []
    for item in sorted(root.rglob("*")):
        if item.is_file() and not item.is_symlink():
            out.append(item.read_bytes().decode("utf-8", "replace"))
    return "\n".join(out)


def _bucket_text(s3: S3) -> str:
    return "\n".join(s3.get(k).decode("utf-8", "replace") for k in s3.objects())


def test_a_secret_with_a_slash_in_the_url_is_never_printed(
    s3: S3, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
):
    """docs/storage.md: whatever the URL holds, messages and errors name the corpus
    as s3://bucket/prefix only. AWS secrets hold '/'; typed raw into the URL, the
    refusal must not echo it."""
    monkeypatch.setenv("FACEDATA_HOME", str(tmp_path / "home"))
    url = f"s3://{KEY_ID}:{SLASHED}@faces-bucket/slash/corpus"
    for command in (["report", url], ["cite", url], ["forget", "--subject", "x", url]):
        res = run_cli(capsys, *command)
        assert res.code != 0
        assert "Traceback" not in res.err
        assert "SECRETkey" not in res.out + res.err, (command, res.err)
        assert KEY_ID not in res.out + res.err, (command, res.err)


def _refused(res, secret: str) -> None:  # noqa: ANN001 - a tests.helpers.cli result
    """docs/storage.md: a URL carrying keys is refused, naming it redacted and pointing
    at the AWS environment variables or a profile."""
    assert res.code == 1, res.err
    assert "Traceback" not in res.err
    assert "credentials" in res.err and "AWS_ACCESS_KEY_ID" in " ".join(res.err.split())
    assert secret not in res.out + res.err


def test_a_recipe_out_with_credentials_leaves_them_nowhere(
    world: World, home: Path, s3: S3, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
):
    """A recipe may say `out: s3://KEY:SECRET@bucket/prefix`: refused before anything is
    built; the bucket, the home and the output never hold the secret."""
    secret = "Url-Only-Secret-77aa"
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    url = f"s3://{KEY_ID}:{secret}@faces-bucket/rc/corpus?endpoint={s3.endpoint}"
    res = run_cli(capsys, "build", str(world.recipe(tmp_path / "r.yaml", url)))
    _refused(res, secret)
    assert s3.objects("rc/") == []
    assert secret not in res.out + res.err
    assert secret not in _bucket_text(s3)
    assert secret not in _texts_under(home)


def test_an_out_option_with_credentials_leaves_them_nowhere(
    world: World, home: Path, s3: S3, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
):
    secret = "Opt-Only-Secret-88bb"
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    url = f"s3://{KEY_ID}:{secret}@faces-bucket/opt/corpus?endpoint={s3.endpoint}"
    recipe = world.recipe(tmp_path / "r.yaml", tmp_path / "unused")
    res = run_cli(capsys, "build", str(recipe), "--out", url)
    _refused(res, secret)
    assert s3.objects("opt/") == []
    assert secret not in res.out + res.err
    assert secret not in _bucket_text(s3)
    assert secret not in _texts_under(home)


def test_a_build_reaches_the_endpoint_its_url_names(
    world: World, home: Path, s3: S3, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
):
    """docs/storage.md: the endpoint comes first from the URL's `?endpoint=`."""
    monkeypatch.delenv("AWS_ENDPOINT_URL")
    url = f"s3://faces-bucket/ep/corpus?endpoint={s3.endpoint}"
    res = run_cli(capsys, "build", str(world.recipe(tmp_path / "r.yaml", url)))
    assert res.code == 0, res.err
    assert "ep/corpus/corpus.json" in s3.objects("ep/")
    res = run_cli(capsys, "report", url, "--out", str(tmp_path / "p.html"))
    assert res.code == 0, res.err


@pytest.fixture
def keyed(s3: S3, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A corpus published at s3://faces-bucket/keyed/corpus, and that URL with keys and
    the endpoint in it (none in env), as a user might type it."""
    monkeypatch.setenv("FACEDATA_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("FACEDATA_MANIFESTS", raising=False)
    make_corpus(tmp_path / "local", 40)
    storage.publish(tmp_path / "local", "s3://faces-bucket/keyed/corpus")
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    return f"s3://{KEY_ID}:Keyed-Secret-1234@faces-bucket/keyed/corpus?endpoint={s3.endpoint}"


@needs("torch")
def test_train_on_a_keyed_url_writes_no_secret(keyed: str, tmp_path: Path, capsys):
    """Refused: no model, card, metrics or config is written from a keyed URL."""
    out = tmp_path / "model"
    res = run_cli(
        capsys, "train", keyed, "--out", str(out), "--epochs", "1", "--max-steps", "2",
        "--width", "4", "--batch-size", "8",
    )  # fmt: skip
    _refused(res, "Keyed-Secret-1234")
    assert not out.exists() or "Keyed-Secret-1234" not in _texts_under(out)
    assert "Keyed-Secret-1234" not in _texts_under(tmp_path / "home")


def test_forget_and_cite_on_a_keyed_url_write_no_secret(keyed: str, s3: S3, tmp_path: Path, capsys):
    """Each refuses the keyed URL; nothing anywhere holds the secret."""
    before = s3.objects("keyed/")
    res = run_cli(capsys, "cite", keyed)
    res2 = run_cli(capsys, "forget", "--subject", "smiles-s3", "--by", "dpo@example.org", keyed)
    res3 = run_cli(capsys, "report", keyed, "--out", str(tmp_path / "page.html"))
    for each in (res, res2, res3):
        _refused(each, "Keyed-Secret-1234")
    assert s3.objects("keyed/") == before
    assert "Keyed-Secret-1234" not in _bucket_text(s3)
    assert "Keyed-Secret-1234" not in _texts_under(tmp_path / "home")
    assert not (tmp_path / "page.html").exists()


def _read_all(url: str) -> int:
    """Rows of the corpus at `url`, read through the staging reader."""
    import pyarrow.parquet as pq

    with storage.local_corpus(url) as staged:
        record = json.loads((staged / CORPUS_JSON).read_text())
        return sum(pq.read_table(staged / s["path"]).num_rows for s in record["shards"])


def test_neighbouring_prefixes_survive_a_republish(
    s3: S3, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
):
    """Corpora at s3://b/c2, s3://b/c/sub and s3://b/c/v/NAME share a prefix with
    s3://b/c; republishing c (cite) deletes only c's own old versions."""
    monkeypatch.setenv("FACEDATA_HOME", str(tmp_path / "home"))
    make_corpus(tmp_path / "local", 20)
    base = "s3://faces-bucket/c"
    others = [f"{base}2", f"{base}/sub", f"{base}/v/20200101T000000Z-0badc0de"]
    storage.publish(tmp_path / "local", base)
    for url in others:
        storage.publish(tmp_path / "local", url)
    res = run_cli(capsys, "cite", base)
    assert res.code == 0, res.err
    for url in [base, *others]:
        assert _read_all(url) > 0, url


def test_a_version_shaped_key_with_an_impossible_date_is_left_alone(
    s3: S3, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
):
    """Listings are hostile input: a key shaped like a version but naming month 13
    must not crash the publish after its commit (no traceback, exit 0)."""
    monkeypatch.setenv("FACEDATA_HOME", str(tmp_path / "home"))
    make_corpus(tmp_path / "local", 20)
    url = "s3://faces-bucket/odd/corpus"
    storage.publish(tmp_path / "local", url)
    s3.put("odd/corpus/v/20261399T999999Z-deadbeef/x.parquet", b"junk")
    res = run_cli(capsys, "cite", url)
    assert "Traceback" not in res.err
    assert res.code == 0, res.err


def test_an_endpoint_that_is_down_gives_clear_errors(
    s3: S3, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
):
    from tests.storage.conftest import _free_port

    monkeypatch.setenv("FACEDATA_HOME", str(tmp_path / "home"))
    make_corpus(tmp_path / "local", 20)
    url = "s3://faces-bucket/down/corpus"
    storage.publish(tmp_path / "local", url)
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{_free_port()}")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    for command in (
        ["report", url, "--out", str(tmp_path / "p.html")],
        ["cite", url],
        ["forget", "--subject", "smiles-s3", url],
        ["train", url, "--out", str(tmp_path / "m"), "--max-steps", "1"],
    ):
        res = run_cli(capsys, *command)
        assert res.code == 1, (command, res.code, res.err)
        assert "Traceback" not in res.err, command
        assert url in " ".join(res.err.split()), (command, res.err)


def test_a_record_naming_a_shard_again_as_a_file_is_refused_naming_the_url(
    s3: S3, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
):
    """A record is hostile input: one naming a shard again as a file is a damaged
    corpus, refused naming the URL, never the private staging folder (docs/storage.md:
    an error about the staged copy names the URL)."""
    monkeypatch.setenv("FACEDATA_HOME", str(tmp_path / "home"))
    make_corpus(tmp_path / "local", 20)
    url = "s3://faces-bucket/twice/corpus"
    storage.publish(tmp_path / "local", url)
    record = json.loads(s3.get(f"twice/corpus/{CORPUS_JSON}"))
    root = record["storage"]["root"]
    shard = record["shards"][0]
    rel = shard["path"][len(root) + 1 :]
    entry = {"path": rel, "bytes": shard["bytes"], "sha256": shard["sha256"]}
    record["storage"]["files"].append(entry)
    s3.put(f"twice/corpus/{CORPUS_JSON}", json.dumps(record).encode())
    res = run_cli(capsys, "report", url, "--out", str(tmp_path / "p.html"))
    assert "Traceback" not in res.err
    assert res.code == 1, res.err
    assert url in " ".join(res.err.split())
    assert "/remote/" not in res.err


def test_a_slashed_secret_on_the_command_line_is_not_recorded(
    world: World, home: Path, s3: S3, tmp_path: Path, capsys
):
    """corpus.json records the command; a URL's keys are never in it, even when the
    secret holds '/' as AWS secrets do (%2F-escaped, as a URL must)."""
    recipe = world.recipe(tmp_path / "r.yaml", tmp_path / "unused")
    for n, secret in enumerate([SLASHED.replace("/", "%2F")]):
        url = f"s3://{KEY_ID}:{secret}@faces-bucket/cmd{n}/corpus"
        res = run_cli(capsys, "build", str(recipe), "--out", url)
        assert "SECRETkey" not in res.out + res.err
        assert "SECRETkey" not in _bucket_text(s3)
        assert "SECRETkey" not in _texts_under(home)


def test_doctor_prints_no_secret_from_the_environment(s3: S3, capsys):
    res = run_cli(capsys, "doctor")
    from tests.storage.conftest import SECRET

    assert SECRET not in res.out + res.err


def test_forget_without_paths_reaches_a_corpus_registered_with_its_endpoint(
    s3: S3, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
):
    """`report URL?endpoint=... --out PAGE` registers the corpus; `forget --subject ID`
    without paths must then reach that same store (the endpoint is not a secret), not
    AWS, and erase the person."""
    import io

    import pyarrow.parquet as pq

    monkeypatch.setenv("FACEDATA_HOME", str(tmp_path / "home"))
    make_corpus(tmp_path / "local", 40)
    storage.publish(tmp_path / "local", "s3://faces-bucket/epreg/corpus")
    monkeypatch.delenv("AWS_ENDPOINT_URL")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    url = f"s3://faces-bucket/epreg/corpus?endpoint={s3.endpoint}"
    res = run_cli(capsys, "report", url, "--out", str(tmp_path / "page.html"))
    assert res.code == 0, res.err
    res = run_cli(capsys, "forget", "--subject", "smiles-s3", "--by", "dpo@example.org")
    assert res.code == 0, res.err
    record = json.loads(s3.get(f"epreg/corpus/{CORPUS_JSON}"))
    found = set()
    for shard in record["shards"]:
        body = s3.get(f"epreg/corpus/{shard['path']}")
        found |= set(pq.read_table(io.BytesIO(body)).column("subject_id").to_pylist())
    assert "smiles-s3" not in found


def test_kill_9_mid_publish_leaves_the_old_corpus_whole(
    s3: S3, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """A real SIGKILL while a publish uploads: the old record and every object it
    names are still there and read back; the next publish works."""
    import os
    import signal
    import subprocess
    import sys
    import time

    monkeypatch.setenv("FACEDATA_HOME", str(tmp_path / "home"))
    make_corpus(tmp_path / "old", 20)
    make_corpus(tmp_path / "new", 60)
    url = "s3://faces-bucket/kill/corpus"
    storage.publish(tmp_path / "old", url)
    before = s3.get(f"kill/corpus/{CORPUS_JSON}")
    rows = _read_all(url)
    script = (
        "import time, sys\n"
        "from facedata import storage\n"
        "from facedata.storage import remote\n"
        "real = remote.S3Store.upload\n"
        "def slow(self, src, rel):\n"
        "    real(self, src, rel); time.sleep(30)\n"
        "remote.S3Store.upload = slow\n"
        f"storage.publish({str(tmp_path / 'new')!r}, {url!r})\n"
    )
    src = str(Path(storage.__file__).parents[2])
    env = {**os.environ, "PYTHONPATH": src}
    proc = subprocess.Popen([sys.executable, "-c", script], env=env)
    try:
        deadline = time.time() + 60
        while time.time() < deadline and len(s3.objects("kill/corpus/v/")) <= len(
            json.loads(before)["shards"]
        ):
            time.sleep(0.2)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    assert len(s3.objects("kill/corpus/v/")) > len(json.loads(before)["shards"])
    assert s3.get(f"kill/corpus/{CORPUS_JSON}") == before
    assert _read_all(url) == rows
    storage.publish(tmp_path / "new", url)
    assert _read_all(url) == 60


@pytest.mark.parametrize("registered", [True, False])
def test_forget_naming_an_unreachable_url_leaves_the_erasure_pending(
    s3: S3, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys, registered: bool
):
    """docs/storage.md: when a store cannot be reached the erasure is pending: exit 1,
    and the withdrawal is in the ledger with `pending` naming the URL, so later builds
    leave the subject out. Also when the URL was named on the command line."""
    import facedata.corpus.registry as corpora
    from tests.storage.conftest import _free_port

    home = tmp_path / "home"
    monkeypatch.setenv("FACEDATA_HOME", str(home))
    record = make_corpus(tmp_path / "local", 40)
    url = "s3://faces-bucket/pend/corpus"
    storage.publish(tmp_path / "local", url)
    if registered:
        corpora.register_remote(url, record)
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{_free_port()}")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    res = run_cli(capsys, "forget", "--subject", "smiles-s3", "--by", "dpo@example.org", url)
    assert res.code == 1, res.err
    assert "Traceback" not in res.err
    ledger = home / "erasure-log.jsonl"
    assert ledger.is_file(), res.err
    entries = [json.loads(line) for line in ledger.read_text().splitlines() if line.strip()]
    assert any(e.get("subject_id") == "smiles-s3" and e.get("pending") for e in entries)


def test_a_store_lost_mid_forget_leaves_a_pending_erasure_and_the_old_corpus(
    s3: S3, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
):
    """The store answers the record and the downloads, then goes away during the
    upload of the erased version: forget exits 1 (never success), the old corpus is
    whole, the erasure is pending in the ledger, and the next forget completes it."""
    import io

    import pyarrow.parquet as pq
    from botocore.exceptions import EndpointConnectionError

    import facedata.corpus.registry as corpora
    from facedata.storage import remote

    home = tmp_path / "home"
    monkeypatch.setenv("FACEDATA_HOME", str(home))
    record = make_corpus(tmp_path / "local", 40)
    url = "s3://faces-bucket/mid/corpus"
    storage.publish(tmp_path / "local", url)
    corpora.register_remote(url, record)
    before = s3.get(f"mid/corpus/{CORPUS_JSON}")

    def down(self, src, rel):  # noqa: ANN001, ANN202
        with remote.errors("write", f"{self.loc.url}/{rel}"):
            raise EndpointConnectionError(endpoint_url="http://127.0.0.1:1")

    with monkeypatch.context() as m:
        m.setattr(remote.S3Store, "upload", down)
        res = run_cli(capsys, "forget", "--subject", "smiles-s3", "--by", "dpo@example.org")
    assert res.code == 1, res.out + res.err
    assert "Traceback" not in res.err
    assert s3.get(f"mid/corpus/{CORPUS_JSON}") == before
    assert _read_all(url) == 40
    entries = [json.loads(x) for x in (home / "erasure-log.jsonl").read_text().splitlines() if x]
    assert any(e.get("subject_id") == "smiles-s3" and e.get("pending") for e in entries)
    res = run_cli(capsys, "forget", "--subject", "faces7-s0", "--by", "dpo@example.org")
    now = json.loads(s3.get(f"mid/corpus/{CORPUS_JSON}"))
    found = set()
    for shard in now["shards"]:
        body = s3.get(f"mid/corpus/{shard['path']}")
        found |= set(pq.read_table(io.BytesIO(body)).column("subject_id").to_pylist())
    assert "smiles-s3" not in found, res.err


@pytest.mark.parametrize(
    "field,value",
    [
        ("bytes", -1),
        ("bytes", "10"),
        ("bytes", 10**30),
        ("bytes", 1.5),
        ("sha256", None),
        ("sha256", 12),
        ("path", None),
        ("rows", "many"),
    ],
)
def test_a_shard_entry_of_the_wrong_shape_is_refused_cleanly(
    s3: S3, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys, field: str, value: object
):
    """A record anyone may have written: a shard entry with a bad size, hash, path or
    row count is refused with exit 1 and a message naming the URL; no traceback, no
    private folder, and nothing downloaded unchecked (a shard without a hash)."""
    monkeypatch.setenv("FACEDATA_HOME", str(tmp_path / "home"))
    make_corpus(tmp_path / "local", 20)
    url = "s3://faces-bucket/shape/corpus"
    storage.publish(tmp_path / "local", url)
    record = json.loads(s3.get(f"shape/corpus/{CORPUS_JSON}"))
    record["shards"][0][field] = value
    s3.put(f"shape/corpus/{CORPUS_JSON}", json.dumps(record).encode())
    res = run_cli(capsys, "report", url, "--out", str(tmp_path / "p.html"))
    assert "Traceback" not in res.err
    assert res.code == 1, (field, value, res.out[-300:])
    assert url in " ".join(res.err.split())
    assert "/remote/" not in res.err


def test_two_cli_builds_at_once_leave_one_whole_corpus(
    world: World, home: Path, s3: S3, tmp_path: Path
):
    """docs/storage.md: two builds at once both succeed and the last record written
    wins; the corpus then reads back whole and holds one version's objects only
    (after a later publish, nothing left over from the race but a swept version)."""
    import os
    import subprocess
    import sys

    url = "s3://faces-bucket/race/corpus"
    src = str(Path(storage.__file__).parents[2])
    env = {**os.environ, "PYTHONPATH": src}
    procs = []
    for n, size in enumerate((96, 112)):
        recipe = world.recipe(tmp_path / f"r{n}.yaml", url, size=size)
        procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "facedata", "build", str(recipe), "--overwrite"],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )  # fmt: skip
        )
    results = [(p.wait(timeout=600), p.stdout.read(), p.stderr.read()) for p in procs]
    for code, _out, err in results:
        assert code == 0, err
        assert "Traceback" not in err
    record = json.loads(s3.get(f"race/corpus/{CORPUS_JSON}"))
    assert _read_all(url) == sum(s["rows"] for s in record["shards"])
    named = {s["path"] for s in record["shards"]}
    assert named <= set(k[len("race/corpus/") :] for k in s3.objects("race/corpus/"))


@pytest.mark.parametrize("command", ["cite", "forget"])
def test_a_store_that_refuses_deletes_still_publishes(
    s3: S3, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys, command: str
):
    """docs/storage.md: deleting old versions is best-effort; a failure there leaves
    unreferenced objects, never a broken corpus. A bucket whose policy allows PUT but
    not DELETE (common for write-once buckets): cite and forget commit their new
    version; cite succeeds warning that the old version remains, forget leaves the
    erasure pending (the old version still holds the subject) naming that version."""
    from botocore.exceptions import ClientError

    from facedata.storage import remote

    home = tmp_path / "home"
    monkeypatch.setenv("FACEDATA_HOME", str(home))
    make_corpus(tmp_path / "local", 40)
    url = "s3://faces-bucket/nodel/corpus"
    storage.publish(tmp_path / "local", url)
    before = json.loads(s3.get(f"nodel/corpus/{CORPUS_JSON}"))["storage"]["version"]

    def refuse(self, rel):  # noqa: ANN001, ANN202
        with remote.errors("delete", f"{self.loc.url}/{rel}"):
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "DeleteObject")

    monkeypatch.setattr(remote.S3Store, "delete", refuse)
    args = ["cite", url] if command == "cite" else [
        "forget", "--subject", "smiles-s3", "--by", "dpo@example.org", url
    ]  # fmt: skip
    res = run_cli(capsys, *args)
    after = json.loads(s3.get(f"nodel/corpus/{CORPUS_JSON}"))["storage"]["version"]
    assert after != before  # committed
    if command == "cite":
        assert res.code == 0, res.err
        assert before in res.out  # warned: the old version remains
    else:
        # the old version still holds the subject: the erasure is pending, naming it
        assert res.code == 1, res.err
        assert "Traceback" not in res.err
        assert before in " ".join(res.err.split())
        entries = [
            json.loads(x) for x in (home / "erasure-log.jsonl").read_text().splitlines() if x
        ]
        assert any(e.get("subject_id") == "smiles-s3" and e.get("pending") for e in entries)


def test_forget_leaves_no_row_of_the_subject_in_a_half_written_version(
    s3: S3, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
):
    """A publish that died half way left a version nobody names; its shards hold the
    subject. `forget` reports the subject erased from the corpus, yet the bucket
    prefix still serves their rows (to a glob, to `datasets`, to anyone who lists it)
    until a later publish a day on. An erasure must remove them from every object
    under the corpus prefix."""
    import io

    import pyarrow.parquet as pq

    monkeypatch.setenv("FACEDATA_HOME", str(tmp_path / "home"))
    make_corpus(tmp_path / "local", 40)
    url = "s3://faces-bucket/half/corpus"
    storage.publish(tmp_path / "local", url)
    done: list[str] = []

    def dies_after_three(store, src: Path, rel: str) -> None:  # noqa: ANN001
        if len(done) == 3:
            raise OSError("the network went away")
        store.upload(src, rel)
        done.append(rel)

    with pytest.raises(OSError):
        storage.publish(tmp_path / "local", url, upload=dies_after_three)
    res = run_cli(capsys, "forget", "--subject", "smiles-s3", "--by", "dpo@example.org", url)
    assert res.code == 0, res.err
    holding = []
    for key in s3.objects("half/corpus/"):
        if key.endswith(".parquet"):
            table = pq.read_table(io.BytesIO(s3.get(key)))
            if "smiles-s3" in table.column("subject_id").to_pylist():
                holding.append(key)
    assert holding == []


def _staged_holding(home: Path, subject: str) -> list[Path]:
    import pyarrow.parquet as pq

    return [
        p
        for p in sorted((home / "remote").rglob("*.parquet"))
        if subject in pq.read_table(p).column("subject_id").to_pylist()
    ]


def test_forget_leaves_no_staged_copy_holding_the_subject(
    s3: S3, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
):
    """docs/storage.md: after cite/forget every staged copy of that corpus is deleted
    (the older ones hold rows that were just erased). Staged by report under two
    spellings of the same URL (s3:// and s3a://), then erased."""
    home = tmp_path / "home"
    monkeypatch.setenv("FACEDATA_HOME", str(home))
    make_corpus(tmp_path / "local", 40)
    url = "s3://faces-bucket/stg/corpus"
    storage.publish(tmp_path / "local", url)
    for where in (url, "s3a://faces-bucket/stg/corpus/"):
        res = run_cli(capsys, "report", where, "--out", str(tmp_path / "p.html"))
        assert res.code == 0, res.err
    assert _staged_holding(home, "smiles-s3")
    res = run_cli(capsys, "forget", "--subject", "smiles-s3", "--by", "dpo@example.org", url)
    assert res.code == 0, res.err
    res = run_cli(capsys, "report", url, "--out", str(tmp_path / "p2.html"))
    assert res.code == 0, res.err
    leftover = [p for p in _staged_holding(home, "smiles-s3")]
    assert leftover == [], "a staged copy still holds the erased subject"


@pytest.mark.parametrize(
    "body",
    [b"[]", b"null", b"\xff\xfe{}", b'{"storage": 5}', b'{"storage": {"version": 5}}',
     b"[" * 100_000 + b"]" * 100_000, b'{"shards": 7, "storage": {"version": "x"}}'],
    ids=["list", "null", "not-utf8", "storage-int", "version-int", "deep", "shards-int"],
)  # fmt: skip
def test_a_record_that_is_not_a_record_is_refused_cleanly(
    s3: S3, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys, body: bytes
):
    """Records are hostile input: whatever corpus.json holds, every command refuses it
    with exit 1 and a message naming the URL, never a traceback."""
    monkeypatch.setenv("FACEDATA_HOME", str(tmp_path / "home"))
    url = "s3://faces-bucket/junk/corpus"
    s3.put(f"junk/corpus/{CORPUS_JSON}", body)
    for command in (["report", url, "--out", str(tmp_path / "p.html")], ["cite", url]):
        res = run_cli(capsys, *command)
        assert "Traceback" not in res.err
        assert res.code == 1, (command, res.err)
        assert url in " ".join(res.err.split()), (command, res.err)


def test_corpora_drop_with_a_keyed_url_prints_no_secret(keyed: str, tmp_path: Path, capsys):
    """`facedata corpora drop URL` given a URL with keys in it refuses it and prints
    no secret (registered or not)."""
    res = run_cli(capsys, "corpora", "drop", keyed)
    _refused(res, "Keyed-Secret-1234")
    assert "Keyed-Secret-1234" not in res.out + res.err
    unknown = keyed.replace("keyed/corpus", "never/there")
    res = run_cli(capsys, "corpora", "drop", unknown)
    assert "Keyed-Secret-1234" not in res.out + res.err


@needs("torch")
@pytest.mark.parametrize("command", ["train", "report"])
def test_an_out_url_with_keys_for_a_model_or_page_leaves_no_secret(
    keyed: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys, command: str
):
    """`train --out` and `report --out` given a keyed s3:// URL (as a user who keeps
    everything on the store would): either written there or refused, but the secret
    never lands in a local path, a registry or a message."""
    monkeypatch.chdir(tmp_path)
    out = keyed.replace("keyed/corpus", "keyed/out")
    extra = ["--epochs", "1", "--max-steps", "1", "--width", "4"] if command == "train" else []
    plain = "s3://" + keyed.split("@", 1)[1]  # the corpus named without keys
    res = run_cli(capsys, command, plain, "--out", out, *extra)
    _refused(res, "Keyed-Secret-1234")
    assert "Traceback" not in res.err
    assert not any("Keyed-Secret-1234" in str(p) for p in tmp_path.rglob("*"))
    assert "Keyed-Secret-1234" not in _texts_under(tmp_path / "home")


def test_a_hostile_record_cannot_script_the_report(
    s3: S3, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
):
    """The record came from the bucket; the page `report` makes of it shows its text,
    never runs it, and its links are not javascript: URLs."""
    monkeypatch.setenv("FACEDATA_HOME", str(tmp_path / "home"))
    make_corpus(tmp_path / "local", 20)
    url = "s3://faces-bucket/xss/corpus"
    storage.publish(tmp_path / "local", url)
    record = json.loads(s3.get(f"xss/corpus/{CORPUS_JSON}"))
    evil = "<script>alert(1)</script>"
    record["datasets"][0]["name"] = evil
    record["datasets"][0]["attribution"] = evil
    record["datasets"][0]["terms_url"] = "javascript:alert(1)"
    record["license"]["statement"] = evil
    record["command"] = ["facedata", evil]
    s3.put(f"xss/corpus/{CORPUS_JSON}", json.dumps(record).encode())
    page = tmp_path / "p.html"
    res = run_cli(capsys, "report", url, "--out", str(page))
    if res.code == 0:
        html = page.read_text()
        assert evil not in html
        assert 'href="javascript:' not in html.lower()
    else:
        assert "Traceback" not in res.err


def test_kill_9_mid_forget_is_not_taken_for_an_erasure(
    s3: S3, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
):
    """`forget` killed while it uploads the erased version: the remote corpus still
    holds the person. The home must not believe them erased: the next `forget`
    without paths (another subject) completes the erasure, as after a pending one."""
    import io
    import os
    import signal
    import subprocess
    import sys
    import time

    import pyarrow.parquet as pq

    import facedata.corpus.registry as corpora

    home = tmp_path / "home"
    monkeypatch.setenv("FACEDATA_HOME", str(home))
    record = make_corpus(tmp_path / "local", 40)
    url = "s3://faces-bucket/killf/corpus"
    storage.publish(tmp_path / "local", url)
    corpora.register_remote(url, record)
    shards = len(record["shards"])
    script = (
        "import sys, time\n"
        "from facedata.storage import remote\n"
        "real = remote.S3Store.upload\n"
        "def slow(self, src, rel):\n"
        "    real(self, src, rel); time.sleep(30)\n"
        "remote.S3Store.upload = slow\n"
        "from facedata.cli import main\n"
        f"sys.argv = ['facedata', 'forget', '--subject', 'smiles-s3', '--by', 'x@y.org', {url!r}]\n"
        "main()\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(storage.__file__).parents[2])}
    proc = subprocess.Popen([sys.executable, "-c", script], env=env)
    try:
        deadline = time.time() + 60
        while time.time() < deadline and len(s3.objects("killf/corpus/v/")) <= shards:
            time.sleep(0.2)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    assert len(s3.objects("killf/corpus/v/")) > shards  # killed mid upload
    run_cli(capsys, "forget", "--subject", "faces7-s0", "--by", "x@y.org")
    now = json.loads(s3.get(f"killf/corpus/{CORPUS_JSON}"))
    found = set()
    for shard in now["shards"]:
        body = s3.get(f"killf/corpus/{shard['path']}")
        found |= set(pq.read_table(io.BytesIO(body)).column("subject_id").to_pylist())
    assert "faces7-s0" not in found
    ledger = (
        (home / "erasure-log.jsonl").read_text() if (home / "erasure-log.jsonl").is_file() else ""
    )
    assert "smiles-s3" not in found, f"the killed erasure was never completed; ledger: {ledger}"
