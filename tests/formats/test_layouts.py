"""Every layout: reading its fixture yields exactly what the fixture was built with."""

from __future__ import annotations

from collections import Counter

import pytest

from facedata.manifest.catalog import Catalog
from facedata.read import read_source
from tests.fixtures.layouts import ALL, Expected

from .conftest import Read, manifest_for, read_fixture, remap_all

_built: dict[str, Expected] = {}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory):
    def get(name: str) -> Expected:
        if name not in _built:
            _built[name] = ALL[name](tmp_path_factory.mktemp(name.replace("/", "_")))
        return _built[name]

    return get


def _check(exp: Expected, got: Read) -> None:
    assert set(got.samples) == set(exp.samples)
    for key, want in exp.samples.items():
        s = got.samples[key]
        assert s.dataset == exp.dataset
        assert s.codes == want.codes, key
        assert s.split == want.split, key
        assert s.subject_id == want.subject_id, key
        assert s.image.read_bytes(), key
        if want.landmarks:
            assert s.landmarks is not None and len(s.landmarks) == 2 * want.landmarks, key
        else:
            assert s.landmarks is None, key
    assert got.drop_counts == exp.reader_drops


@pytest.mark.parametrize("name", sorted(ALL))
def test_reader_yields_the_fixture(name: str, built, taxonomy) -> None:
    exp = built(name)
    manifest = manifest_for(exp)
    got = read_fixture(exp)
    _check(exp, got)
    labelled, drops = remap_all(manifest, got, taxonomy)
    assert drops == exp.remap_drops
    assert set(labelled) == set(exp.kept)
    for key, want in exp.kept.items():
        assert (labelled[key].smile, labelled[key].expression) == (want.smile, want.expression)
        assert labelled[key].smile_derived is False


@pytest.mark.parametrize("name", sorted(ALL))
def test_repository_manifest_reads_the_fixture(name: str, built, taxonomy) -> None:
    """The shipped manifests' format/labels blocks agree with the readers."""
    dataset, _, source_id = name.partition("/")
    catalog = Catalog.load([])
    try:
        manifest = catalog.get(dataset)
    except Exception:
        pytest.skip(f"no manifest {dataset} yet")
    src = manifest.source(source_id) if source_id else manifest.sources[0]
    exp = built(name)
    got = Read(list(read_source(manifest, src, exp.root)))
    _check(exp, got)
    spec = manifest.labels_for(src)
    from facedata.label.remap import remap

    kept, drops = {}, Counter()
    for key, sample in got.samples.items():
        out = remap(sample, spec, taxonomy)
        if hasattr(out, "reason"):
            drops[out.reason] += 1
        else:
            kept[key] = (out.smile, out.expression)
    assert kept == {k: (s.smile, s.expression) for k, s in exp.kept.items()}
    assert drops == exp.remap_drops


def test_generators_are_deterministic(tmp_path) -> None:
    a = ALL["genki4k"](tmp_path / "a")
    b = ALL["genki4k"](tmp_path / "b")
    assert a.files == b.files
    for rel in a.files:
        assert (a.root / rel).read_bytes() == (b.root / rel).read_bytes()
