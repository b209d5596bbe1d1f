"""The `facedata` command: a thin layer over the library API.

Each command group lives in its own module and registers itself on `app`; this file
only wires them up and turns FacedataError into a clean message and exit code.
"""

from __future__ import annotations

import sys

from rich.markup import escape

from ..errors import FacedataError

# Command modules register themselves on import; the order is the order in --help,
# which follows the data: catalog, fetch, read, faces, build, bundle, own data, train.
from . import catalog
from . import fetch
from . import inspect
from . import doctor
from . import build
from . import cite
from . import report
from . import owndata
from . import learn
from .app import app, console_err


def main() -> None:
    try:
        app(standalone_mode=False)
    except FacedataError as exc:
        console_err.print(
            f"[bold red]error:[/] {escape(exc.message)}",
            highlight=False,
            soft_wrap=True,
        )
        if exc.hint:
            console_err.print(
                f"[yellow]hint:[/] {escape(exc.hint)}", highlight=False, soft_wrap=True
            )
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        console_err.print("interrupted")
        sys.exit(130)
    except SystemExit:
        raise
    except Exception as exc:  # click usage errors arrive here with standalone_mode=False
        usage_error, abort = _click_errors()
        if isinstance(exc, usage_error):
            exc.show()
            sys.exit(exc.exit_code)
        if isinstance(exc, abort):
            sys.exit(1)
        raise


def _click_errors() -> tuple[type[Exception], type[Exception]]:
    """Click's usage-error and abort classes, as this Typer raises them.

    Newer Typer releases ship their own copy of click (`typer._click`), so the classes
    from `import click` would not match; Typer's public names lead to the right ones.
    """
    import typer

    usage = next(c for c in type.mro(typer.BadParameter) if c.__name__ == "ClickException")
    return usage, typer.Abort
