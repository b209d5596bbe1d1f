"""`facedata build`: flags or a recipe file in, a corpus folder out."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from .. import storage
from ..errors import BuildError, disk_error
from ..vocabulary import STAGE_TERMS
from .app import ManifestsOpt, app, console
from .progress import build_progress


@app.command()
def build(
    recipe_file: Annotated[
        Path | None,
        typer.Argument(help="A recipe YAML (e.g. output/x/recipe.yaml).", dir_okay=False),
    ] = None,
    datasets: Annotated[
        str | None,
        typer.Option(
            "--datasets", "-d", metavar="IDS", help="Comma-separated ids (id or id:source)."
        ),
    ] = None,
    commercial: Annotated[
        bool,
        typer.Option("--commercial", help="Refuse every source not cleared for commercial use."),
    ] = False,
    out: Annotated[
        Path | None,
        typer.Option("--out", metavar="DIR", help="Corpus folder (default output/corpus)."),
    ] = None,
    overwrite: Annotated[
        bool,
        typer.Option(
            "--overwrite", help="Replace a corpus already at --out that a different build made."
        ),
    ] = False,
    size: Annotated[
        int | None, typer.Option("--size", metavar="PX", help="Aligned face size in pixels.")
    ] = None,
    workers: Annotated[int | None, typer.Option("--workers", help="Worker processes.")] = None,
    detector: Annotated[
        str | None,
        typer.Option("--detector", metavar="NAME", help="Face detector (see `facedata doctor`)."),
    ] = None,
    near_dup_distance: Annotated[
        int | None,
        typer.Option(
            "--near-dup-distance",
            metavar="BITS",
            help="Perceptual-hash Hamming distance that counts as a near duplicate "
            "(0 turns near dedup off; default 4).",
        ),
    ] = None,
    keep_unaligned: Annotated[
        bool | None,
        typer.Option(
            "--keep-unaligned/--drop-unaligned",
            help="Keep rows where no face was found (status whole_frame) or drop them (default).",
            show_default=False,
        ),
    ] = None,
    image_mode: Annotated[
        str | None,
        typer.Option(
            "--image-mode",
            metavar="RGB|L",
            help="One mode for every face: RGB (default; grey sources replicated) or L (grey).",
        ),
    ] = None,
    image_format: Annotated[
        str | None,
        typer.Option("--image-format", metavar="jpeg|png", help="Encoding of the aligned faces."),
    ] = None,
    seed: Annotated[
        int | None,
        typer.Option("--seed", help="Seed of the hash split for sources without their own."),
    ] = None,
    derive_smile: Annotated[
        bool, typer.Option("--derive-smile", help="Fill smile from expression (rows flagged).")
    ] = False,
    official_only: Annotated[
        bool, typer.Option("--official-only", help="Refuse unofficial mirrors.")
    ] = False,
    clearances: Annotated[
        Path | None,
        typer.Option(
            "--clearances", metavar="FILE", help="Clearance file admitting refused sources."
        ),
    ] = None,
    split_ratios: Annotated[
        str | None,
        typer.Option(
            "--split-ratios",
            metavar="T,V,T",
            help="train,validation,test for sources without their own split (default 0.8,0.1,0.1).",
        ),
    ] = None,
    detect_side: Annotated[
        int | None,
        typer.Option(
            "--detect-side",
            metavar="PX",
            help="Detect faces on a copy this long on its longest side (default 320; "
            "0: full size). Boxes and points are mapped back; faces missed are retried at "
            "full size.",
        ),
    ] = None,
    decode_side: Annotated[
        int | None,
        typer.Option(
            "--decode-side",
            metavar="PX",
            help="Decode JPEGs over twice this long at 1/2..1/8 scale where faces are "
            "detected (default 1024; 0: always full size).",
        ),
    ] = None,
    engine: Annotated[
        str | None,
        typer.Option(
            "--engine",
            metavar="local|ray",
            help="Where tasks run: local (this machine's cores) or ray (RAY_ADDRESS, or a "
            "local Ray instance). The corpus is the same.",
        ),
    ] = None,
    label_conflicts: Annotated[
        str | None,
        typer.Option(
            "--label-conflicts",
            metavar="void|first",
            help="Duplicates that disagree on a label: void (default: neither copy trusted) "
            "or first (the first copy's label stands).",
        ),
    ] = None,
    manifests: ManifestsOpt = None,
) -> None:
    """Build a license-filtered, aligned Parquet corpus with its citation bundle.

    Every option can also be set in a recipe file; options given here override it.
    """
    from pydantic import ValidationError

    from ..assemble.pipeline import build as run_build
    from ..assemble.process import for_build_work

    for_build_work()  # this process ends with the build
    from ..assemble.recipe import Recipe, load_recipe

    if recipe_file is None and not datasets:
        raise BuildError("nothing to build", hint="pass --datasets a,b or a recipe YAML file")
    ids = [d.strip() for d in (datasets or "").split(",") if d.strip()]
    if datasets is not None and not ids:
        raise BuildError("--datasets names no dataset", hint="e.g. --datasets genki4k,fer2013")
    base = load_recipe(recipe_file).model_dump() if recipe_file else {}
    overrides = {
        "datasets": ids or None,
        "purpose": "commercial" if commercial else None,
        "out": out,
        "size": size,
        "workers": workers,
        "derive_smile": derive_smile or None,
        "official_only": official_only or None,
        "clearances": clearances,
        "manifests": manifests or None,
        "split_ratios": [r.strip() for r in split_ratios.split(",")] if split_ratios else None,
        "image_mode": image_mode.upper() if image_mode else None,
        "label_conflicts": label_conflicts,
        "detector": detector,
        "near_dup_distance": near_dup_distance,
        "keep_unaligned": keep_unaligned,
        "image_format": image_format,
        "seed": seed,
        "engine": engine,
    }
    for name, side in (("detect_side", detect_side), ("decode_side", decode_side)):
        if side is not None:
            overrides[name] = side or None  # 0: full size
    try:
        sides = ("detect_side", "decode_side")
        given = {k: v for k, v in overrides.items() if v is not None or k in sides}
        recipe = Recipe.model_validate({**base, **given})
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors(include_url=False)
        )
        raise BuildError(
            f"invalid build options: {problems}", hint="see `facedata build --help`"
        ) from None
    # `facedata build CORPUS/recipe.yaml` with no other option is the documented "rebuild
    # exactly": it may replace its own corpus when something it read has changed since
    replay = (
        recipe_file is not None
        and recipe_file.resolve().parent == Path(recipe.out).resolve()
        and all(v is None for v in overrides.values())
    )
    recipe = storage.named(recipe)  # --out s3://... stays a URL, not a path
    argv = ["facedata", *sys.argv[1:]]
    with build_progress(console) as update, storage.build_target(recipe) as target:
        try:
            corpus = run_build(
                target, argv=argv, progress=update, overwrite=overwrite, replay=replay
            )
        except OSError as exc:  # a full disk under --out; the corpus there is left as it was
            raise disk_error(exc, recipe.out, "write the corpus at") from None
    if corpus.get("up_to_date"):
        console.print(
            f"[bold]{escape(str(recipe.out))}[/]: up to date (same recipe, inputs and facedata "
            "version); nothing rebuilt. Pass --overwrite to build it again.",
            highlight=False,
            soft_wrap=True,
        )
        return
    for d in corpus["decisions"]:
        verdict = "[green]admitted[/]" if d["admitted"] else "[red]refused[/]"
        where = escape(f"{d['dataset']} [{d['source']}]")
        console.print(f"{where}: {verdict}: {escape(d['reason'])}")
        for flag in d["flags"] if d["admitted"] else []:
            console.print(f"  [yellow]warning:[/] {escape(flag)}")
    det = corpus.get("detector_decision")
    if det:
        verdict = "[green]admitted[/]" if det["admitted"] else "[red]refused[/]"
        console.print(f"detector {escape(det['name'])}: {verdict}: {escape(det['reason'])}")
    applied = corpus.get("withdrawals_applied") or []
    if applied:
        ids = ", ".join(sorted({w["subject_id"] for w in applied}))
        console.print(f"left out withdrawn subject(s) (erasure ledger): {escape(ids)}")
    for warning in corpus.get("warnings") or []:
        console.print(f"[yellow]warning:[/] {escape(warning)}")
    for ds in corpus["datasets"]:
        if ds.get("file_set"):
            console.print(
                f"{escape(ds['id'])}: read the file set {escape(ds['file_set'])}", highlight=False
            )
        for note in ds.get("notes", []):
            console.print(f"{escape(ds['id'])}: [yellow]note:[/] {escape(note)}", highlight=False)
    c = corpus["counts"]
    splits = ", ".join(f"{k} {v:,}" for k, v in sorted(c["splits"].items()))
    dropped = sum(v["count"] for v in corpus["drops"].values())
    dd = corpus["dedup"]
    console.print(
        f"[bold]{escape(str(recipe.out))}[/]: {c['total']:,} rows ({splits}); "
        f"{dropped:,} dropped; dedup removed {dd['exact']} exact + {dd['near']} near",
        highlight=False,
        soft_wrap=True,
    )
    console.print(f"funnel: {escape(_funnel_line(corpus))}", highlight=False, soft_wrap=True)
    merged, conflicts = sum(dd["merged"].values()), sum(dd["conflicts"].values())
    if merged or conflicts:
        console.print(
            f"duplicates: {merged} labels merged into kept rows, {conflicts} conflicting "
            f"labels ({escape(dd['conflict_policy'] or '')})",
            highlight=False,
            soft_wrap=True,
        )
    console.print(f"license: {escape(corpus['license']['statement'])}")
    console.print(
        f"next: facedata report {escape(_quoted(recipe.out))}   (one HTML page: balance, "
        "drops, licenses, sample faces)",
        highlight=False,
        soft_wrap=True,
    )


STEP_NAMES = {s.name: s.short for s in STAGE_TERMS.values()}


def _funnel_line(corpus: dict) -> str:
    """`read 3,000 - no face 2,500 - exact duplicates 100 = 400 written`."""
    funnel = corpus.get("funnel") or {}
    stages = funnel.get("stages") or {}
    steps = [f" - {STEP_NAMES.get(k, k)} {n:,}" for k, n in stages.items() if n and k != "reader"]
    before = stages.get("reader", 0)
    head = f"{funnel.get('read', 0):,} read" + (
        f" (after {before:,} {STEP_NAMES['reader']}{_reader_reasons(corpus)})" if before else ""
    )
    return f"{head}{''.join(steps)} = {funnel.get('written', 0):,} written"


def _reader_reasons(corpus: dict, shown: int = 3) -> str:
    """`: own-data: consent: no commercial scope 3`: a reader drops for many reasons
    (consent refused, a missing file, a bad label row); the line names the largest."""
    drops = corpus.get("drops") or {}
    found = [
        (str(reason), d["count"])
        for reason, d in drops.items()
        if isinstance(d, dict) and d.get("stage") == "reader" and isinstance(d.get("count"), int)
    ]
    if not found:
        return ""
    found.sort(key=lambda t: (-t[1], t[0]))
    named = "; ".join(f"{reason} {n:,}" for reason, n in found[:shown])
    more = f"; {len(found) - shown} more reasons in corpus.json" if len(found) > shown else ""
    return f": {named}{more}"


def _quoted(path: Path) -> str:
    import shlex

    return shlex.quote(str(path))
