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


def test_a_recipe_out_with_credentials_leaves_them_nowhere(
    world: World, home: Path, s3: S3, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
):
    """A recipe may say `out: s3://KEY:SECRET@bucket/prefix`; the corpus (recipe.yaml,
    README.md, corpus.json), the registry and the output never hold the secret."""
    secret = "Url-Only-Secret-77aa"
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    url = f"s3://{KEY_ID}:{secret}@faces-bucket/rc/corpus?endpoint={s3.endpoint}"
    res = run_cli(capsys, "build", str(world.recipe(tmp_path / "r.yaml", url)))
    assert res.code == 0, res.err
    assert "faces-bucket/rc/corpus/corpus.json".split("/", 1)[1] in s3.objects("rc/")
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
    assert res.code == 0, res.err
    assert "opt/corpus/corpus.json" in s3.objects("opt/")
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
