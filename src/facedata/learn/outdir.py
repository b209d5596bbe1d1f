"""The rule for an `--out` folder that training or export replaces whole.

Both write a new folder and rename it over the old one, so the old one must be
either absent, empty, or a folder the same command wrote before (known by its
marker file); anything else is someone's data and is refused, never replaced.
"""

from __future__ import annotations

from pathlib import Path

from facedata.errors import FacedataError


def check_replaceable(
    out: Path,
    marker: str,
    error: type[FacedataError],
    *,
    holds: str,
    kind: str,
    example: str = "",
) -> None:
    """Refuse `out` unless it is absent, empty, or holds `marker` (it is a `kind`).

    `error` is the command's own error type, `holds` what the folder is for (the hint
    of a file given as --out), `example` a folder the hint suggests.
    """
    if not out.exists():
        return
    if not out.is_dir():
        raise error(f"--out {out} is a file", hint=f"pick a folder for the {holds}")
    if any(out.iterdir()) and not (out / marker).is_file():
        raise error(
            f"--out {out} holds files but no {marker}: it is not a facedata {kind}",
            hint="pick a new or empty folder" + (f" (e.g. {example})" if example else ""),
        )
