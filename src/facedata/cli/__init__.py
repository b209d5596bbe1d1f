"""The `facedata` command: a thin layer over the library API.

Each command group lives in its own module and registers itself on `app`; this file
only wires them up and turns FacedataError into a clean message and exit code.
"""

from __future__ import annotations

import os
import signal
import sys

from rich.markup import escape

from facedata.errors import FacedataError, UnknownDatasetError, disk_error
from facedata.files.sanitize import terminal

# Command modules register themselves on import; the order is the order in --help,
# which follows the data: demo first (the way in), then catalog, fetch, read, faces,
# build, bundle, own data, train.
from facedata.cli import demo
from facedata.cli import catalog
from facedata.cli import fetch
from facedata.cli import inspect
from facedata.cli import doctor
from facedata.cli import build
from facedata.cli import cite
from facedata.cli import report
from facedata.cli import owndata
from facedata.cli import corpora
from facedata.cli import learn
from facedata.cli.app import app, console_err, readable_help, refuse_empty_paths

# what a project folder's facedata.toml may set (facedata/project.py)
PROJECT_VARS = ("FACEDATA_HOME", "FACEDATA_MANIFESTS")


class _Interrupt:
    """Remembers that Ctrl-C arrived. Typer turns KeyboardInterrupt into a return
    value of 130 when not standalone, which `main` cannot tell from a normal return."""

    seen = False

    @classmethod
    def handler(cls, signum: int, frame: object) -> None:
        cls.seen = True
        raise KeyboardInterrupt


def _interrupted() -> None:
    """Every command cleans up on the way out (temp folders, partial shards); then this."""
    console_err.print("interrupted", highlight=False)
    sys.exit(130)


def main() -> None:
    _Interrupt.seen = False
    previous = signal.getsignal(signal.SIGINT)
    if previous is signal.default_int_handler:
        signal.signal(signal.SIGINT, _Interrupt.handler)
    saved = {k: os.environ.get(k) for k in PROJECT_VARS}
    try:
        _main()
    finally:
        if previous is signal.default_int_handler:
            signal.signal(signal.SIGINT, previous)
        for key, value in saved.items():  # in-process callers get their environment back
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _main() -> None:
    try:
        import typer

        from facedata.project import apply_project

        apply_project()
        command = refuse_empty_paths(readable_help(typer.main.get_command(app)))
        code = command(standalone_mode=False)
        if _Interrupt.seen or code == 130:
            _interrupted()
        if isinstance(code, int) and not isinstance(code, bool) and code:
            sys.exit(code)  # a typer.Exit(code) raised inside a command
    except FacedataError as exc:
        _fail(exc)
    except OSError as exc:  # the disk or the environment: a full disk, a read-only folder
        _fail(disk_error(exc))
    except KeyboardInterrupt:
        _interrupted()
    except SystemExit:
        raise
    except Exception as exc:  # click usage errors arrive here with standalone_mode=False
        if _Interrupt.seen:
            _interrupted()
        usage_error, abort = _click_errors()
        if isinstance(exc, usage_error):
            exc.show()
            sys.exit(exc.exit_code)
        if isinstance(exc, abort):
            sys.exit(1)
        raise


def _fail(exc: FacedataError) -> None:
    if _Interrupt.seen:  # a cleanup step reported the interruption as an error
        _interrupted()
    console_err.print(
        f"[bold red]error:[/] {escape(terminal(exc.message))}",
        highlight=False,
        soft_wrap=True,
    )
    # the project folder's hint first: it is what fixes the command, where it applies
    for hint in (h for h in (_project_hint(exc), exc.hint) if h):
        console_err.print(
            f"[yellow]hint:[/] {escape(terminal(hint))}", highlight=False, soft_wrap=True
        )
    sys.exit(exc.exit_code)


def _project_hint(exc: FacedataError) -> str | None:
    """A failed command that named a project folder (or a path in one) from outside it:
    say how to use that folder's own cache. Only a hint; nothing is read from it."""
    from pathlib import Path

    from facedata.project import dataset_hint, find_project, project_hint

    try:
        if find_project() is not None:
            return None  # already inside a project: its cache was used
    except FacedataError:
        return None  # a broken marker here: the error being shown says so
    for arg in sys.argv[1:]:
        if arg.startswith("-"):
            continue
        path = Path(arg)
        for folder in (path, *path.parents):
            if str(folder) in ("", "."):
                break
            try:
                hint = project_hint(str(folder))
            except OSError:  # a name too long to look at: no hint, the error still shows
                hint = None
            if hint:
                return hint
    if not isinstance(exc, UnknownDatasetError):
        return None
    # `facedata inspect own-data` one folder above the demo: an id, not a path
    ids = [i for a in sys.argv[1:] if not a.startswith("-") for i in a.split(",")]
    return dataset_hint(ids)


def _click_errors() -> tuple[type[Exception], type[Exception]]:
    """Click's usage-error and abort classes, as this Typer raises them.

    Newer Typer releases ship their own copy of click (`typer._click`), so the classes
    from `import click` would not match; Typer's public names lead to the right ones.
    """
    import typer

    usage = next(c for c in type.mro(typer.BadParameter) if c.__name__ == "ClickException")
    return usage, typer.Abort
