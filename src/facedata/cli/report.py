"""`facedata report PATH`: the corpus as one HTML page of plots and sample faces."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from facedata import storage
from facedata.cli.app import app, console
from facedata.cli.options import file_option


@app.command()
def report(
    path: Annotated[Path, typer.Argument(help="Corpus folder written by `facedata build`.")],
    out: Annotated[
        Path | None, file_option("--out", "HTML file to write (default: PATH/report.html).")
    ] = None,
    samples: Annotated[
        int, typer.Option("--samples", min=0, help="Sample faces shown per class.")
    ] = 8,
) -> None:
    """Write a self-contained HTML report: class balance, licenses, drops, sample faces."""
    from facedata.report import write_report  # matplotlib loads only when a report is asked for

    storage.refuse_keyed(out)  # a URL with keys never becomes a file name
    remote = storage.is_remote(path)
    with storage.local_corpus(path) as corpus:
        name = Path(storage.shown(path)) if remote else None  # the URL, not the staged copy
        written = write_report(corpus, out, samples=samples, name=name)
        if remote and out is not None:
            # its thumbnails are rows: forget (without paths, too) must rewrite this page
            from facedata.corpus.record import read_corpus
            from facedata.corpus.registry import add_remote_report

            add_remote_report(str(path), written, read_corpus(corpus).to_json())
    size = written.stat().st_size
    console.print(f"wrote {written} ({size / 1024:,.0f} KiB)", highlight=False, soft_wrap=True)
