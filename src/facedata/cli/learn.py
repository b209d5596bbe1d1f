"""`facedata train` and `facedata predict`: the consumer side of a corpus.

Both import their libraries (and with them PyTorch / onnxruntime) only when run, so
`facedata --help` and every other command stay torch-free.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from facedata import storage
from facedata.cli.app import app, console
from facedata.cli.options import JsonInsteadFlag, json_flag

# What `live` runs and `export` ships: one declaration of each setting, so the two
# commands take the same flags with the same checks (defaults: learn.stream.LiveSettings).
ThresholdOpt = Annotated[
    float | None,
    typer.Option("--threshold", help="Smile threshold; default: the one picked on validation."),
]
DetectEveryOpt = Annotated[
    int, typer.Option("--detect-every", min=1, help="Run the detector every N frames.")
]
DetectSideOpt = Annotated[
    int, typer.Option("--detect-side", min=0, help="Detect on a copy this long (0: full).")
]
SmoothingOpt = Annotated[
    float, typer.Option("--smoothing", min=0.0, help="EMA time constant, seconds.")
]
HysteresisOpt = Annotated[
    float, typer.Option("--hysteresis", min=0.0, max=0.5, help="Verdict dead band.")
]


@app.command()
def train(
    corpus: Annotated[Path, typer.Argument(help="Corpus folder written by `facedata build`.")],
    out: Annotated[Path, typer.Option("--out", help="Folder for the model and its metrics.")],
    epochs: Annotated[int, typer.Option("--epochs", min=1, help="Passes over train.")] = 10,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1)] = 64,
    lr: Annotated[float, typer.Option("--lr", min=0.0, help="AdamW learning rate.")] = 1e-3,
    width: Annotated[
        int, typer.Option("--width", min=4, max=256, help="Channels of the first conv block.")
    ] = 32,
    device: Annotated[str, typer.Option("--device", help="auto, cpu, cuda or cuda:N.")] = "auto",
    workers: Annotated[int, typer.Option("--workers", min=0, help="DataLoader workers.")] = 0,
    streaming: Annotated[
        bool, typer.Option("--streaming", help="Stream shards instead of holding the split.")
    ] = False,
    max_steps: Annotated[
        int | None, typer.Option("--max-steps", min=1, help="Stop after this many steps.")
    ] = None,
    threads: Annotated[
        int | None, typer.Option("--threads", min=1, help="CPU threads for PyTorch.")
    ] = None,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    heads: Annotated[
        str,
        typer.Option(
            "--heads",
            help="smile,expression (default) or smile: a smile-only model with no emotion "
            "recognition head (see the model card for why that matters).",
        ),
    ] = "smile,expression",
    arch: Annotated[
        str, typer.Option("--arch", help="light (fast, default) or plain (the older, heavier net).")
    ] = "light",
    patience: Annotated[
        int | None,
        typer.Option("--patience", min=1, help="Stop after N epochs without a better val loss."),
    ] = None,
    soft_labels: Annotated[
        bool,
        typer.Option("--soft-labels", help="Expression loss on the corpus's vote shares (FER+)."),
    ] = False,
    cache: Annotated[
        str | None,
        typer.Option(
            "--cache",
            metavar="URL",
            help="A fetch cache (s3://BUCKET/PREFIX) whose withdrawals also refuse the "
            "corpus; FACEDATA_CACHE_URL works too.",
        ),
    ] = None,
) -> None:
    """Train a small dual-head (smile + expression) network on a corpus; export ONNX."""
    from facedata.learn import require_torch

    torch = require_torch()
    from facedata.learn.terms import parse_heads
    from facedata.learn.train import TrainConfig
    from facedata.learn.train import train as run_train

    if threads:
        torch.set_num_threads(_cpu_threads(threads))
    cfg = TrainConfig(
        epochs=epochs,
        batch_size=batch_size,
        lr=lr,
        width=width,
        device=device,
        seed=seed,
        workers=workers,
        streaming=streaming,
        max_steps=max_steps,
        heads=parse_heads(heads),
        arch=_arch(arch),
        patience=patience,
        soft_labels=soft_labels,
    )

    def progress(e: dict) -> None:
        def f(v: float | None) -> str:
            return "-" if v is None else f"{v:.4f}"

        console.print(
            f"epoch {e['epoch']}: train loss smile {f(e['train_smile_loss'])} expression "
            f"{f(e['train_expression_loss'])}; validation smile {f(e['val_smile_loss'])} "
            f"expression {f(e['val_expression_loss'])}",
            highlight=False,
        )

    storage.refuse_keyed(out)  # a URL with keys never becomes a folder name
    with storage.local_corpus(corpus) as staged:
        m = run_train(staged, out, cfg, progress=progress, cache=cache)
    _summary(m, out, soft_labels)
    console.print(
        "wrote model.onnx, model.pt, metrics.json, training.png, README.md (model card)",
        highlight=False,
    )


def _live_settings(
    loaded,  # noqa: ANN001 - a facedata.learn.predict.Model
    threshold: float | None,
    detect_every: int,
    detect_side: int,
    smoothing: float,
    hysteresis: float,
    threads: int = 1,
):  # noqa: ANN202 - a facedata.learn.stream.LiveSettings
    """What `live` runs and `export` ships, in one place: the model's terms and every
    reason to doubt it said first, then the threshold (given, else the one train picked,
    so their verdicts are train's) and the detection and smoothing settings."""
    from facedata.learn.predict import check_threshold, model_threshold
    from facedata.learn.stream import LiveSettings

    _notice(loaded.notice)
    if threshold is None:
        threshold = model_threshold(loaded.meta)
    check_threshold(threshold)
    return LiveSettings(
        threshold=threshold,
        detect_every=detect_every,
        detect_side=detect_side,
        time_constant=smoothing,
        hysteresis=hysteresis,
        threads=threads,
    )


def _cpu_threads(asked: int) -> int:
    """At most one thread per CPU: a `--threads 100000` would have the runtime start a
    hundred thousand threads and hang the machine before the first frame."""
    cpus = os.cpu_count() or 1
    if asked > cpus:
        from facedata.cli.app import console_err

        console_err.print(
            f"[yellow]note:[/] --threads {asked} is more than the {cpus} CPUs here; using {cpus}",
            highlight=False,
        )
    return min(asked, cpus)


def _arch(name: str) -> str:
    from facedata.learn.model import ARCHS
    from facedata.learn.train import TrainError

    if name not in ARCHS:
        raise TrainError(f"unknown --arch {name!r}", hint=f"one of: {', '.join(ARCHS)}")
    return name


def _summary(m: dict, out: Path, soft_labels: bool) -> None:
    """Lead with numbers that cannot flatter: balanced accuracy beside the baseline."""
    from facedata.learn.trust import headline

    stop = m["early_stopping"]
    stopped = (
        f"; stopped early at epoch {stop['stopped_at_epoch']}, kept epoch {stop['best_epoch']}"
        if stop["stopped_at_epoch"]
        else ""
    )
    console.print(
        f"[bold]{escape(str(out))}[/]: {m['steps']} steps in {m['seconds']:.1f}s on "
        f"{m['device']}{stopped}",
        highlight=False,
    )
    for line in headline(m["trust"], m["trained_heads"]):
        console.print(escape(line), highlight=False, soft_wrap=True)
    if soft_labels and not m["soft_labels"]:
        console.print(
            "--soft-labels: the corpus has no expression vote shares; trained on hard labels",
            highlight=False,
        )
    from facedata.learn.notice import inert

    console.print(
        f"terms: {escape(inert(m['terms']['statement']))}", highlight=False, soft_wrap=True
    )


@app.command()
def predict(
    model: Annotated[
        Path, typer.Argument(help="A `facedata train` folder, or its model.onnx / model.pt.")
    ],
    media: Annotated[
        str,
        typer.Argument(
            help="An image or a video file; or a live source (a camera index, a URL, or - "
            "for raw frames on standard input), read by `facedata live`."
        ),
    ],
    threshold: Annotated[
        float | None,
        typer.Option(
            "--threshold",
            help="Smile probability that counts as smiling; default: the one picked on "
            "validation, else 0.8 (as `live` and `export`).",
        ),
    ] = None,
    fps: Annotated[
        float, typer.Option("--fps", min=0.01, help="Video: frames read per second.")
    ] = 1.0,
    whole_frame: Annotated[
        bool,
        typer.Option("--whole-frame", help="The input is already an aligned face crop."),
    ] = False,
    size: Annotated[
        str | None, typer.Option("--size", help="Raw frames on stdin (-): WIDTHxHEIGHT.")
    ] = None,
    stdin_format: Annotated[
        str, typer.Option("--stdin-format", help="Raw frames on stdin: rgb24, bgr24 or gray.")
    ] = "rgb24",
    as_json: JsonInsteadFlag = False,
) -> None:
    """Smile and expression probabilities for the face in an image, or per video frame.

    A live source (camera, URL, `-`) goes to `facedata live`, the streaming predictor,
    with its defaults: one code path for streams, so both commands agree on them."""
    if is_live_source(media):
        live(Path(model), media, threshold=threshold, size=size, stdin_format=stdin_format,
             as_json=as_json)  # fmt: skip
        return
    _predict_file(model, Path(media), threshold, fps, whole_frame, as_json)


def is_live_source(media: str) -> bool:
    """`-`, a camera index or a URL, unless a file of that name is there."""
    if Path(media).is_file():
        return False
    return media == "-" or media.isdigit() or "://" in media


def _predict_file(
    model: Path,
    media: Path,
    threshold: float | None,
    fps: float,
    whole_frame: bool,
    as_json: bool,
) -> None:
    """An image, or a video sampled at `fps`: the readout or JSON."""
    from facedata.learn.predict import (
        Model,
        PredictError,
        Predictor,
        check_threshold,
        is_video,
        model_threshold,
        readout,
        result_json,
        video_readout,
    )

    if threshold is not None:
        check_threshold(threshold)  # a typo is named before any model is read
    if not media.is_file():
        raise PredictError(
            f"no file at {media}",
            hint="pass an image or a video file, or a camera index, a URL or - (raw stdin)",
        )
    loaded = Model(model)
    if threshold is None:  # as `live` and `export`: train's verdict and predict's agree
        threshold = model_threshold(loaded.meta)
    note = loaded.notice
    predictor = Predictor(loaded, whole_frame=whole_frame)
    if not as_json:
        _notice(note)
    if is_video(media):
        summary = predictor.video(media, fps=fps)
        if as_json:
            body = {"model": note.to_json(), "frames": [result_json(r) for r in summary.readings]}
            print(json.dumps(body, indent=2))
            return
        lines = list(video_readout(summary, threshold))
        if not summary.readings:
            raise PredictError(
                f"no face found in any of the {summary.frames} frames sampled from {media}",
                hint="check the video shows a face; try a higher --fps",
            )
    else:
        reading = predictor.image(media)
        if reading is None:
            raise PredictError(
                f"no face found in {media}",
                hint="use a photo with a visible face, or --whole-frame if it is a face crop",
            )
        if as_json:
            print(json.dumps({"model": note.to_json(), **result_json(reading)}, indent=2))
            return
        lines = readout(reading.smile, reading.expression, threshold)
    for line in lines:
        console.print(escape(line), highlight=False, soft_wrap=True)


def _notice(note) -> None:  # noqa: ANN001 - a facedata.learn.notice.Notice
    """The terms banner, then each warning, before any probability: on stderr, like
    every warning, so the readout on stdout keeps its shape for scripts reading it."""
    from facedata.cli.app import console_err

    console_err.print(escape(note.banner), highlight=False, soft_wrap=True)
    for line in note.warnings:
        console_err.print(f"[yellow]warning:[/] {escape(line)}", highlight=False, soft_wrap=True)


@app.command("models")
def models(
    as_json: JsonInsteadFlag = False,
) -> None:
    """List the models trained under this FACEDATA_HOME, with their terms and marks."""
    from facedata.learn.notice import inert, withdrawal_marks
    from facedata.learn.registry import exists, read_models

    entries = read_models()
    rows = []
    for m in entries:
        # what `predict` would say of it: a withdrawal in the ledger or on a fetch cache
        # that no `forget` here marked it for (a forget on another home)
        found, unread = withdrawal_marks(m)
        marked = {k.get("subject_id") for k in m.get("marks") or []}
        more = [k for k in found if k.get("subject_id") not in marked]
        more = list({k.get("subject_id"): k for k in more}.values())
        row = {**m, "marks": [*(m.get("marks") or []), *more], "exists": exists(m)}
        if unread:
            row["warning"] = unread
        rows.append(row)
    if as_json:
        print(json.dumps({"models": rows}, indent=2))
        return
    if not rows:
        console.print("no models registered; `facedata train CORPUS --out DIR` registers one")
        return
    for m in rows:
        state = "" if m["exists"] else " [red](gone)[/]"
        marks = m.get("marks") or []
        flag = f" [red]RETRAIN ({len(marks)} withdrawal(s))[/]" if marks else ""
        console.print(f"[bold]{escape(inert(m['path']))}[/]{state}{flag}", highlight=False)
        console.print(
            f"  trained {escape(inert(m.get('trained')))}; heads "
            f"{escape(inert(', '.join(map(str, m.get('heads') or []))))}; datasets "
            f"{escape(inert(', '.join(map(str, m.get('datasets') or []))))}",
            highlight=False,
        )
        console.print(
            f"  terms: {escape(inert(m.get('banner') or m.get('statement')))}",
            highlight=False,
            soft_wrap=True,
        )
        if m.get("warning"):
            console.print(f"  [yellow]warning:[/] {escape(inert(m['warning']))}", highlight=False)
        for k in marks:
            console.print(
                f"  [yellow]marked:[/] subject {escape(inert(k.get('subject_id')))} withdrew; "
                f"marked {escape(inert(k.get('when')))} by {escape(inert(k.get('by')))}: "
                f"{escape(inert(k.get('action')))}",
                highlight=False,
            )


@app.command()
def live(
    model: Annotated[Path, typer.Argument(help="A `facedata train` folder or its model.onnx.")],
    source: Annotated[
        str,
        typer.Argument(
            help="A camera index (0), a video file, a URL PyAV opens (rtsp://, http://), "
            "or - for raw frames on standard input."
        ),
    ],
    threshold: ThresholdOpt = None,
    detect_every: DetectEveryOpt = 5,
    detect_side: DetectSideOpt = 320,
    smoothing: SmoothingOpt = 0.25,
    hysteresis: HysteresisOpt = 0.05,
    stdin_format: Annotated[
        str, typer.Option("--stdin-format", help="Raw frames on stdin: rgb24, bgr24 or gray.")
    ] = "rgb24",
    size: Annotated[
        str | None, typer.Option("--size", help="Raw frames on stdin: WIDTHxHEIGHT.")
    ] = None,
    every_frame: Annotated[
        bool,
        typer.Option(
            "--every-frame", help="Files and pipes: process every frame, as fast as possible."
        ),
    ] = False,
    max_frames: Annotated[
        int | None, typer.Option("--max-frames", min=1, help="Stop after N processed frames.")
    ] = None,
    threads: Annotated[int, typer.Option("--threads", min=1, help="CPU threads.")] = 1,
    as_json: Annotated[
        bool, json_flag("One JSON line per frame (the default when piped).")
    ] = False,
) -> None:
    """Live smile and expression readout on a camera, stream, file or raw stdin frames."""
    from facedata.learn.readout import final_status, show_live, write_json
    from facedata.learn.sources import open_source
    from facedata.learn.stream import LivePredictor, load_model, run

    m = load_model(model)
    settings = _live_settings(
        m, threshold, detect_every, detect_side, smoothing, hysteresis, _cpu_threads(threads)
    )
    predictor = LivePredictor(m, settings)
    src = open_source(source, raw_format=stdin_format, size=size, every_frame=every_frame)
    results = run(src, predictor, max_frames)
    piped = as_json or not console.is_terminal
    last = write_json(results) if piped else show_live(results, settings.threshold, console)
    torn = _torn_tail(src)
    if last is None:
        from facedata.learn.stream import LiveError

        raise LiveError(
            f"{source} gave no frames" + (f" ({torn})" if torn else ""),
            hint="check --size and --stdin-format" if torn else "check the source plays",
        )
    if piped:
        typer.echo(final_status(last), err=True)
    if torn:
        from facedata.cli.app import console_err

        console_err.print(
            f"[yellow]warning:[/] {escape(torn)}: if the faces were not found, check --size "
            "and --stdin-format",
            highlight=False,
            soft_wrap=True,
        )


def _torn_tail(src: object) -> str | None:
    """Raw frames have no header, so a wrong --size reads sheared frames without an error;
    the only trace is a tail that is not a whole frame. Say it, in bytes."""
    from facedata.learn.sources import RawSource

    if not isinstance(src, RawSource) or not src.partial:
        return None
    w, h = src.size
    return (
        f"standard input ended with {src.partial} bytes, not a whole {w}x{h} "
        f"{src.fmt} frame of {src.frame_bytes} bytes"
    )


@app.command()
def export(
    model: Annotated[Path, typer.Argument(help="A `facedata train` folder or its model.onnx.")],
    out: Annotated[Path, typer.Option("--out", help="Folder for the exported files.")],
    threshold: ThresholdOpt = None,
    detect_every: DetectEveryOpt = 5,
    detect_side: DetectSideOpt = 320,
    smoothing: SmoothingOpt = 0.25,
    hysteresis: HysteresisOpt = 0.05,
) -> None:
    """Detector + classifier ONNX and one JSON an application runs without facedata."""
    from facedata.learn.export import export as run_export
    from facedata.learn.metrics import threshold_text
    from facedata.learn.predict import Model

    settings = _live_settings(
        Model(model), threshold, detect_every, detect_side, smoothing, hysteresis
    )
    doc = run_export(model, out, settings)
    known = doc["terms"].get("known", True)
    console.print(
        f"wrote {escape(str(out))}: detector.onnx, classifier.onnx, facedata-export.json, "
        f"README.md; threshold {threshold_text(doc['threshold'])}",
        highlight=False,
    )
    if known is False:
        console.print(
            "[yellow]terms unknown:[/] the model carries no terms; the export says to treat "
            "it as research only",
            highlight=False,
        )
