"""What a detector is to the rest of facedata, and the table every family joins.

A family (RetinaFace, BlazeFace) is one module that builds its detectors and, at
import, calls `register` with the names it offers. Recipes, `facedata doctor` and
the build only ever look a name up here, so a new detector is one module that
registers itself plus its line in `registry.FAMILY_MODULES`; nothing else knows
family names or their spellings.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from facedata.faces.detect import Detector, DetectorError, DetectorTerms


class DetectorKind(Protocol):
    """One registered detector name: what it is, its terms, and how to build it.

    `name` is the stable handle stored in recipes and corpus provenance, so it never
    changes meaning (`retinaface-r50` always means that backbone, checked by hash).
    """

    @property
    def name(self) -> str: ...

    @property
    def summary(self) -> str: ...

    @property
    def terms(self) -> DetectorTerms: ...

    def create(
        self, threads: int, weights: Path | str | None, fetch: bool, **options: Any
    ) -> Detector:
        """A ready detector; weights are located and hash-checked now."""
        ...

    def weights_sha256(self) -> str | None:
        """The expected weights hash, for provenance, without loading anything."""
        ...

    def status(self) -> dict[str, Any]:
        """Is it usable right now, offline? Never downloads; for `doctor`."""
        ...


def _same(key: str) -> str:
    return key


@dataclass(frozen=True)
class Family:
    """Detectors sharing a name prefix (`retinaface-`) and how their names are spelt.

    `bare`: a name without any family's prefix (`r50`) means this family; one family
    at most may claim that. `spelling` maps the accepted spellings of a lower-cased
    name onto the registered one (`mnet-v2` -> `mnet_v2`).
    """

    prefix: str
    kinds: tuple[DetectorKind, ...]
    bare: bool = False
    spelling: Callable[[str], str] = _same


REGISTRY: dict[str, DetectorKind] = {}
FAMILIES: list[Family] = []


def register(family: Family) -> Family:
    """Make a family's detectors reachable by name; a name taken twice is a bug."""
    if family.bare and any(f.bare for f in FAMILIES if f.prefix != family.prefix):
        raise ValueError(f"{family.prefix}: only one family may answer to bare names")
    for kind in family.kinds:
        if not kind.name.startswith(family.prefix):
            raise ValueError(f"detector {kind.name!r} does not start with {family.prefix!r}")
        if kind.name in REGISTRY and REGISTRY[kind.name] is not kind:
            raise ValueError(f"detector {kind.name!r} registered twice")
        REGISTRY[kind.name] = kind
    FAMILIES[:] = [f for f in FAMILIES if f.prefix != family.prefix] + [family]
    return family


def canonical(name: str) -> str:
    """The registered name a user's spelling means (`R50` -> `retinaface-r50`)."""
    key = name.strip().lower()
    family = next((f for f in FAMILIES if key.startswith(f.prefix)), None)
    if family is None:
        family = next((f for f in FAMILIES if f.bare), None)
        if family is None:
            return key
        key = family.spelling(key)
        return key if key.startswith(family.prefix) else family.prefix + key
    return family.spelling(key)


def lookup(name: str) -> DetectorKind:
    """The registered detector `name` means, or an error listing the valid names."""
    key = canonical(name)
    if key not in REGISTRY:
        raise DetectorError(
            f"unknown face detector {name!r}",
            hint=f"one of: {', '.join(REGISTRY)}",
        )
    return REGISTRY[key]
