"""Source kinds: each kind is its own model, answers for itself, and is tested nowhere else."""

from __future__ import annotations

import re
from pathlib import Path
from typing import get_args

import pytest
from pydantic import TypeAdapter, ValidationError

from facedata.label.taxonomy import load_taxonomy
from facedata.manifest.schema import load_manifest
from facedata.manifest.sources import (
    KINDS,
    AnySource,
    HttpSource,
    HuggingFaceSource,
    KaggleSource,
    LocalSource,
    ManualSource,
    SourceKind,
    of_kind,
    plain_errors,
)

SRC = Path(__file__).resolve().parents[2] / "src" / "facedata"
HOMES = {"manifest/schema.py", "manifest/sources.py"}
_ADAPTER = TypeAdapter(AnySource)


def parse(**fields):
    return _ADAPTER.validate_python(fields)


def test_every_kind_has_one_model_and_the_union_knows_them_all():
    tags = [cls.model_fields["kind"].annotation for cls in KINDS]
    assert [get_args(t)[0] for t in tags] == list(get_args(SourceKind))
    assert type(parse(id="a", kind="kaggle", official=True, kaggle="o/d")) is KaggleSource
    assert type(parse(id="a", kind="local", official=True, path=".", consent="c.csv")) is (
        LocalSource
    )


def test_kinds_answer_what_callers_used_to_test_by_name():
    local = parse(id="own", kind="local", official=True, path="rec", consent="consent.csv")
    manual = parse(
        id="m", kind="manual", official=True, url="https://example.org/ask",
        access={"level": "agreement", "instructions": "ask the authors"},
    )  # fmt: skip
    hub = parse(id="h", kind="huggingface", official=False, repo_id="Org/Set")
    assert local.is_own_data and not local.by_hand
    assert manual.by_hand and not manual.is_own_data
    assert hub.hub_layout and not (hub.by_hand or hub.is_own_data)
    assert (local.address, manual.address, hub.address) == (
        "rec",
        "https://example.org/ask",
        "Org/Set",
    )
    assert of_kind([local, manual, hub], "manual") == [manual]


def test_identities_are_the_kinds_own_names_and_file_urls():
    http = HttpSource(
        id="a", kind="http", official=True, url="https://www.Example.org/set/",
        files=[{"name": "x.zip", "url": "http://example.org/x.zip"}],
    )  # fmt: skip
    assert list(http.identities()) == ["url:example.org/set", "url:example.org/x.zip"]
    kaggle = KaggleSource(id="k", kind="kaggle", official=False, kaggle="Owner/Set")
    assert kaggle.identities() == {"kaggle:owner/set": "same Kaggle slug Owner/Set"}
    comp = KaggleSource(id="c", kind="kaggle", official=False, kaggle_competition="Chal")
    assert list(comp.identities()) == ["kaggle-c:chal"]
    hub = HuggingFaceSource(id="h", kind="huggingface", official=False, repo_id="Org/Set")
    assert list(hub.identities()) == ["hf:org/set"]
    assert (
        ManualSource(
            id="m", kind="manual", official=True, access={"level": "agreement", "instructions": "x"}
        ).identities()
        == {}
    )


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"kind": "http", "files": []}, "an http source needs at least one file"),
        ({"kind": "http", "files": [{"name": "a"}]}, "each with a url"),
        ({"kind": "kaggle"}, "needs `kaggle: owner/dataset` or `kaggle_competition`"),
        ({"kind": "huggingface"}, "needs `repo_id`"),
        ({"kind": "manual"}, "needs access.instructions"),
        ({"kind": "local", "path": "x"}, "needs `path` (its folder) and `consent`"),
    ],
)
def test_each_kind_checks_its_own_fields(fields, message):
    with pytest.raises(ValidationError, match=re.escape(message)):
        parse(id="s", official=True, **fields)


def test_a_bare_source_is_no_kind_at_all():
    from facedata.manifest.sources import Source

    with pytest.raises(ValidationError, match="a source is one of the kinds"):
        Source(id="s", kind="http", official=True, files=[{"name": "a", "url": "http://x/a"}])


