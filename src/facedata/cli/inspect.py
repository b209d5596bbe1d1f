"""`facedata inspect ID`: per-class, per-split and drop counts for one source."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from facedata.cli.app import ManifestsOpt, app, console, load_catalog
from facedata.cli.options import json_flag, source_option
from facedata.cli.tables import show_table

if TYPE_CHECKING:
    from facedata.read.survey import InspectReport


def _print(report: InspectReport) -> None:
    console.print(
        f"[bold]{report.dataset}[/] (source {report.source})  "
        f"root: {os.path.normpath(report.root)}",
        highlight=False,
    )
    console.print(
        f"read {report.read}, kept {report.kept}, dropped {report.drops.total}"
        + (f", subjects {len(report.subjects)}" if report.subjects else "")
        + (f", smile derived {report.smile_derived}" if report.derive_smile else ""),
        highlight=False,
    )
    if report.file_set:
        console.print(f"read the file set {report.file_set}", highlight=False)
    for note in report.notes:
        console.print(f"[yellow]note:[/] {note}", highlight=False)
    splits = sorted(report.by_split)
    for head, counts in sorted(report.heads.items()):
        table = Table(title=f"{head} per class")
        table.add_column("class")
        for s in splits:
            table.add_column(_split_name(s), justify="right")
        table.add_column("total", justify="right")
        for value in sorted(counts):
            per = [str(report.by_split[s][head].get(value, 0)) for s in splits]
            table.add_row(value, *per, str(counts[value]))
        show_table(console, table, titled=True)
    table = Table(title="splits")
    table.add_column("split")
    table.add_column("samples", justify="right")
    for s in splits:
        table.add_row(_split_name(s), str(report.splits[s]))
    show_table(console, table, titled=True)
    if report.drops.total:
        table = Table(title="drops")
        for col in ("dataset", "reason", "count", "examples"):
            table.add_column(col, justify="right" if col == "count" else "left")
        for d, r, n, ex in report.drops.rows():
            table.add_row(d, r, str(n), ", ".join(ex))
        show_table(console, table, titled=True)
    else:
        console.print("no drops")


def _split_name(split: str) -> str:
    """A source without splits reads as such, not as a "(none)" column."""
    from facedata.read.survey import NO_SPLIT

    return "unsplit" if split == NO_SPLIT else split


@app.command()
def inspect(
    dataset: Annotated[str, typer.Argument(help="Dataset id, e.g. genki4k.")],
    source: Annotated[str | None, source_option("Source id to read.")] = None,
    root: Annotated[
        Path | None,
        typer.Option("--root", help="Unpacked source folder (default: what fetch unpacked)."),
    ] = None,
    derive_smile: Annotated[
        bool, typer.Option("--derive-smile", help="Derive smile from expression, flagged.")
    ] = False,
    as_json: Annotated[bool, json_flag("Print the report as JSON.")] = False,
    manifests: ManifestsOpt = None,
) -> None:
    """Count a fetched dataset's classes per head, its splits, and every drop with its reason."""
    from facedata.read.survey import inspect_source

    catalog = load_catalog(manifests)
    report = inspect_source(
        catalog.get(dataset),
        catalog.taxonomy,
        source_id=source,
        root=root,
        derive_smile=derive_smile,
    )
    if as_json:
        typer.echo(json.dumps(report.to_dict(), indent=2))
    else:
        _print(report)
