"""ATTRIBUTION.md: the credit each source requires, word for word.

Attribution strings are legal text ("you must credit X as ..."), so they are quoted
exactly, never reflowed or escaped, in a fenced block that Markdown leaves alone.
"""

from __future__ import annotations

from .markdown import fence
from .record import CorpusView, DatasetInfo


def _section(d: DatasetInfo) -> list[str]:
    lines = [f"## {d.name} (`{d.id}`)", ""]
    if d.attribution:
        lines += ["Required attribution (verbatim):", "", *fence(d.attribution), ""]
    else:
        lines += ["No attribution string is required; cite the works in references.bib.", ""]
    lines += [
        f"- License: {d.license_id} (tier: {d.tier})",
        f"- Terms: {d.terms_url or 'no terms page known'}",
    ]
    if d.official:
        lines.append(f"- Source: official ({d.source or 'not chosen yet'})")
    else:
        lines.append(
            f"- Source: unofficial mirror `{d.source}`; a re-upload cannot relicense, "
            "so the original terms above apply"
        )
    if d.homepage:
        lines.append(f"- Homepage: {d.homepage}")
    lines.append(f"- Full terms: [LICENSES/{d.id}.md](LICENSES/{d.id}.md)")
    return [*lines, ""]


def render(corpus: CorpusView) -> str:
    lines = [
        f"# Attribution: {corpus.name}",
        "",
        "This corpus is derived from the datasets below. Whoever uses or shows it must",
        "give each one the credit it asks for, in the exact words quoted here.",
        "",
    ]
    for d in corpus.datasets:
        lines += _section(d)
    return "\n".join(lines).rstrip() + "\n"
