"""Run the real `facedata` entry point in-process, error handling included."""

from __future__ import annotations

import sys
from dataclasses import dataclass

import pytest

from facedata.cli import main


@dataclass
class CliResult:
    code: int
    out: str
    err: str


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> CliResult:
    """Invoke `facedata ARGS` through `main()` so errors render exactly as users see them."""
    old = sys.argv
    sys.argv = ["facedata", *args]
    code = 0
    try:
        main()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        sys.argv = old
    captured = capsys.readouterr()
    return CliResult(code, captured.out, captured.err)
