"""Shared helpers: a manifest for a fixture, and reading a fixture into lists."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from facedata.label.remap import Labelled, remap
from facedata.label.taxonomy import Taxonomy, load_taxonomy
from facedata.manifest.schema import Manifest
from facedata.read import read_source
from facedata.read.sample import Drop, Sample
from tests.fixtures.layouts import Expected


def manifest_for(exp: Expected, **format_options: Any) -> Manifest:
    """A minimal manifest carrying exactly the fixture's format and labels blocks."""
    fmt = dict(exp.format)
    if format_options:
        fmt["options"] = {**fmt.get("options", {}), **format_options}
    return Manifest.model_validate(
        {
            "id": exp.dataset,
            "name": exp.dataset,
            "tasks": sorted(exp.labels),
            "license": {"id": "LicenseRef-Test", "tier": "unknown"},
            "citation": "@misc{test, title = {test}}",
            "sources": [
                {
                    "id": "fixture",
                    "kind": "manual",
                    "official": True,
                    "access": {"level": "agreement", "instructions": "test fixture"},
                }
            ],
            "format": fmt,
            "labels": exp.labels,
        }
    )


class Read:
    """Everything one pass over a source produced, split up for assertions."""

    def __init__(self, items: list[Sample | Drop]) -> None:
        self.samples = {s.key: s for s in items if isinstance(s, Sample)}
        self.drops = [d for d in items if isinstance(d, Drop)]
        keys = [s.key for s in items if isinstance(s, Sample)]
        assert len(keys) == len(set(keys)), "keys must be unique within a source"

    @property
    def drop_counts(self) -> Counter:
        return Counter(d.reason for d in self.drops)


def read(manifest: Manifest, root: Path) -> Read:
    return Read(list(read_source(manifest, manifest.sources[0], root)))


def read_fixture(exp: Expected, **options: Any) -> Read:
    return read(manifest_for(exp, **options), exp.root)


def remap_all(
    manifest: Manifest, got: Read, taxonomy: Taxonomy, derive: bool = False
) -> tuple[dict[str, Labelled], Counter]:
    labelled, drops = {}, Counter()
    spec = manifest.labels_for(manifest.sources[0])
    for key, sample in got.samples.items():
        out = remap(sample, spec, taxonomy, derive_smile=derive)
        if isinstance(out, Drop):
            drops[out.reason] += 1
        else:
            labelled[key] = out
    return labelled, drops


@pytest.fixture(scope="session")
def taxonomy() -> Taxonomy:
    return load_taxonomy()
