"""`facedata build`: flags or a recipe file in, a corpus folder out."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from facedata import storage
from facedata.cli.app import app, console
from facedata.cli.progress import build_progress
from facedata.cli.recipe_options import recipe_from, with_recipe_flags
from facedata.cli.summary import render_summary
from facedata.errors import disk_error


@app.command()
@with_recipe_flags
def build(
    recipe_file: Annotated[
        Path | None,
        typer.Argument(help="A recipe YAML (e.g. output/x/recipe.yaml).", dir_okay=False),
    ] = None,
    *,
    overwrite: Annotated[
        bool,
        typer.Option(
            "--overwrite", help="Replace a corpus already at --out that a different build made."
        ),
    ] = False,
    **flags: Any,
) -> None:
    """Build a license-filtered, aligned Parquet corpus with its citation bundle.

    Every option can also be set in a recipe file; options given here override it.
    """
    from facedata.assemble.engines import start_early
    from facedata.assemble.process import for_build_work

    for_build_work()  # this process ends with the build
    recipe, given = recipe_from(recipe_file, flags)
    start_early(recipe.engine, recipe.workers)  # Ray's workers start while this one reads
    from facedata.assemble.pipeline import build as run_build

    # `facedata build CORPUS/recipe.yaml` with no other option is the documented "rebuild
    # exactly": it may replace its own corpus when something it read has changed since
    replay = (
        recipe_file is not None
        and recipe_file.resolve().parent == Path(recipe.out).resolve()
        and not given
    )
    recipe = storage.named(recipe)  # --out s3://... stays a URL, not a path
    argv = ["facedata", *sys.argv[1:]]
    with build_progress(console) as update, storage.build_target(recipe) as target:
        try:
            record = run_build(
                target, argv=argv, progress=update, overwrite=overwrite, replay=replay
            )
        except OSError as exc:  # a full disk under --out; the corpus there is left as it was
            raise disk_error(exc, recipe.out, "write the corpus at") from None
    for line in render_summary(record, recipe.out):
        console.print(line, highlight=False, soft_wrap=True)
