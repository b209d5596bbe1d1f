"""Options several commands take, declared once: the flag's name, its type checks and
its usual wording.

A command still says in its own words what an option means for it (`--force`
downloads again for `fetch` and overwrites for `manifest new`), so each factory takes
the help text; what must not drift between commands (the flag's spelling, "a folder,
never a file") is written here only. The shared `--manifests` option lives beside the
app (`app.ManifestsOpt`), which every command module imports already.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

MACHINE_READABLE = "Machine-readable output."
JSON_INSTEAD = "Print JSON instead."


def json_flag(help: str = MACHINE_READABLE) -> Any:
    """`--json`: print JSON for scripts instead of tables and prose."""
    return typer.Option("--json", help=help)


def force_flag(help: str) -> Any:
    """`--force`: redo or replace what the command would otherwise keep."""
    return typer.Option("--force", help=help)


def source_option(help: str) -> Any:
    """`--source`: which of a dataset's sources the command works on."""
    return typer.Option("--source", help=help)


def folder_option(name: str, help: str) -> Any:
    """A path option that must name a folder (click refuses an existing file)."""
    return typer.Option(name, help=help, file_okay=False)


def file_option(name: str, help: str) -> Any:
    """A path option that must name a file (click refuses an existing folder)."""
    return typer.Option(name, help=help, dir_okay=False)


JsonFlag = Annotated[bool, json_flag()]
"""`--json` with the usual wording: "Machine-readable output."."""

JsonInsteadFlag = Annotated[bool, json_flag(JSON_INSTEAD)]
"""`--json` for a command whose output is one listing: "Print JSON instead."."""
