"""CITATION.cff (CFF 1.2.0): the corpus as a dataset, its sources as references.

GitHub, Zenodo and reference managers read CFF, not BibTeX, so the same works are
described again here. The corpus has no paper of its own: the message says to
cite the references, which is what each input's terms ask for.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

import facedata.files.sanitize as sanitize
from facedata.bundle.bibtex import BibEntry, Name, names, plain, unique_entries
from facedata.bundle.record import CorpusView

CFF_VERSION = "1.2.0"

# BibTeX entry type -> CFF reference type.
_TYPES = {
    "article": "article",
    "inproceedings": "conference-paper",
    "conference": "conference-paper",
    "proceedings": "proceedings",
    "book": "book",
    "inbook": "book",
    "incollection": "book",
    "techreport": "report",
    "phdthesis": "thesis",
    "mastersthesis": "thesis",
    "manual": "manual",
    "unpublished": "unpublished",
    "misc": "generic",
    "online": "website",
    "dataset": "data",
    "software": "software",
}
_URL = re.compile(r"https?://[^\s{}]+")
_DOI = re.compile(r"^10\.\d{4,9}/\S+$")


def _person(name: Name) -> dict[str, str]:
    if name.entity:
        return {"name": name.entity}
    person = {"family-names": name.family}
    if name.given:
        person["given-names"] = name.given
    return person


def _url(entry: BibEntry) -> str | None:
    for key in ("url", "howpublished", "note"):
        m = _URL.search(entry.fields.get(key, ""))
        if m:
            return m.group(0).rstrip(".,;")
    return None


def reference(entry: BibEntry, cited_for: list[str]) -> dict[str, Any]:
    """One BibTeX entry as a CFF reference; `authors` is required, so unknown is `anonymous`."""
    f = entry.fields
    ref: dict[str, Any] = {
        "type": _TYPES.get(entry.kind, "generic"),
        "title": plain(f.get("title", "")) or entry.key or "untitled",
        "authors": [_person(n) for n in names(f.get("author", ""))] or [{"name": "anonymous"}],
    }
    if entry.key:
        ref["abbreviation"] = entry.key
    if f.get("year", "").isdigit():
        ref["year"] = int(f["year"])
    if f.get("journal"):
        ref["journal"] = plain(f["journal"])
    if f.get("booktitle"):
        ref["collection-title"] = plain(f["booktitle"])
    if f.get("volume"):
        ref["volume"] = plain(f["volume"])
    if f.get("number"):
        ref["issue"] = plain(f["number"])
    pages = re.split(r"-+|–", plain(f.get("pages", "")))
    if pages and pages[0]:
        ref["start"] = pages[0].strip()
        if len(pages) > 1 and pages[-1].strip():
            ref["end"] = pages[-1].strip()
    org = f.get("publisher") or f.get("institution") or f.get("organization")
    if org:
        ref["publisher"] = {"name": plain(org)}
    if _DOI.match(f.get("doi", "")):
        ref["doi"] = f["doi"]
    if url := sanitize.url(_url(entry)):
        ref["url"] = url
    notes = [plain(f["note"])] if f.get("note") else []
    notes.append("Cited for: " + ", ".join(cited_for))
    ref["notes"] = "; ".join(notes)
    return ref


def document(corpus: CorpusView) -> dict[str, Any]:
    """The CFF mapping (kept separate from rendering so tests can inspect it)."""
    cited_for: dict[str, list[str]] = {}
    for d in corpus.datasets:
        for e in unique_entries([d.citation]):
            cited_for.setdefault((e.key or e.text).lower(), []).append(d.id)
    entries = unique_entries(d.citation for d in corpus.datasets)
    refs = [
        reference(e, cited_for.get((e.key or e.text).lower(), []))
        for e in entries
        if e.kind not in {"comment", "preamble", "string"}
    ]
    ids = ", ".join(d.id for d in corpus.datasets)
    version = corpus.tool.get("version", "")
    doc: dict[str, Any] = {
        "cff-version": CFF_VERSION,
        "message": (
            "This corpus is derived from other datasets. If you use it, cite every work "
            "under `references` (also in references.bib) and give the attribution in "
            "ATTRIBUTION.md."
        ),
        "type": "dataset",
        "title": f"{corpus.name}: a facedata corpus of smile and facial-expression images",
        "abstract": (
            f"Aligned face images with smile and expression labels, remapped from: {ids}. "
            f"Terms: {corpus.terms.statement}"
        ),
        "authors": [{"name": f"Compiled with facedata {version} from the works in references"}],
        "keywords": ["face", "facial expression", "smile", "image classification"],
        "date-released": corpus.date,
        "references": refs,
    }
    return doc


def _clean(value: Any) -> Any:
    """Every string in the document through the YAML text policy."""
    return sanitize.each_string(value, sanitize.yaml_text)


def render(corpus: CorpusView) -> str:
    body = yaml.safe_dump(_clean(document(corpus)), sort_keys=False, allow_unicode=True, width=100)
    return "# CITATION.cff for a facedata corpus (Citation File Format 1.2.0)\n" + body
