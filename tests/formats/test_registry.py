"""Readers are registered once with their options model, and receive that model."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import facedata.manifest.schema
import facedata.read as formats
from facedata.errors import ReaderError
from facedata.manifest.options import (
    MODELS,
    GenkiOptions,
    PixelsCsvOptions,
    ReaderOptions,
    option_problems,
)
from facedata.read import registry
from facedata.read.sample import Sample
from tests.fixtures import layouts as L
from tests.formats.conftest import manifest_for
from tests.helpers.fresh import run_python

DOCS = Path(__file__).resolve().parents[2] / "docs" / "manifests.md"


def _registered() -> dict[str, registry.ReaderEntry]:
    formats.read_source  # noqa: B018 - the first use imports every reader
    return registry.READERS


def test_every_reader_has_one_options_model_and_every_model_a_reader():
    readers = _registered()
    assert sorted(readers) == sorted(MODELS)
    assert all(entry.options is MODELS[name] for name, entry in readers.items())


def test_the_docs_table_names_every_reader_and_every_option():
    rows = {}
    section = DOCS.read_text().split("## Readers and their options", 1)[1].split("\n\n", 2)[1]
    for line in section.splitlines():
        m = re.match(r"\| `([a-z_]+)` \|(.*)$", line)
        if m:  # the options cell, as `name` or `name: values`
            rows[m.group(1)] = set(re.findall(r"`([a-z_0-9]+)", m.group(2).rsplit("|", 2)[-2]))
    assert sorted(rows) == sorted(MODELS)
    for name, model in MODELS.items():
        own = set(model.model_fields) - set(ReaderOptions.model_fields)
        assert own <= rows[name], (name, own - rows[name])


def test_a_reader_receives_its_validated_model_with_the_models_defaults(tmp_path, monkeypatch):
    exp = L.make_genki4k(tmp_path)
    seen: list[object] = []
    entry = _registered()["genki"]

    def spy(manifest, source, root, options):
        seen.append(options)
        return entry.read(manifest, source, root, options)

    monkeypatch.setitem(registry.READERS, "genki", registry.ReaderEntry("genki", spy, GenkiOptions))
    items = list(formats.read_source(manifest_for(exp), manifest_for(exp).sources[0], exp.root))
    assert items and isinstance(seen[0], GenkiOptions)
    assert seen[0].labels == "labels.txt" and seen[0].admit is None


def test_options_a_model_refuses_are_a_reader_error_naming_them(tmp_path):
    exp = L.make_fer2013(tmp_path)
    manifest = manifest_for(exp, size="big")  # built in code: never checked on load
    with pytest.raises(ReaderError, match=r"format\.options\.size"):
        list(formats.read_source(manifest, manifest.sources[0], exp.root))


def test_build_settings_reach_the_reader_on_the_model(tmp_path):
    exp = L.make_fer2013(tmp_path)
    manifest = manifest_for(exp)
    got = list(formats.read_source(manifest, manifest.sources[0], exp.root, defer_pixels=True))
    samples = [s for s in got if isinstance(s, Sample)]
    assert samples and all(isinstance(s.image.pixels, str) for s in samples)  # left unparsed
    opts = PixelsCsvOptions.model_validate({}).model_copy(update={"defer_pixels": True})
    assert opts.defer_pixels and "defer_pixels" not in opts.model_dump()


def test_a_model_that_names_no_reader_cannot_register():
    class Loose(ReaderOptions):
        pass

    with pytest.raises(ValueError, match="names no reader"):
        registry.register(Loose)


def test_manifest_checks_use_the_models_without_importing_the_readers():
    assert option_problems("pixels_csv", {"size": "abc"}) == [
        (("size",), "Input should be a valid integer")
    ]
    assert "formats" not in Path(facedata.manifest.schema.__file__).read_text().split('"""', 2)[2]
    code = (
        "import sys\n"
        "from facedata.manifest.catalog import Catalog\n"
        "assert len(Catalog.load()) > 10\n"
        "print(sorted(m for m in sys.modules if m.startswith('facedata.formats')))\n"
    )
    assert run_python(code).stdout.strip().splitlines()[-1] == "[]"
