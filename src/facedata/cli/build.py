"""`facedata build`: flags or a recipe file in, a corpus folder out."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.markup import escape

from ..assemble.pipeline import build as run_build
from ..assemble.recipe import Recipe, load_recipe
from ..errors import BuildError
from .app import ManifestsOpt, app, console


def _progress():
    """A live status line on a terminal; silence in logs and CI."""
    if not console.is_terminal:
        return None, None
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    bar = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )
    task = bar.add_task("building")

    def update(c: dict[str, int]) -> None:
        elapsed = bar.tasks[0].elapsed or 1e-9
        rate = c["read"] / elapsed
        eta = ""
        if rate > 0 and c["expected"] > c["read"]:  # manifest counts are approximate
            eta = f"  ETA ~{(c['expected'] - c['read']) / rate:,.0f}s"
        bar.update(
            task,
            description=f"read {c['read']:,}  written {c['written']:,}  "
            f"dropped {c['dropped']:,}  {c['written'] / elapsed:,.0f} samples/s{eta}",
        )

    return bar, update


@app.command()
def build(
    recipe_file: Annotated[
        Path | None,
        typer.Argument(help="A recipe YAML (e.g. output/x/recipe.yaml).", dir_okay=False),
    ] = None,
    datasets: Annotated[
        str | None, typer.Option("--datasets", "-d", help="Comma-separated ids (id or id:source).")
    ] = None,
    commercial: Annotated[
        bool,
        typer.Option("--commercial", help="Refuse every source not cleared for commercial use."),
    ] = False,
    out: Annotated[
        Path | None, typer.Option("--out", help="Corpus folder (default output/corpus).")
    ] = None,
    size: Annotated[int | None, typer.Option("--size", help="Aligned face size in pixels.")] = None,
    workers: Annotated[int | None, typer.Option("--workers", help="Worker processes.")] = None,
    derive_smile: Annotated[
        bool, typer.Option("--derive-smile", help="Fill smile from expression (rows flagged).")
    ] = False,
    official_only: Annotated[
        bool, typer.Option("--official-only", help="Refuse unofficial mirrors.")
    ] = False,
    clearances: Annotated[
        Path | None, typer.Option("--clearances", help="Clearance file admitting refused sources.")
    ] = None,
    split_ratios: Annotated[
        str | None,
        typer.Option(
            "--split-ratios",
            help="train,validation,test for sources without their own split (default 0.8,0.1,0.1).",
        ),
    ] = None,
    grey: Annotated[
        bool,
        typer.Option("--grey", help="Store every face in grey (L); default RGB for every row."),
    ] = False,
    label_conflicts: Annotated[
        str | None,
        typer.Option(
            "--label-conflicts",
            help="Duplicates that disagree on a label: void (default: neither copy trusted) "
            "or first (the first copy's label stands).",
        ),
    ] = None,
    manifests: ManifestsOpt = None,
) -> None:
    """Build a license-filtered, aligned Parquet corpus with its citation bundle."""
    if recipe_file is None and not datasets:
        raise BuildError("nothing to build", hint="pass --datasets a,b or a recipe YAML file")
    ids = [d.strip() for d in (datasets or "").split(",") if d.strip()]
    if datasets is not None and not ids:
        raise BuildError("--datasets names no dataset", hint="e.g. --datasets genki4k,fer2013")
    base = load_recipe(recipe_file).model_dump() if recipe_file else {}
    overrides = {
        "datasets": ids or None,
        "purpose": "commercial" if commercial else None,
        "out": out,
        "size": size,
        "workers": workers,
        "derive_smile": derive_smile or None,
        "official_only": official_only or None,
        "clearances": clearances,
        "manifests": manifests or None,
        "split_ratios": [r.strip() for r in split_ratios.split(",")] if split_ratios else None,
        "image_mode": "L" if grey else None,
        "label_conflicts": label_conflicts,
    }
    try:
        recipe = Recipe.model_validate(
            {**base, **{k: v for k, v in overrides.items() if v is not None}}
        )
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors(include_url=False)
        )
        raise BuildError(
            f"invalid build options: {problems}", hint="see `facedata build --help`"
        ) from None
    bar, update = _progress()
    if bar:
        with bar:
            corpus = run_build(recipe, argv=["facedata", *sys.argv[1:]], progress=update)
    else:
        corpus = run_build(recipe, argv=["facedata", *sys.argv[1:]])
    for d in corpus.decisions:
        verdict = "[green]admitted[/]" if d["admitted"] else "[red]refused[/]"
        where = escape(f"{d['dataset']} [{d['source']}]")
        console.print(f"{where}: {verdict}: {escape(d['reason'])}")
        for flag in d["flags"] if d["admitted"] else []:
            console.print(f"  [yellow]warning:[/] {escape(flag)}")
    c = corpus.counts
    splits = ", ".join(f"{k} {v:,}" for k, v in sorted(c.splits.items()))
    dropped = sum(v["count"] for v in corpus.drops.values())
    dd = corpus.dedup
    console.print(
        f"[bold]{recipe.out}[/]: {c.total:,} rows ({splits}); {dropped:,} dropped; "
        f"dedup removed {dd.exact} exact + {dd.near} near"
    )
    merged, conflicts = sum(dd.merged.values()), sum(dd.conflicts.values())
    if merged or conflicts:
        console.print(
            f"duplicates: {merged} labels merged into kept rows, {conflicts} conflicting "
            f"labels ({escape(dd.conflict_policy or '')})"
        )
    console.print(f"license: {escape((corpus.license or {}).get('statement', ''))}")
