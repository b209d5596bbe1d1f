"""The license gate: decide every requested source before any image is read.

Besides each source's own terms, the gate checks what a manifest cannot say about
itself: whether it is a copy of another catalog dataset (same URL, Kaggle slug, Hugging
Face repo, LicenseRef id or fetched bytes) with a stricter tier, whether the clearance
file names things that exist, and whether the face detector's weights may be used
for the build's purpose.
"""

from __future__ import annotations

import datetime as dt
import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from facedata.errors import BuildError, ManifestError, PolicyError
from facedata.files.fielddict import field_dict
from facedata.gate.licensing import Clearance, Decision, decide
from facedata.manifest.catalog import Catalog
from facedata.manifest.schema import Manifest, Source


@dataclass
class Admitted:
    manifest: Manifest
    source: Source
    decision: Decision
    fetched: Any  # facedata.fetch.FetchResult
    copies: frozenset[str] = frozenset()  # other ids for the same bytes (withdrawals follow)


@dataclass
class LocalTree:
    """Own recorded data is read where it lies; nothing is downloaded or pinned."""

    source: Source
    root: Path
    files: list = field(default_factory=list)


def _fetched(manifest: Manifest, source_id: str | None, cache: Any = None) -> Any:
    """What a build reads of a source: own data where it lies, a tree of the fetch
    cache on object storage (`cache`, a Location) as a local view, else the local tree."""
    candidates = [manifest.source(source_id)] if source_id else manifest.sources
    if candidates[0].is_own_data:
        src = candidates[0]
        root = manifest.resolve(src.path or ".")
        if not root.is_dir():
            raise BuildError(
                f"{manifest.id}: local folder {root} does not exist",
                hint=f"fix `path` in {manifest.path}",
            )
        return LocalTree(src, root)
    if cache is not None:
        from facedata.storage.cacheview import remote_fetched

        return remote_fetched(manifest, source_id, cache)
    from facedata.fetch import fetched

    return fetched(manifest, source_id)


def _suggest(name: str, known: list[str]) -> str:
    near = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
    near += [k for k in known if k.lower() == name.lower() and k not in near]
    return f"did you mean {', '.join(near)}?" if near else f"known: {', '.join(known[:12])}"


def check_clearances(
    clearances: list[Clearance],
    catalog: Catalog,
    requested: list[str],
    detectors: list[str],
) -> list[str]:
    """Refuse clearances naming nothing that exists; return warnings for unrequested ones.

    A clearance for `genki-4k` that silently matches nothing would leave a person
    believing genki4k is cleared; the error says which entry and what it may mean.
    """
    warnings: list[str] = []
    for c in clearances:
        where = f"{c.where}: " if c.where else ""
        if c.detector is not None:
            if c.detector not in detectors:
                raise ManifestError(
                    f"{where}clearance names unknown detector {c.detector!r}",
                    hint=_suggest(c.detector, detectors),
                )
            continue
        assert c.dataset is not None
        if c.dataset not in catalog:
            raise ManifestError(
                f"{where}clearance names unknown dataset {c.dataset!r}",
                hint=_suggest(c.dataset, catalog.ids),
            )
        m = catalog.get(c.dataset)
        ids = [s.id for s in m.sources]
        if c.source is not None and c.source not in ids:
            raise ManifestError(
                f"{where}clearance names source {c.source!r}, which {c.dataset} does not have",
                hint=f"its sources: {', '.join(ids)}",
            )
        if c.dataset not in requested:
            warnings.append(
                f"{where}clearance for {c.dataset!r} is not used: that dataset was not requested "
                f"(requested: {', '.join(requested)})"
            )
    return warnings


