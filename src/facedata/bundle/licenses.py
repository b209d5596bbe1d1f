"""LICENSES/: each input's terms, and the corpus's own (the most restrictive of them).

People read a corpus's terms long after the build, offline, without the catalog,
so each file says everything the record knows: ids, tier, what may be shared, the
link, and the verbatim excerpt when a manifest quoted one.
"""

from __future__ import annotations

from typing import Any

from facedata.bundle.attribution import credit_lines, modification_lines
from facedata.bundle.markdown import block, code, fence, link, table, text
from facedata.bundle.record import CorpusView, DatasetInfo
from facedata.vocabulary import PERMISSION_WORDING

LICENSES_DIR = "LICENSES"
MARKER = "<!-- written by facedata: the terms of one input dataset -->"

_PERMISSION = PERMISSION_WORDING


def dataset_file(d: DatasetInfo) -> str:
    """LICENSES/<id>.md: one dataset's terms."""
    lines = [
        MARKER,
        f"# {text(d.name)} ({code(d.id)}): terms",
        "",
        *table(
            ["", ""],
            [
                ["License", text(d.license_id)],
                ["Tier", text(d.tier)],
                ["Derivatives", text(_PERMISSION.get(d.derivatives, d.derivatives))],
                ["Redistribution", text(_PERMISSION.get(d.redistribution, d.redistribution))],
                [
                    "ShareAlike",
                    "yes: adaptations only under the same license" if d.share_alike else "no",
                ],
                ["Attribution", _attribution(d)],
                ["Terms", link(d.terms_url, "no terms page known")],
                ["Source used", _source(d)],
            ],
        ),
        "",
        "## Attribution",
        "",
        *credit_lines(d),
    ]
    if d.license_text:
        lines += ["## Excerpt of the terms (verbatim)", "", *fence(d.license_text), ""]
    if d.license_notes:
        lines += ["## Notes", "", block(d.license_notes), ""]
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
        f"Faces were aligned with {text(detector.get('name', 'a face detector'))}; its weights "
        "and their training data have terms of their own:",
        "",
    ]
    terms = detector.get("terms")
    if isinstance(terms, dict):
        lines += [
            f"- {text(str(key).replace('_', ' '))}: {text(value)}" for key, value in terms.items()
        ]
    else:
        lines.append(f"- {text(terms or 'not recorded')}")
    weights = detector.get("weights_sha256")
    if weights:
        shas = weights if isinstance(weights, list) else [weights]
        lines.append("- weights sha256: " + ", ".join(code(w) for w in shas))
    return lines


def _attribution(d: DatasetInfo) -> str:
    c = d.credit
    if not c.required:
        return "not required (the license waives it)"
    return "required (composed from the citation)" if c.composed else "required (verbatim below)"


def _source(d: DatasetInfo) -> str:
    if d.official:
        return f"official ({text(d.source or 'not chosen yet')})"
    return f"unofficial mirror ({text(d.source)})"


def corpus_file(corpus: CorpusView) -> str:
    """LICENSES/README.md: the corpus's own terms, then one line per input."""
    t = corpus.terms
    lines = [
        f"# Terms of the corpus {text(corpus.name)}",
        "",
        text(t.statement),
        "",
        "The corpus inherits the most restrictive terms of its inputs:",
        "",
        f"- Tier: {text(t.tier)} (build purpose: {text(corpus.purpose)})",
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
    if t.share_alike:
        lines.append(
            "- ShareAlike: " + text(", ".join(t.share_alike)) + " require(s) that adapted "
            "material, this corpus included, be shared only under the same license (or one "
            "its licensor lists as compatible)."
        )
    if any(d.credit.required for d in corpus.datasets):
        lines.append("- Attribution: give every credit in [ATTRIBUTION.md](../ATTRIBUTION.md).")
    if t.unknown:
        lines.append("- At least one input has no known license grant (all rights reserved).")
    rows = [
        [
            f"[{d.id}]({d.id}.md)",
            text(d.license_id),
            text(d.tier),
            text(d.derivatives),
            text(d.redistribution),
            "yes" if d.share_alike else "no",
            "yes" if d.official else "no (mirror)",
        ]
        for d in corpus.datasets
    ]
    lines += [
        "",
        "## Inputs",
        "",
        *table(
            [
                "dataset",
                "license",
                "tier",
                "derivatives",
                "redistribution",
                "share-alike",
                "official",
            ],
            rows,
        ),
        "",
        "## Notice of modifications",
        "",
        *modification_lines(corpus),
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
