"""Acquisition commands: fetch and verify."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from facedata.cli.app import ManifestsOpt, app, console, load_catalog
from facedata.cli.options import force_flag, json_flag, source_option
from facedata.cli.tables import show_table
from facedata.errors import IntegrityError

SOURCE_HELP = "Source id, kind (http, kaggle, huggingface) or number."


@app.command()
def fetch(
    dataset: Annotated[str, typer.Argument(help="Dataset id (see `facedata list`).")],
    source: Annotated[str | None, source_option(SOURCE_HELP)] = None,
    from_path: Annotated[
        Path | None,
        typer.Option("--from", help="Register an archive or folder you obtained (gated datasets)."),
    ] = None,
    force: Annotated[bool, force_flag("Download and unpack again, even if cached.")] = False,
    cache: Annotated[
        str | None,
        typer.Option(
            "--cache",
            metavar="URL",
            help="Then push the tree to the fetch cache on object storage (s3://BUCKET/PREFIX), "
            "for builds on any node; FACEDATA_CACHE_URL works too.",
        ),
    ] = None,
    manifests: ManifestsOpt = None,
) -> None:
    """Download, resume, verify and unpack a dataset into the cache, and pin it."""
    from facedata.fetch import fetch_dataset
    from facedata.storage.location import cache_location

    remote = cache_location(cache)  # a bad or keyed URL is refused before anything is fetched
    manifest = load_catalog(manifests).get(dataset)
    result = fetch_dataset(manifest, source, from_path=from_path, force=force)
    kind = "official" if result.source.official else "unofficial mirror"
    if from_path is not None:
        state = f"registered from {escape(str(from_path))} as source"
    else:
        state = "already fetched from" if result.cached else "fetched from"
    console.print(
        f"[green]{escape(result.dataset)}[/] {state} [bold]{escape(result.source.id)}[/] "
        f"({result.source.kind}, {kind})",
        highlight=False,
    )
    for entry in result.files:
        console.print(
            f"  {escape(entry.name)}  {entry.size:,} B  sha256 {entry.sha256[:16]}…",
            highlight=False,
        )
    console.print(f"  tree: {escape(str(result.root))}", highlight=False, soft_wrap=True)
    if remote is not None:
        from facedata.storage.cachepush import push_tree

        pushed = push_tree(remote, result.dataset, result.source.id)
        console.print(
            f"  pushed to {escape(pushed.url)}: {pushed.uploaded:,} files uploaded "
            f"({pushed.uploaded_bytes:,} B), {pushed.present:,} already there "
            f"({pushed.present_bytes:,} B)"
            + (f"; {pushed.withdrawals:,} withdrawal(s) with it" if pushed.withdrawals else ""),
            highlight=False,
            soft_wrap=True,
        )


@app.command("verify")
def verify_(
    dataset: Annotated[
        str | None, typer.Argument(help="Dataset id; every fetched dataset when omitted.")
    ] = None,
    as_json: Annotated[
        bool, json_flag("Machine-readable output (exit 1 if any file fails).")
    ] = False,
    manifests: ManifestsOpt = None,
) -> None:
    """Re-hash what is cached and compare it with the lock file."""
    from facedata.fetch import verify

    manifest = load_catalog(manifests).get(dataset) if dataset else None
    results = verify(manifest)
    if as_json:
        rows = [
            {"dataset": r.dataset, "source": r.source, "file": r.name, "ok": r.ok,
             "problem": None if r.ok else r.problem}
            for r in results
        ]  # fmt: skip
        typer.echo(json.dumps(rows, indent=2))
        if not all(r.ok for r in results):
            raise typer.Exit(1)
        return
    if not results:
        console.print("nothing fetched yet" + (f" for {dataset}" if dataset else ""))
        return
    table = Table(title="facedata verify")
    for col in ("dataset", "source", "file", "status"):
        table.add_column(col, overflow="fold")
    for r in results:
        status = "[green]ok[/]" if r.ok else f"[red]{escape(r.problem)}[/]"
        table.add_row(escape(r.dataset), escape(r.source), escape(r.name), status)
    show_table(console, table)
    bad = [r for r in results if not r.ok]
    if bad:
        names = sorted({r.dataset for r in bad})
        raise IntegrityError(
            f"{len(bad)} of {len(results)} cached files failed verification",
            hint="re-fetch them: " + "; ".join(f"`facedata fetch {n} --force`" for n in names),
        )
    console.print(f"all {len(results)} verified")
