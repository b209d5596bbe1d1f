"""LICENSES/: each input's terms, and the corpus's own (the most restrictive of them).

People read a corpus's terms long after the build, offline, without the catalog,
so each file says everything the record knows: ids, tier, what may be shared, the
link, and the verbatim excerpt when a manifest quoted one.
"""

from __future__ import annotations

from typing import Any

from .markdown import fence, table
from .record import CorpusView, DatasetInfo

LICENSES_DIR = "LICENSES"
MARKER = "<!-- written by facedata: the terms of one input dataset -->"

_PERMISSION = {
    "allowed": "allowed",
    "forbidden": "forbidden",
    "unknown": "unknown (treat as forbidden)",
}


def dataset_file(d: DatasetInfo) -> str:
    """LICENSES/<id>.md: one dataset's terms."""
    lines = [
        MARKER,
        f"# {d.name} (`{d.id}`): terms",
        "",
        *table(
            ["", ""],
            [
                ["License", d.license_id],
                ["Tier", d.tier],
                ["Derivatives", _PERMISSION.get(d.derivatives, d.derivatives)],
                ["Redistribution", _PERMISSION.get(d.redistribution, d.redistribution)],
                ["Terms", d.terms_url or "no terms page known"],
                ["Source used", _source(d)],
            ],
        ),
        "",
    ]
    if d.license_text:
        lines += ["## Excerpt of the terms (verbatim)", "", *fence(d.license_text), ""]
    if d.license_notes:
        lines += ["## Notes", "", d.license_notes.strip(), ""]
    if not d.official:
        lines += [
            "An unofficial mirror carries no license of its own: a re-upload cannot",
            "relicense, so the rights holder's terms above apply to it.",
            "",
        ]
    if d.tier == "unknown":
        lines += [
            "No license grant is known for this dataset: treat it as all rights reserved",
            "and read the terms page before any use beyond private research.",
            "",
        ]
    return "\n".join(lines).rstrip() + "\n"


def detector_terms(detector: dict[str, Any]) -> list[str]:
    """The detector's own terms: its weights and their training data can restrict use too."""
    lines = [
        f"Faces were aligned with {detector.get('name', 'a face detector')}; its weights "
        "and their training data have terms of their own:",
        "",
    ]
    terms = detector.get("terms")
    if isinstance(terms, dict):
        lines += [f"- {key.replace('_', ' ')}: {value}" for key, value in terms.items()]
    else:
        lines.append(f"- {terms or 'not recorded'}")
    weights = detector.get("weights_sha256")
    if weights:
        shas = weights if isinstance(weights, list) else [weights]
        lines.append("- weights sha256: " + ", ".join(f"`{w}`" for w in shas))
    return lines


def _source(d: DatasetInfo) -> str:
    if d.official:
        return f"official ({d.source or 'not chosen yet'})"
    return f"unofficial mirror ({d.source})"


def corpus_file(corpus: CorpusView) -> str:
    """LICENSES/README.md: the corpus's own terms, then one line per input."""
    t = corpus.terms
    lines = [
        f"# Terms of the corpus {corpus.name}",
        "",
        t.statement,
        "",
        "The corpus inherits the most restrictive terms of its inputs:",
        "",
        f"- Tier: {t.tier} (build purpose: {corpus.purpose})",
    ]
    if t.noncommercial:
        lines.append("- Use: for non-commercial research only.")
    if t.no_redistribution:
        lines.append(
            "- Redistribution: forbidden; at least one input forbids sharing the data, "
            "so keep the corpus within your site."
        )
    if t.no_derivatives:
        lines.append(
            "- Derivatives: may not be shared; at least one input forbids derivatives, "
            "and this aligned, remapped copy is one."
        )
    if t.unknown:
        lines.append("- At least one input has no known license grant (all rights reserved).")
    rows = [
        [
            f"[{d.id}]({d.id}.md)",
            d.license_id,
            d.tier,
            d.derivatives,
            d.redistribution,
            "yes" if d.official else "no (mirror)",
        ]
        for d in corpus.datasets
    ]
    lines += [
        "",
        "## Inputs",
        "",
        *table(["dataset", "license", "tier", "derivatives", "redistribution", "official"], rows),
        "",
    ]
    if corpus.detector:
        lines += ["## Face detector", "", *detector_terms(corpus.detector), ""]
    return "\n".join(lines).rstrip() + "\n"


def render(corpus: CorpusView) -> dict[str, str]:
    """Relative path -> text for every file under LICENSES/."""
    files = {f"{LICENSES_DIR}/README.md": corpus_file(corpus)}
    for d in corpus.datasets:
        files[f"{LICENSES_DIR}/{d.id}.md"] = dataset_file(d)
    return files
