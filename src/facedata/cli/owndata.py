"""Own-data commands: `manifest new --local DIR` and `forget`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..errors import FacedataError
from .app import app, console
from .catalog import manifest_app


@manifest_app.command("new")
def new(
    local: Annotated[
        Path, typer.Option("--local", help="Folder of your recordings.", file_okay=False)
    ],
    dataset_id: Annotated[
        str, typer.Option("--id", help="Dataset id for the manifest.")
    ] = "own-data",
    name: Annotated[str | None, typer.Option("--name", help="Human-readable name.")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Where to write the manifest.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> None:
    """Write a manifest for your own recorded participants from the template."""
    from ..owndata import new_local_manifest

    path = new_local_manifest(local, dataset_id, name, out, force)
    console.print(f"wrote {path}; edit it, then `facedata manifest validate {path}`")


@app.command()
def forget(
    corpora: Annotated[
        list[Path], typer.Argument(help="Corpus folders to erase the subject from.")
    ],
    subject: Annotated[str, typer.Option("--subject", help="Pseudonymous subject id, e.g. P017.")],
    dataset: Annotated[
        str | None, typer.Option("--dataset", help="Only rows of this dataset (ids can repeat).")
    ] = None,
    by: Annotated[
        str | None, typer.Option("--by", help="Who handles the request (logged).")
    ] = None,
) -> None:
    """Remove a withdrawn participant's rows from corpora, atomically, and log it."""
    from ..forget import forget as run_forget

    if not corpora:
        raise FacedataError("no corpus given", hint="facedata forget --subject P017 output/x")
    record = run_forget(subject, corpora, dataset=dataset, by=by)
    for path, n in record["corpora"].items():
        console.print(f"{path}: removed {n} row(s) of subject {subject}")
    console.print(f"deleted {len(record['frames_deleted'])} cached frame folder(s); logged")
