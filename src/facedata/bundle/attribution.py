"""ATTRIBUTION.md: the credit each source requires, word for word, and what was changed.

Attribution strings are legal text ("you must credit X as ..."), so they are quoted
exactly, never reflowed, in a fenced block that Markdown leaves alone. Where the
manifest gives none but the license asks for credit, a credit composed from the
citation is given and marked as composed. CC BY 4.0 §3(a)(1)(B) also asks to say
that the material was modified: the notice lists what this build did.
"""

from __future__ import annotations

from facedata.bundle.markdown import code, fence, link, text
from facedata.bundle.record import CorpusView, DatasetInfo


def credit_lines(d: DatasetInfo) -> list[str]:
    """The credit block for one input (shared with the dataset card)."""
    c = d.credit
    if c.text and not c.composed:
        return ["Required attribution (verbatim):", "", *fence(c.text), ""]
    if c.text:
        return [
            f"Attribution required by {text(d.license_id)}; the manifest gives no wording, "
            "so this credit was composed from the citation (check the licensor's page for "
            "a preferred form):",
            "",
            *fence(c.text),
            "",
        ]
    return [
        f"No attribution required: {text(d.license_id)} waives it. Citing the works in "
        "references.bib is still expected in papers.",
        "",
    ]


def modification_lines(corpus: CorpusView) -> list[str]:
    """The notice of modifications, as a bullet list."""
    return [
        "The images and labels were modified from the originals:",
        "",
        *(f"- {text(m)}" for m in corpus.modifications),
        "",
    ]


def _section(d: DatasetInfo) -> list[str]:
    lines = [f"## {text(d.name)} ({code(d.id)})", "", *credit_lines(d)]
    lines += [
        f"- License: {text(d.license_id)} (tier: {text(d.tier)})",
        f"- Terms: {link(d.terms_url, 'no terms page known')}",
    ]
    if d.share_alike:
        lines.append(
            f"- ShareAlike: {text(d.license_id)} requires adaptations of this dataset to be "
            "shared under the same license (or one its licensor lists as compatible)"
        )
    if d.official:
        lines.append(f"- Source: official ({text(d.source or 'not chosen yet')})")
    else:
        lines.append(
            f"- Source: unofficial mirror {code(d.source)}; a re-upload cannot relicense, "
            "so the original terms above apply"
        )
    if d.homepage:
        lines.append(f"- Homepage: {link(d.homepage)}")
    lines.append(f"- Full terms: [LICENSES/{d.id}.md](LICENSES/{d.id}.md)")
    if d.citation_withheld:
        lines.append(
            f"- Citation withheld from references.bib: {text(d.citation_withheld)}; "
            "see the dataset's homepage for how to cite it"
        )
    return [*lines, ""]


def render(corpus: CorpusView) -> str:
    lines = [
        f"# Attribution: {text(corpus.name)}",
        "",
        "This corpus is derived from the datasets below. Whoever uses or shows it must",
        "give each one the credit it asks for, in the exact words quoted here, and say",
        "that the material was modified.",
        "",
        "## Notice of modifications",
        "",
        *modification_lines(corpus),
    ]
    for d in corpus.datasets:
        lines += _section(d)
    return "\n".join(lines).rstrip() + "\n"
