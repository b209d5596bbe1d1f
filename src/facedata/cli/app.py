"""The Typer app and the options every command shares."""

from __future__ import annotations

import typing
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

if TYPE_CHECKING:
    from facedata.manifest.catalog import Catalog


app = typer.Typer(
    name="facedata",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


class TerminalConsole(Console):
    """A rich Console whose text passes the terminal policy (facedata.files.sanitize.terminal).

    Every string rich renders (print arguments, table cells, panel bodies) goes
    through `render_str`, so an escape sequence in a manifest field, a file name or an
    error message reaches the screen as nothing, wherever a command prints it. Rich's
    own colours are added after this point and are unaffected.
    """

    def render_str(self, text: str, *args: Any, **kwargs: Any) -> Any:
        from facedata.files.sanitize import terminal

        return super().render_str(terminal(text), *args, **kwargs)

    def print(self, *objects: Any, **kwargs: Any) -> None:
        """Off a terminal (a pipe, a file, a CI log) a line of text stays one line:
        rich would wrap it at 80 columns, breaking a path or a sentence that `grep`
        then cannot find. Tables and panels keep their layout."""
        if (
            "soft_wrap" not in kwargs
            and objects
            and all(isinstance(o, str) for o in objects)
            and not self.is_terminal
        ):
            kwargs["soft_wrap"] = True
        super().print(*objects, **kwargs)


console = TerminalConsole()
console_err = TerminalConsole(stderr=True)


def _version(value: bool) -> None:
    if value:
        from facedata import __version__

        typer.echo(f"facedata {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", "-V", help="Print the version and exit.", callback=_version, is_eager=True
        ),
    ] = False,
) -> None:
    """Acquire, license-check, align and remap smile / facial-expression datasets.

    New here? `facedata demo` builds a corpus and its report from a small offline
    sample in a minute; then `facedata list` shows the real datasets.
    """


ManifestsOpt = Annotated[
    list[Path] | None,
    typer.Option(
        "--manifests",
        metavar="DIR",
        help="Extra manifest folder (repeatable); FACEDATA_MANIFESTS works too.",
        file_okay=False,
    ),
]


def readable_help(command: Any) -> Any:
    """Plain metavars in --help: `--out DIR`, `--workers N`, bare flags.

    This Typer prints Python types (`<bool>`, `<list[Path]>`) where people expect
    the conventional upper-case placeholder; an explicit `metavar=` wins.
    """
    for param in getattr(command, "params", []):
        if param.metavar is None:
            param.metavar = _metavar(param)
    help_option = command.get_help_option

    def get_help_option(ctx: Any) -> Any:
        option = help_option(ctx)
        if option is not None and option.metavar is None:
            option.metavar = ""
        return option

    command.get_help_option = get_help_option
    for sub in getattr(command, "commands", {}).values():
        readable_help(sub)
    return command


def refuse_empty_paths(command: Any) -> Any:
    """A path given as "" is a mistake (an unset shell variable), never the current folder.

    Click turns "" into Path("."), so `fetch X --from "$DL"` with DL unset would register
    whatever folder the person stands in, and `--out ""` would aim at it. Every path
    parameter of every command refuses "" before conversion, as a usage error.
    """
    for param in getattr(command, "params", []):
        if _takes_paths(param):
            param.process_value = _no_empty(param, param.process_value)
    for sub in getattr(command, "commands", {}).values():
        refuse_empty_paths(sub)
    return command


def _takes_paths(param: Any) -> bool:
    desc = getattr(param, "type_descriptor", None)
    if desc is None:  # plain click (older Typer)
        return type(getattr(param, "type", None)).__name__ == "Path"
    if desc.is_path:
        return True
    kinds = typing.get_args(desc.annotation) or (desc.annotation,)
    return any(k is Path or Path in typing.get_args(k) for k in kinds)


def _no_empty(param: Any, process: Any) -> Any:
    def process_value(ctx: Any, value: Any) -> Any:
        values = value if isinstance(value, list | tuple) else [value]
        if any(isinstance(v, str) and not v.strip() for v in values):
            raise typer.BadParameter(
                "an empty path (an unset variable?); pass a real path", ctx=ctx, param=param
            )
        return process(ctx, value)

    return process_value


def _metavar(param: Any) -> str | None:
    if getattr(param, "is_flag", False):
        return ""
    if param.param_type_name == "argument":
        return (param.name or "ARG").upper()
    desc = getattr(param, "type_descriptor", None)  # Typer's own click; older: click types
    if desc is not None and desc.is_path:
        return {"file": "FILE", "directory": "DIR"}.get(desc.path_type, "PATH")
    if desc is not None and desc.is_choice:
        return None
    ptype = getattr(param, "type", None)  # plain click (older Typer)
    if desc is None and hasattr(ptype, "file_okay") and hasattr(ptype, "dir_okay"):
        return "DIR" if not ptype.file_okay else "FILE" if not ptype.dir_okay else "PATH"
    kind = getattr(desc, "annotation", None) or getattr(ptype, "name", "")
    return {int: "N", float: "X", "integer": "N", "float": "X"}.get(kind, "TEXT")


def load_catalog(manifests: list[Path] | None) -> Catalog:
    from facedata.manifest.catalog import Catalog

    return Catalog.load(manifests or [])
