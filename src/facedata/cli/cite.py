"""`facedata cite`: how to cite, credit and license a corpus, or datasets not built yet."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from facedata import storage
from facedata.cli.app import ManifestsOpt, app, console, load_catalog
from facedata.cli.options import folder_option
from facedata.errors import FacedataError
from facedata.files.sanitize import terminal


def _ids(datasets: str) -> list[str]:
    ids = [d.strip() for d in datasets.split(",") if d.strip()]
    if not ids:
        raise FacedataError("--datasets names no dataset", hint="e.g. --datasets genki4k,fer2013")
    return list(dict.fromkeys(ids))


@app.command()
def cite(
    path: Annotated[
        Path | None,
        typer.Argument(
            help="A corpus folder (has corpus.json): rewrite its bundle.", file_okay=False
        ),
    ] = None,
    datasets: Annotated[
        str | None,
        typer.Option(
            "--datasets", help="Comma-separated dataset ids, for a bundle before a build."
        ),
    ] = None,
    out: Annotated[Path | None, folder_option("--out", "Folder for the --datasets bundle.")] = None,
    manifests: ManifestsOpt = None,
) -> None:
    """Write references.bib, CITATION.cff, ATTRIBUTION.md, LICENSES/, croissant.json, README.md."""
    from facedata.bundle import corpus_from_manifests, load_corpus, write_bundle
    from facedata.corpus import CORPUS_JSON

    if (path is None) == (datasets is None):
        raise FacedataError(
            "give either a corpus folder or --datasets",
            hint="`facedata cite output/corpus` or `facedata cite --datasets genki4k --out DIR`",
        )
    if path is not None:
        if out is not None:
            raise FacedataError(
                "--out applies to --datasets only", hint="the bundle is written into PATH"
            )
        left: list[str] = []  # old versions a write-once bucket would not delete
        with storage.local_corpus(path, writeback=True, left=left) as staged:  # a URL: published
            written = write_bundle(staged, load_corpus(staged), None)
        if left:
            console.print(
                f"[yellow]warning:[/] published, but the store refused to delete the old "
                f"version(s) {escape(', '.join(left))} under {escape(storage.shown(path))}; "
                "they remain until deleted by hand",
                highlight=False,
                soft_wrap=True,
            )
        written = storage.as_named(written, staged, path)  # where they were published
        target = storage.shown(path)
    else:
        if out is None:
            raise FacedataError("--datasets needs --out DIR", hint="e.g. --out citations/smile")
        if (out / CORPUS_JSON).exists():
            raise FacedataError(
                f"{out} holds a built corpus; a bundle from manifests would overwrite its own",
                hint=f"run `facedata cite {out}` to rewrite that corpus's bundle",
            )
        catalog = load_catalog(manifests)
        chosen = [catalog.get(i) for i in _ids(datasets or "")]
        corpus = corpus_from_manifests(chosen)
        target = out
        written = write_bundle(target, corpus, None)
    for p in written:
        console.print(escape(terminal(p)), highlight=False, soft_wrap=True)
    console.print(
        f"[green]wrote {len(written)} files[/] in {escape(terminal(target))}",
        highlight=False,
        soft_wrap=True,
    )
