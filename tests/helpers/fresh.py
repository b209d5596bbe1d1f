"""Run Python code in a new interpreter that sees only this checkout's facedata.

For what one process cannot show about itself: which modules an import pulls in,
what runs at interpreter exit, what a child process inherits in its environment.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    """`python -c code` with PYTHONPATH set to src/ and nothing else inherited; it must
    exit 0."""
    return subprocess.run(
        [sys.executable, "-c", code],
        env={"PYTHONPATH": str(SRC), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )
