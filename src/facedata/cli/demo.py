"""`facedata demo`: see the main job work, offline, before fetching anything."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from .app import app, console
from .progress import build_progress

DEFAULT_OUT = Path("facedata-demo")


@app.command()
def demo(
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            metavar="DIR",
            help="A new folder for everything the demo writes.",
            file_okay=False,
        ),
    ] = DEFAULT_OUT,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace an earlier demo in --out.")
    ] = False,
) -> None:
    """Build a corpus and its report from a small offline sample (GENKI-4K layout).

    The sample is 102 real face photos shipped inside the scikit-image and matplotlib
    wheels, with illustrative smile labels; its manifest says so, with its terms.
    """
    from ..demo import DATASET_ID, run_demo

    def say(message: str) -> None:
        console.print(f"[dim]·[/] {escape(message)}", highlight=False, soft_wrap=True)

    with build_progress(console, "demo build") as update:
        result = run_demo(out, overwrite=overwrite, say=say, progress=update)
    c = result.record["counts"]
    splits = ", ".join(f"{k} {v:,}" for k, v in sorted(c["splits"].items()))
    q = shlex.quote
    home = f"FACEDATA_HOME={q(str(result.home))}"
    rows = [
        ("sample", f"{result.tar}  ({result.images} faces, {result.smiles} smiling)"),
        ("manifest", f"{result.manifests / (DATASET_ID + '.yaml')}"),
        ("cache", f"{result.home}  (the demo's own; your cache is untouched)"),
        ("corpus", f"{result.corpus}  ({c['total']:,} rows: {splits})"),
        ("report", f"{result.report}"),
    ]
    console.print(f"\n[bold green]demo corpus built[/] in {escape(str(result.root))}")
    for name, text in rows:
        console.print(f"  {name:<9}{escape(text)}", highlight=False, soft_wrap=True)
    console.print(
        "  the smile labels are illustrative and the sample is research data: see "
        f"`facedata info {DATASET_ID} --manifests {escape(q(str(result.manifests)))}`",
        highlight=False,
        soft_wrap=True,
    )
    console.print("\n[bold]next[/]")
    steps = [
        (result.report.as_uri(), "the report, in a browser: funnel, balance, licenses, faces"),
        (
            f'python -c "import pyarrow.parquet as pq; t = pq.read_table('
            f"'{result.corpus}/data'); print(t.num_rows, t.column_names)\"",
            "the rows a trainer reads",
        ),
        (
            f"{home} facedata build {q(str(result.corpus / 'recipe.yaml'))}",
            "rebuild from the recipe: up to date",
        ),
        ("facedata list", "the real datasets, their licenses and access"),
        ("facedata fetch genki4k", "the real GENKI-4K (or --from genki4k.tar offline)"),
        (
            "facedata build --datasets genki4k --out output/smile-v1",
            "your first real corpus",
        ),
    ]
    for cmd, why in steps:
        console.print(f"  {escape(cmd)}", highlight=False, soft_wrap=True)
        console.print(f"      [dim]{escape(why)}[/]", highlight=False)
