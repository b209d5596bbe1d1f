"""What identifies a copy, and a copy of a tree this catalog has no manifest for.

A fetch cache holds trees other homes pushed under manifests this home may lack. A
source sharing files with such a tree is a copy whose terms nobody here can read: the
gate gives it the tier `unknown` (refused for commercial use, naming the tree) and
its id joins the source's copies, so that dataset's withdrawals follow the people.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import facedata.gate.filetwins as filetwins
from facedata.gate.licensing import TwinIndex, decide
from facedata.manifest.catalog import Catalog
from tests.helpers.manifests import write_local_copy

FREE = {"id": "LicenseRef-Faces-Free", "tier": "commercial", "derivatives": "allowed",
        "redistribution": "allowed"}  # fmt: skip
TREE = "s3://faces-bucket/cache/trees/celeba-local/local-copy.json"


@pytest.mark.parametrize(
    ("rel", "size", "counted"),
    [
        ("img/1.jpg", 10, True),  # an image counts at any size
        ("img/1.bin", 2048, True),  # a renamed image: by its bytes
        ("fer2013/fer2013.csv", 4096, True),  # photos as pixels in a label CSV
        ("labels.csv", 1023, False),  # small files are alike across datasets
        ("img/empty.jpg", 0, False),
        ("LICENSE.txt", 4096, False),
        ("sub/Licence", 4096, False),
        ("COPYING", 4096, False),
        ("README.rst", 4096, False),
        ("CITATION.cff", 4096, False),
        ("NOTICE", 4096, False),
        ("docs/usage.MD", 4096, False),
        (".gitattributes", 4096, False),
        (".git/objects/ab/cdef", 4096, False),
        ("__MACOSX/img/._1.jpg", 4096, False),
        ("img/.DS_Store", 8196, False),
    ],
)
def test_which_files_identify_a_tree(rel: str, size: int, counted: bool) -> None:
    assert filetwins.counts(rel, size) is counted


@pytest.fixture
def free(tmp_path: Path):
    write_local_copy(tmp_path, "celeba", "celeba-free", "the test", license=FREE)
    catalog = Catalog.load([tmp_path])
    return catalog, catalog.get("celeba-free")


def test_a_copy_of_a_tree_of_unknown_terms_takes_the_tier_unknown(free) -> None:
    catalog, m = free
    shared = "ab" * 32
    twins = TwinIndex(catalog, {}, {"celeba-local": {TREE: {shared, "cd" * 32}}})
    source = m.sources[0]
    found = twins.twins(m, source, [shared])
    assert [(t.dataset, t.tier) for t in found] == [("celeba-local", "unknown")]
    assert TREE in found[0].why and "unknown to this catalog" in found[0].why
    assert twins.copies(m, source, [shared]) == {"celeba-local"}
    d = decide(m, source, "commercial", twins=found)
    assert not d.admitted and TREE in d.reason
    assert "inherited from dataset celeba-local" in d.reason  # not one of the catalog's
    assert decide(m, source, "research", twins=found).admitted  # unknown: research only


def test_a_tree_of_unknown_terms_sharing_nothing_is_no_copy(free) -> None:
    catalog, m = free
    twins = TwinIndex(catalog, {}, {"celeba-local": {TREE: {"cd" * 32}}})
    assert twins.twins(m, m.sources[0], ["ab" * 32]) == []
    assert twins.copies(m, m.sources[0], ["ab" * 32]) == set()
    assert decide(m, m.sources[0], "commercial").admitted
