"""Suite-wide guards: the suite tests this checkout, and every test file is collected.

A test folder that pytest silently skips (its default ``norecursedirs`` holds ``build``)
is a suite that never runs in CI, so a full run fails when any ``tests/**/test_*.py``
was not collected.
"""

from __future__ import annotations

from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
SRC = TESTS.parent / "src"


def pytest_sessionstart(session: pytest.Session) -> None:
    import facedata

    where = Path(facedata.__file__).resolve()
    if SRC not in where.parents:
        raise pytest.UsageError(
            f"facedata was imported from {where}, not from this checkout's {SRC}; "
            "run pytest from the repository root"
        )


def _is_full_run(session: pytest.Session) -> bool:
    args = [Path(str(a).split("::")[0]).resolve() for a in session.config.args]
    return args == [TESTS] or args == [TESTS.parent]


# test files that skipped themselves while being imported (module-level skip)
_SKIPPED_AT_IMPORT: dict[Path, str] = {}


def pytest_collectreport(report: pytest.CollectReport) -> None:
    if report.skipped and report.nodeid.endswith(".py"):
        longrepr = report.longrepr
        why = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
        _SKIPPED_AT_IMPORT[(TESTS.parent / report.nodeid).resolve()] = why


def pytest_collection_finish(session: pytest.Session) -> None:
    opts = session.config.option
    if not _is_full_run(session) or opts.keyword or opts.markexpr or session.testsfailed:
        return  # a partial run, or collection errors that pytest already reports
    collected = {Path(str(item.path)).resolve() for item in session.items}
    on_disk = {p.resolve() for p in TESTS.rglob("test_*.py")}
    missing = sorted(str(p.relative_to(TESTS.parent)) for p in on_disk - collected)
    skipped = [p for p in missing if (TESTS.parent / p).resolve() in _SKIPPED_AT_IMPORT]
    if skipped:
        raise pytest.UsageError(
            "test files skipped themselves at import (module-level skip or importorskip): "
            + ", ".join(
                f"{p} ({_SKIPPED_AT_IMPORT[(TESTS.parent / p).resolve()]})" for p in skipped
            )
            + "; skip per test instead: `pytestmark = needs(...)` from tests/helpers/extras.py"
        )
    if missing:
        raise pytest.UsageError(
            "test files not collected (check norecursedirs and file names): " + ", ".join(missing)
        )
