"""Live readout throughput: end-to-end frames/s and per-frame latency, against the bare
detector + classifier loop measured in the same run.

    python bench/predict.py [--seconds 4] [--cores 1,2] [--sizes 640x480,1280x720]
                            [--archs light,plain]

Frames: real face photos (astronaut, grace_hopper, jittered; tests/helpers/photos.py)
scaled to each frame size, held in memory, so the source's decoding is left out of
both loops alike. Per frame size, core count and classifier architecture (an
untrained network of that architecture at 112x112, exported to ONNX as `facedata
train` exports it: speed does not depend on the weights):

  * bare: on every frame, RetinaFace at full size, align each face (five points,
    one warp), classify the faces with onnxruntime: what a loop without the live
    predictor's tricks costs;
  * live: `facedata live`'s LivePredictor (detection on a 320 px copy every 5 frames,
    IoU tracking between, batched classifier, smoothing), frame after frame.

Each is reported as frames/s and p50/p95 per-frame latency (processing time). A core
count runs in its own process pinned to that many cores (sched_setaffinity), with
onnxruntime and OpenCV limited to as many threads. Target: live >= 60 frames/s at
640x480 on one core with p95 < 33 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]


def make_model(folder: Path, arch: str) -> Path:
    import torch

    from facedata.learn.model import DualHeadNet
    from facedata.learn.train import export_onnx

    torch.manual_seed(0)
    net = DualHeadNet(3, 8, 32, arch).eval()
    names = ["neutral", "happy", "sad", "surprise", "fear", "disgust", "anger", "contempt"]
    meta = {
        "labels": {"smile": ["no_smile", "smile"], "expression": names},
        "image": {"mode": "RGB", "size": 112, "channels": 3},
        "detector": "retinaface-mnet025",
        "heads": ["smile", "expression"],
    }
    folder.mkdir(parents=True, exist_ok=True)
    export_onnx(net, folder / "model.onnx", meta, 112)
    return folder


def frames(size: tuple[int, int], n: int = 8) -> list[np.ndarray]:
    from tests.helpers.photos import face_variant

    return [np.asarray(face_variant(i, size)) for i in range(n)]


def timed(step, items: list, seconds: float) -> dict[str, float]:
    """Run `step` over `items` cyclically for `seconds`; frames/s and latency."""
    for item in items[:2]:
        step(item)  # warm up sessions
    lat, start, i = [], time.perf_counter(), 0
    while time.perf_counter() - start < seconds:
        t = time.perf_counter()
        step(items[i % len(items)])
        lat.append((time.perf_counter() - t) * 1000)
        i += 1
    total = time.perf_counter() - start
    return {
        "fps": len(lat) / total,
        "p50_ms": float(np.percentile(lat, 50)),
        "p95_ms": float(np.percentile(lat, 95)),
        "frames": len(lat),
    }


def worker(args: argparse.Namespace) -> None:
    cores = args.worker
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, set(sorted(os.sched_getaffinity(0))[:cores]))
    from facedata.faces import get_detector
    from facedata.faces.align import align, opencv
    from facedata.learn.predict import Model
    from facedata.learn.sources import Frame
    from facedata.learn.stream import Classifier, LivePredictor, LiveSettings

    opencv().setNumThreads(cores)
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        for arch in args.archs.split(","):
            model = Model(make_model(Path(tmp) / arch, arch))
            for text in args.sizes.split(","):
                w, h = (int(v) for v in text.split("x"))
                imgs = frames((w, h))
                det = get_detector("retinaface-mnet025", threads=cores)
                clf = Classifier(model, cores)

                def bare(img: np.ndarray, det=det, clf=clf, model=model) -> None:
                    from PIL import Image

                    pil = Image.fromarray(img)
                    faces = [align(pil, d.landmarks, 112, pixels=img)[0] for d in det.detect(pil)]
                    if faces:
                        clf(np.stack([model.array(f) for f in faces]))

                live = LivePredictor(model, LiveSettings(threads=cores), det, clf)
                counter = iter(range(10**9))

                def step(img: np.ndarray, live=live, counter=counter) -> None:
                    n = next(counter)
                    live.process(Frame(n, n / 30, img, time.monotonic()))

                for name, fn in (("bare", bare), ("live", step)):
                    r = timed(fn, imgs, args.seconds)
                    out.append({"arch": arch, "size": text, "cores": cores, "loop": name, **r})
    print(json.dumps(out))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--cores", default="1,2")
    parser.add_argument("--sizes", default="640x480,1280x720")
    parser.add_argument("--archs", default="light,plain")
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return
    rows = []
    for cores in (int(c) for c in args.cores.split(",")):
        cmd = [sys.executable, __file__, "--worker", str(cores), "--seconds", str(args.seconds)]
        cmd += ["--sizes", args.sizes, "--archs", args.archs]
        env = {**os.environ, "OMP_NUM_THREADS": str(cores)}
        res = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True)
        rows += json.loads(res.stdout.strip().splitlines()[-1])
    print(f"{'classifier':<10} {'frame':<10} {'cores':>5}  {'loop':<5} {'frames/s':>9} "
          f"{'p50 ms':>7} {'p95 ms':>7}  vs bare")  # fmt: skip
    for r in rows:
        key = (r["arch"], r["size"], r["cores"], "bare")
        base = next(b for b in rows if (b["arch"], b["size"], b["cores"], b["loop"]) == key)
        print(
            f"{r['arch']:<10} {r['size']:<10} {r['cores']:>5}  {r['loop']:<5} {r['fps']:>9.1f} "
            f"{r['p50_ms']:>7.2f} {r['p95_ms']:>7.2f}  x{r['fps'] / base['fps']:.1f}"
        )
    target = [r for r in rows if r["arch"] == "light" and r["size"] == "640x480"
              and r["cores"] == 1 and r["loop"] == "live"]  # fmt: skip
    if target:
        t = target[0]
        ok = t["fps"] >= 60 and t["p95_ms"] < 33
        print(
            f"target (light, 640x480, 1 core, live: >= 60 frames/s, p95 < 33 ms): "
            f"{'met' if ok else 'NOT met'} ({t['fps']:.1f} frames/s, p95 {t['p95_ms']:.1f} ms)"
        )


if __name__ == "__main__":
    main()