def test_a_field_of_another_kind_is_kept_and_still_identifies_the_source():
    # manifests always could: a Kaggle source naming the Hub copy it mirrors stays a copy
    src = parse(
        id="s", kind="kaggle", official=True, kaggle="o/d", repo_id="x/y", url="https://e.x/p"
    )
    assert {"kaggle:o/d", "hf:x/y", "url:e.x/p"} <= set(src.identities())
    with pytest.raises(ValidationError, match="Extra inputs"):
        parse(id="s", kind="kaggle", official=True, kaggle="o/d", repo="x/y")  # no such field


def test_union_errors_read_like_a_single_models(tmp_path):
    """The tag stays out of locations, and a bad or missing kind is the `kind` field's error."""
    good = {"id": "a", "name": "A", "tasks": ["smile"], "citation": "@misc{a, title={A}}"}
    good["license"] = {"id": "CC0-1.0", "tier": "commercial"}
    from facedata.manifest.schema import Manifest

    def errors(source):
        with pytest.raises(ValidationError) as info:
            Manifest.model_validate({**good, "format": {"reader": "x"}, "sources": [source]})
        return plain_errors(info.value).errors(include_url=False)

    (bad,) = errors({"id": "s", "kind": "ftp", "official": True})
    assert bad["loc"] == ("sources", 0, "kind")
    assert bad["msg"] == "Input should be 'http', 'kaggle', 'huggingface', 'manual' or 'local'"
    (missing,) = errors({"id": "s", "official": True})
    assert missing["loc"] == ("sources", 0, "kind") and missing["msg"] == "Field required"
    (extra,) = errors(
        {"id": "s", "kind": "huggingface", "official": True, "repo_id": "a/b", "x": 1}
    )
    assert extra["loc"] == ("sources", 0, "x") and extra["type"] == "extra_forbidden"


def test_a_bad_kind_in_a_manifest_names_its_line(tmp_path):
    text = (
        "id: demo\nname: Demo\ntasks: [smile]\nlicense: {id: CC0-1.0, tier: commercial}\n"
        "citation: '@misc{d, title={D}}'\nformat: {reader: imagefolder}\n"
        "sources:\n  - id: s\n    kind: ftp\n    official: true\n"
    )
    (tmp_path / "demo.yaml").write_text(text)
    with pytest.raises(Exception) as info:
        load_manifest(tmp_path / "demo.yaml", load_taxonomy())
    assert "demo.yaml:9: sources.0.kind: Input should be 'http'" in str(info.value)


_KIND_NAMES = "|".join(get_args(SourceKind))
_TESTS = [
    re.compile(rf"\.kind\s*(==|!=)\s*[\"']({_KIND_NAMES})[\"']"),
    re.compile(rf"[\"']({_KIND_NAMES})[\"']\s*(==|!=)\s*\w+\.kind\b"),
    re.compile(rf"\.kind\s+(not\s+)?in\s*[\(\[\{{][^)\]}}]*[\"']({_KIND_NAMES})[\"']"),
    # against a variable (a kind given on the command line): `of_kind` does that
    re.compile(r"\b(src|source|s|other|candidates\[\d\])\.kind\s*(==|!=)\s*(?=[A-Za-z_])"),
]


def test_no_module_tests_a_source_kind_outside_its_home():
    """Callers ask the source (`is_own_data`, `by_hand`, ...); only the kinds know their names."""
    found = []
    for path in sorted(SRC.rglob("*.py")):
        if path.relative_to(SRC).as_posix() in HOMES:
            continue
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if any(t.search(line) for t in _TESTS):
                found.append(f"{path.relative_to(SRC)}:{n}: {line.strip()}")
    assert not found, "test the source, not its kind name:\n" + "\n".join(found)


def test_every_kind_is_obtained_one_way():
    """Downloaded through its fetcher, registered by a person, or read in place: exactly one."""
    from facedata.fetch.core import FETCHERS

    for cls in KINDS:
        name = get_args(cls.model_fields["kind"].annotation)[0]
        ways = [name in FETCHERS, cls.by_hand, cls.is_own_data]
        assert ways.count(True) == 1, f"{name}: {ways}"
