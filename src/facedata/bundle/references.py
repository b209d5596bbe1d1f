"""references.bib: every input's BibTeX, each key once, exactly as the manifest has it."""

from __future__ import annotations

from facedata.bundle.bibtex import render_bib, unique_entries
from facedata.bundle.record import CorpusView


def render(corpus: CorpusView) -> str:
    """The .bib a paper using this corpus should cite from."""
    entries = unique_entries(d.citation for d in corpus.datasets)
    header = (
        f"% References for the facedata corpus {corpus.name!s}: cite every entry below\n"
        "% (the works each input dataset asks to be cited for).\n\n"
    )
    return header + (render_bib(entries) if entries else "")