def gate(
    pinned: list[tuple[str, str | None]],
    catalog: Catalog,
    purpose: str,
    clearances: list[Clearance],
    *,
    official_only: bool = False,
    today: dt.date | None = None,
    cache: str | None = None,
) -> tuple[list[Admitted], list[Decision]]:
    """Return the admitted sources and every decision (admitted or not), in order.

    The source judged is the one a build would read: the pinned one, else the one
    already fetched, else the first in manifest order. Refusals are collected, not
    raised one by one, so the person sees every reason at once. `cache` (or
    FACEDATA_CACHE_URL) names the fetch cache on object storage the trees are read from.
    """
    decisions: list[Decision] = []
    admitted: list[Admitted] = []
    missing: list[str] = []
    from facedata.gate import filetwins
    from facedata.storage.location import cache_location

    remote = cache_location(cache)
    # every dataset's identities: fetched bytes, and a sample of its image files' hashes
    # in this home and on the fetch cache (a copy shares its photos, not its archive)
    # (every tree on the cache: one of a dataset this catalog lacks is a copy of unknown terms)
    twins = filetwins.twin_index(catalog, remote)[0]
    for dataset_id, source_id in pinned:
        manifest = catalog.get(dataset_id)
        result = _fetched(manifest, source_id, remote)
        source = (
            result.source
            if result is not None
            else manifest.source(source_id)
            if source_id
            else manifest.sources[0]
        )
        hashes = [e.sha256 for e in getattr(result, "files", []) if getattr(e, "sha256", None)]
        seen = [*hashes, *sorted(filetwins.of_result(result))]  # what identifies its bytes
        d = decide(
            manifest,
            source,
            purpose,
            clearances,
            today=today,
            official_only=official_only,
            twins=twins.twins(manifest, source, seen),
        )
        if d.clearance is not None and result is not None:
            from facedata.gate.bindings import bind

            d = bind(d, hashes)  # a clearance covers the bytes it cleared
        decisions.append(d)
        if not d.admitted:
            continue
        if result is None:
            missing.append(dataset_id if not source_id else f"{dataset_id}:{source_id}")
            continue
        copies = frozenset(twins.copies(manifest, source, seen))
        admitted.append(Admitted(manifest, source, d, result, copies))
    if not admitted and not missing:
        lines = [f"  {d.dataset} [{d.source}]: {d.reason}" for d in decisions]
        raise PolicyError(
            f"the {purpose} policy refuses every requested source; nothing is left to build:\n"
            + "\n".join(lines),
            hint=f"a {purpose} corpus needs sources whose license allows {purpose} use, your own "
            "consented data, or a recorded clearance (--clearances FILE)",
        )
    if missing and remote is not None:
        raise BuildError(
            f"not on the fetch cache {remote.url}: {', '.join(missing)}",
            hint=f"push each there with `facedata fetch ID --cache {remote.url}` (or `--from "
            "PATH` for gated sets), then build",
        )
    if missing:
        raise BuildError(
            f"not fetched yet: {', '.join(missing)}",
            hint="run `facedata fetch ID` for each (or `--from PATH` for gated sets), then build",
        )
    return admitted, decisions


@dataclass(frozen=True)
class DetectorDecision:
    """May this detector's weights be used for the build's purpose? Same rules as a source."""

    name: str
    purpose: str
    admitted: bool
    reason: str
    terms: dict
    clearance: Clearance | None = None

    def to_dict(self) -> dict:
        return field_dict(self)


def needs_detector(admitted: list[Admitted]) -> bool:
    """Landmark sources fall back to detection where a row has no landmarks."""
    return any(a.manifest.faces_for(a.source).align in ("detect", "landmarks") for a in admitted)


def detector_gate(
    name: str,
    purpose: str,
    clearances: list[Clearance],
    today: dt.date,
) -> DetectorDecision:
    """Detector weights carry their license and their training data's terms.

    Reads the terms the detector registry publishes (`commercial_use` and the texts);
    a commercial build with weights not cleared for commercial use needs a clearance
    naming the detector.
    """
    from facedata.faces import get_detector_info

    info = get_detector_info(name)
    canonical = info["name"]
    terms = info["terms"]
    summary = (
        f"weights {terms.get('weights_license')}; trained on {terms.get('training_data')}: "
        f"{terms.get('training_data_terms')}"
    )
    if purpose != "commercial" or terms.get("commercial_use") is True:
        why = "its terms allow commercial use" if purpose == "commercial" else "research build"
        return DetectorDecision(canonical, purpose, True, f"{why} ({summary})", terms)
    matching = [c for c in clearances if c.covers_detector(canonical, "commercial")]
    valid = [c for c in matching if c.expires >= today]
    if valid:
        best = max(valid, key=lambda c: c.expires)
        return DetectorDecision(
            canonical,
            purpose,
            True,
            f"cleared for commercial use by {best.cleared_by} until "
            f"{best.expires} (evidence: {best.evidence}) despite its terms ({summary})",
            terms,
            best,
        )
    expired = (
        f"; its clearance expired on {max(c.expires for c in matching)} (build date {today}, UTC)"
        if matching
        else ""
    )
    return DetectorDecision(
        canonical,
        purpose,
        False,
        f"weights not cleared for commercial use ({summary}){expired}",
        terms,
    )
