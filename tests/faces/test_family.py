"""A detector family joins by registering itself; names resolve through the registry only."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from facedata.assemble.recipe import Recipe
from facedata.faces import DetectorError, DetectorTerms, family, registry


@dataclass(frozen=True)
class _Toy:
    name: str
    summary: str = "a toy detector"

    @property
    def terms(self) -> DetectorTerms:
        return registry.REGISTRY["blazeface-full"].terms

    def create(self, threads: int, weights: Path | str | None, fetch: bool, **options: Any):
        return ("toy", self.name, threads)

    def weights_sha256(self) -> str | None:
        return None

    def status(self) -> dict[str, Any]:
        return {"name": self.name, "ready": True}


@pytest.fixture
def toy(monkeypatch):
    """A newcomer family, registered the way retinaface.py and blazeface.py do it."""
    monkeypatch.setattr(family, "REGISTRY", registry.REGISTRY.copy())
    monkeypatch.setattr(family, "FAMILIES", list(family.FAMILIES))
    monkeypatch.setattr(registry, "REGISTRY", family.REGISTRY)
    return family.register(family.Family("toyface-", (_Toy("toyface-tiny"),)))


def test_a_registered_family_is_reachable_everywhere_a_name_is_read(toy):
    assert registry.spec("ToyFace-Tiny").name == "toyface-tiny"
    assert "toyface-tiny" in registry.detector_names()
    assert registry.get_detector("toyface-tiny", threads=2) == ("toy", "toyface-tiny", 2)
    assert Recipe(datasets=["genki4k"], detector="TOYFACE-TINY").detector == "toyface-tiny"
    assert registry.spec("r50").name == "retinaface-r50"  # bare names still mean RetinaFace


def test_unknown_names_list_every_registered_detector(toy):
    with pytest.raises(DetectorError) as exc:
        registry.spec("toyface-huge")
    assert "toyface-tiny" in exc.value.hint and "retinaface-r50" in exc.value.hint


def test_a_name_outside_its_prefix_or_taken_twice_is_refused(toy):
    with pytest.raises(ValueError, match="does not start with"):
        family.register(family.Family("toyface-", (_Toy("other-tiny"),)))
    with pytest.raises(ValueError, match="registered twice"):
        family.register(family.Family("again-", (_Toy("again-x"), _Toy("again-x"))))
    with pytest.raises(ValueError, match="bare names"):
        family.register(family.Family("second-", (), bare=True))


def test_the_built_in_families_keep_their_spellings():
    assert [registry.spec(n).name for n in ("mnet-v2", "RETINAFACE-R50", "blazeface-short")] == [
        "retinaface-mnet_v2",
        "retinaface-r50",
        "blazeface-short",
    ]
