"""The Typer app and the options every command shares."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from ..catalog import Catalog

app = typer.Typer(
    name="facedata",
    help="Acquire, license-check, align and remap smile / facial-expression datasets.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
console_err = Console(stderr=True)

ManifestsOpt = Annotated[
    list[Path] | None,
    typer.Option(
        "--manifests",
        help="Extra manifest folder (repeatable); FACEDATA_MANIFESTS works too.",
        file_okay=False,
    ),
]


def load_catalog(manifests: list[Path] | None) -> Catalog:
    return Catalog.load(manifests or [])
