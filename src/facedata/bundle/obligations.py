"""What each input's license asks of whoever shares the corpus (or a model trained on it).

Licenses oblige more than a tier says. CC BY asks for credit (creator, a copyright
and license notice, a link) and for a notice that the material was modified
(§3(a)(1)(B)); BY-SA adds that adaptations are shared alike. A manifest often gives
no attribution string, yet the credit is still owed: it is composed here from the
citation (authors, title, year) and the dataset's name, link and license, and says
it was composed. "No attribution required" is only said where the license waives it.

`terms_and_obligations(corpus_record)` is the plain entry point for other documents
(the model card) that must state the same terms as the bundle.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from facedata.bundle.bibtex import names, parse, plain
from facedata.gate.licensing import attribution_required, share_alike

_NOT_DETECTED = {"dataset_landmarks", "precropped", "whole_frame"}
_MODES = {"L": "converted to greyscale", "RGB": "stored as RGB (greyscale sources converted)"}


@dataclass(frozen=True)
class Credit:
    """The credit one input needs: the words, and whether facedata composed them."""

    required: bool
    text: str | None
    composed: bool


def _authors(citation: str) -> tuple[str, str, str]:
    """(authors, title, year) of the first entry with an author or title."""
    for entry in parse(citation or ""):
        f = entry.fields
        if not (f.get("author") or f.get("title")):
            continue
        people = [
            n.entity or " ".join(p for p in (n.given, n.family) if p)
            for n in names(f.get("author", ""))
        ]
        if len(people) > 3:
            people = [*people[:3], "et al."]
        return ", ".join(people), plain(f.get("title", "")), plain(f.get("year", ""))
    return "", "", ""


def compose_attribution(
    name: str,
    license_id: str,
    citation: str,
    homepage: str | None,
    terms_url: str | None,
) -> str:
    """A TASL credit (title, author, source, license) built from what the manifest knows."""
    authors, title, year = _authors(citation)
    words = f'"{name}"'
    if authors:
        words += f" by {authors}"
    if title and title.lower() != name.lower():
        words += f", from {title}"
    if year:
        words += f" ({year})"
    if homepage:
        words += f", {homepage}"
    words += f". Licensed under {license_id}"
    if terms_url:
        words += f" ({terms_url})"
    return words + "."


def credit(
    name: str,
    license_id: str,
    attribution: str | None,
    citation: str,
    homepage: str | None,
    terms_url: str | None,
) -> Credit:
    """The manifest's attribution when it gives one; else a composed one where the license asks."""
    if attribution and attribution.strip():
        return Credit(True, attribution, False)
    if not attribution_required(license_id):
        return Credit(False, None, False)
    return Credit(True, compose_attribution(name, license_id, citation, homepage, terms_url), True)


def modifications(corpus: dict[str, Any]) -> list[str]:
    """What the build did to the inputs, in the words a modification notice needs.

    Read from the record, so it says what this build actually did: alignment by the
    detector or the source's landmarks, the crop size, the colour mode, re-encoding,
    the label remap, merged duplicates and removed subjects.
    """
    if not corpus.get("shards"):
        return [
            "no data has been built yet; a build detects and aligns each face, crops and "
            "resizes it, converts its colours, re-encodes it and remaps its labels"
        ]
    out: list[str] = []
    statuses = (corpus.get("counts") or {}).get("align_status") or {}
    detector = corpus.get("detector") or {}
    how = []
    by_detector = any(n and k not in _NOT_DETECTED for k, n in statuses.items())
    if by_detector or (detector and not statuses):
        how.append(f"detected with {detector.get('name') or 'a face detector'}")
    if statuses.get("dataset_landmarks"):
        how.append("located on the source's own landmarks")
    if how:
        out.append(
            "faces " + " or ".join(how) + " and aligned (rotated and scaled to fixed eye positions)"
        )
    if statuses.get("precropped"):
        out.append("pre-cropped faces padded and rescaled as given")
    if statuses.get("whole_frame"):
        out.append("some frames kept whole where no face was found")
    image = corpus.get("image") or {}
    size = image.get("size") or (corpus.get("recipe") or {}).get("size")
    out.append(f"cropped and resized to {size}x{size} pixels" if size else "cropped and resized")
    mode = image.get("mode")
    if mode in _MODES:
        out.append(_MODES[str(mode)])
    if image.get("format"):
        out.append(f"re-encoded as {image['format']}")
    out.append(
        "labels remapped into facedata's smile and expression schema (each row keeps "
        "its original label in the source_label column)"
    )
    dedup = corpus.get("dedup") or {}
    if (dedup.get("exact") or 0) + (dedup.get("near") or 0):
        out.append("duplicate images removed, their labels merged into the kept copy")
    if corpus.get("forgotten"):
        out.append("rows of withdrawn subjects removed after the build")
    return out


@dataclass(frozen=True)
class InputObligations:
    """One input's terms, as a model card or a bundle file states them."""

    id: str
    name: str
    license_id: str
    tier: str
    terms_url: str | None
    noncommercial: bool
    no_derivatives: bool
    no_redistribution: bool
    share_alike: bool
    attribution_required: bool
    attribution: str | None
    attribution_composed: bool


def terms_and_obligations(corpus: dict[str, Any]) -> dict[str, Any]:
    """The corpus's terms statement and each input's obligations, from its corpus.json record.

    Returns a plain dict (JSON-ready): `statement`, `tier`, `share_alike` (the inputs
    that impose it), `modifications` (the notice), and `inputs` (one InputObligations
    as a dict per dataset). The same facts the bundle writes, so a model card built
    from them can never say less than the corpus's own card.
    """
    from pathlib import Path

    from facedata.bundle.record import view

    v = view(corpus, Path(str(corpus.get("name") or "corpus")))
    inputs = []
    for d in v.datasets:
        c = credit(d.name, d.license_id, d.attribution, d.citation, d.homepage, d.terms_url)
        inputs.append(
            asdict(
                InputObligations(
                    id=d.id,
                    name=d.name,
                    license_id=d.license_id,
                    tier=d.tier,
                    terms_url=d.terms_url,
                    noncommercial=d.tier != "commercial" and not d.clearance,
                    no_derivatives=d.derivatives != "allowed",
                    no_redistribution=d.redistribution != "allowed",
                    share_alike=share_alike(d.license_id),
                    attribution_required=c.required,
                    attribution=c.text,
                    attribution_composed=c.composed,
                )
            )
        )
    return {
        "tier": v.terms.tier,
        "statement": v.terms.statement,
        "share_alike": list(v.terms.share_alike),
        "modifications": modifications(corpus),
        "inputs": inputs,
    }
