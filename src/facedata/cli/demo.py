"""`facedata demo`: see the main job work, offline, before fetching anything."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from facedata.cli.app import app, console
from facedata.cli.progress import build_progress

if TYPE_CHECKING:
    from facedata.demo import DemoResult

DEFAULT_OUT = Path("facedata-demo")


@app.command()
def demo(
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            metavar="DIR",
            help="A new folder for everything the demo writes.",
            file_okay=False,
        ),
    ] = DEFAULT_OUT,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace an earlier demo in --out.")
    ] = False,
) -> None:
    """Build a corpus and its report from a small offline sample (GENKI-4K layout).

    The sample is 102 real face photos shipped inside the scikit-image and matplotlib
    wheels, with illustrative smile labels; its manifest says so, with its terms.
    """
    from facedata.demo import run_demo

    def say(message: str) -> None:
        console.print(f"[dim]·[/] {escape(message)}", highlight=False, soft_wrap=True)

    with build_progress(console, "demo build", closing=False) as update:
        result = run_demo(out, overwrite=overwrite, say=say, progress=update)
    _summary(result)


def _summary(result: DemoResult) -> None:
    """What was written, then the next commands, each runnable from the demo folder."""
    from facedata.demo import DATASET_ID, OWN_ID, PARTICIPANTS

    c = result.record["counts"]
    splits = ", ".join(f"{k} {v:,}" for k, v in sorted(c["splits"].items()))
    q = shlex.quote
    rows = [
        ("sample", f"{result.tar.name}  ({result.images} faces, {result.smiles} smiling)"),
        (
            "own data",
            f"{OWN_ID}/  ({len(PARTICIPANTS)} participants: consent.csv, annotations.csv)",
        ),
        ("manifests", "manifests/  (the sample's and the participants')"),
        ("cache", "cache/  (the demo's own, found through facedata.toml; yours is untouched)"),
        ("corpus", f"corpus/  (research: {c['total']:,} rows: {splits})"),
    ]
    if result.commercial_record is not None:
        cc = result.commercial_record["counts"]
        subjects = _subjects(result.commercial)
        rows.append(
            (
                "commercial",
                f"commercial/  ({cc['total']:,} rows from {', '.join(subjects) or 'nobody'}; "
                f"the sample and research-only consent refused)",
            )
        )
    rows.append(("report", str(result.report.relative_to(result.root))))
    console.print(f"\n[bold green]demo corpus built[/] in {escape(str(result.root))}")
    for name, text in rows:
        console.print(f"  {name:<11}{escape(text)}", highlight=False, soft_wrap=True)
    for p in PARTICIPANTS:
        console.print(
            f"  [dim]{p.subject_id}  {p.scopes:<32} {escape(p.story)}[/]",
            highlight=False,
            soft_wrap=True,
        )
    console.print(
        "  the labels are illustrative and the sample is research data: see "
        f"`facedata info {DATASET_ID}` and {OWN_ID}/README.txt",
        highlight=False,
        soft_wrap=True,
    )
    console.print("\n[bold]next[/] (from inside the demo folder)")
    photo = next(iter(sorted((result.own or result.root).glob("images/*.jpg"))), None)
    photo_arg = q(str(photo.relative_to(result.root))) if photo else "photo.jpg"
    steps = [
        (f"cd {q(str(result.root))}", "its facedata.toml points every command at its own cache"),
        (result.report.as_uri(), "the report, in a browser: funnel, balance, consent, faces"),
        ("facedata inspect own-data", "per-class / per-split counts of the participants"),
        (
            "facedata forget --subject P03 --by you@example.org corpus commercial",
            "P03 withdraws: their rows leave both corpora, and the erasure is logged",
        ),
        (
            f"facedata build --commercial --datasets {DATASET_ID},{OWN_ID} "
            "--clearances clearances.yaml --out commercial --overwrite",
            "rebuild for commercial use: P03 stays out, P02 (research only) too",
        ),
        ("facedata report commercial", "its report: who was admitted, who was refused, and why"),
        *_trainer_install(),
        ("facedata train corpus --out models/demo --epochs 3", "both heads: smile and expression"),
        (
            f"facedata predict models/demo {photo_arg}",
            "the readout for one photo",
        ),
        ("cd ..", "back to your own cache: the real data never goes into the demo's"),
        ("facedata list", "the real datasets, their licenses and access"),
        ("facedata fetch genki4k", "the real GENKI-4K (or --from genki4k.tar offline)"),
        ("facedata build --datasets genki4k --out output/smile-v1", "your first real corpus"),
    ]
    for cmd, why in steps:
        console.print(f"  {escape(cmd)}", highlight=False, soft_wrap=True)
        console.print(f"      [dim]{escape(why)}[/]", highlight=False)


def _trainer_install() -> list[tuple[str, str]]:
    """The install line for `train` / `predict`, runnable from the demo folder; none
    when PyTorch is already importable."""
    import importlib.util

    if importlib.util.find_spec("torch") and importlib.util.find_spec("onnx"):
        return []
    checkout = Path(__file__).resolve().parents[3]
    target = (
        shlex.quote(f"{checkout}[torch]")
        if (checkout / "pyproject.toml").is_file()
        else '"facedata[torch]"'
    )
    editable = "-e " if (checkout / "pyproject.toml").is_file() else ""
    return [
        (
            f"pip install torch==2.13.0 && pip install {editable}{target}",
            "the trainer side, once (the CPU build of PyTorch)",
        )
    ]


def _subjects(corpus: Path | None) -> list[str]:
    if corpus is None:
        return []
    from facedata.corpus import iter_rows

    return sorted({r["subject_id"] for r in iter_rows(corpus, ("subject_id",)) if r["subject_id"]})
