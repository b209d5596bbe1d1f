"""The license gate: decide every requested source before any image is read."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..catalog import Catalog
from ..errors import BuildError, PolicyError
from ..licensing import Clearance, Decision, decide
from ..manifest import Manifest, Source


@dataclass
class Admitted:
    manifest: Manifest
    source: Source
    decision: Decision
    fetched: Any  # facedata.fetch.FetchResult


@dataclass
class LocalTree:
    """Own recorded data is read where it lies; nothing is downloaded or pinned."""

    source: Source
    root: Path
    files: list = field(default_factory=list)


def _fetched(manifest: Manifest, source_id: str | None) -> Any:
    candidates = [manifest.source(source_id)] if source_id else manifest.sources
    if candidates[0].kind == "local":
        src = candidates[0]
        root = manifest.resolve(src.path or ".")
        if not root.is_dir():
            raise BuildError(
                f"{manifest.id}: local folder {root} does not exist",
                hint=f"fix `path` in {manifest.path}",
            )
        return LocalTree(src, root)
    from ..fetch import fetched

    return fetched(manifest, source_id)


def gate(
    pinned: list[tuple[str, str | None]],
    catalog: Catalog,
    purpose: str,
    clearances: list[Clearance],
    *,
    official_only: bool = False,
    today: dt.date | None = None,
) -> tuple[list[Admitted], list[Decision]]:
    """Return the admitted sources and every decision (admitted or not), in order.

    The source judged is the one a build would read: the pinned one, else the one
    already fetched, else the first in manifest order. Refusals are collected, not
    raised one by one, so the person sees every reason at once.
    """
    decisions: list[Decision] = []
    admitted: list[Admitted] = []
    missing: list[str] = []
    for dataset_id, source_id in pinned:
        manifest = catalog.get(dataset_id)
        result = _fetched(manifest, source_id)
        source = (
            result.source
            if result is not None
            else manifest.source(source_id)
            if source_id
            else manifest.sources[0]
        )
        d = decide(manifest, source, purpose, clearances, today=today, official_only=official_only)
        decisions.append(d)
        if not d.admitted:
            continue
        if result is None:
            missing.append(dataset_id if not source_id else f"{dataset_id}:{source_id}")
            continue
        admitted.append(Admitted(manifest, source, d, result))
    if not admitted and not missing:
        lines = [f"  {d.dataset} [{d.source}]: {d.reason}" for d in decisions]
        raise PolicyError(
            f"the {purpose} policy refuses every requested source; nothing is left to build:\n"
            + "\n".join(lines),
            hint="a commercial corpus needs sources whose license allows it, your own consented "
            "data, or a recorded clearance (--clearances FILE)",
        )
    if missing:
        raise BuildError(
            f"not fetched yet: {', '.join(missing)}",
            hint="run `facedata fetch ID` for each (or `--from PATH` for gated sets), then build",
        )
    return admitted, decisions
