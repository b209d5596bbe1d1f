"""Face detection and alignment throughput: images per second, per detector.

    python bench/faces.py [--seconds 3] [--detectors retinaface-mnet025,...]

Measures the whole per-sample step a build runs (`process_face`: detect, choose,
align to 112x112) on real face photos at 640x480 and at CelebA's 178x218, on one
core (onnxruntime intra-op threads = 1) and on all cores (one worker process per
core, one thread each, as the build runs them). Dataset-landmark alignment runs
without any detector. Detectors whose weights are not on disk are skipped; see
`facedata doctor`.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.helpers.photos

from facedata.faces import detector_names, detector_status, get_detector, process_face  # noqa: E402
from facedata.manifest import FaceSpec  # noqa: E402

SIZES = [(640, 480), (178, 218)]
DETECT = FaceSpec()
LANDMARKS = FaceSpec(align="landmarks", landmarks=5)


def _images(size: tuple[int, int], n: int = 16) -> list:
    from tests.helpers.photos import face_variant

    return [face_variant(i, size) for i in range(n)]


def _landmarks(images: list, name: str) -> list:
    det = get_detector(name)
    out = []
    for img in images:
        found = det.detect(img)
        out.append(found[0].landmarks.ravel().tolist() if found else None)
    return out


def _run(job: tuple[str | None, tuple[int, int], float]) -> tuple[int, float, int]:
    """One worker: loop over the images for `seconds`; (images, elapsed, aligned)."""
    name, size, seconds = job
    images = _images(size)
    if name is None:
        marks = _landmarks(images, "retinaface-mnet025")
        pairs = [(im, lm) for im, lm in zip(images, marks, strict=True) if lm]

        def step(i: int) -> bool:
            im, lm = pairs[i % len(pairs)]
            return process_face(im, LANDMARKS, lm, None).image is not None
    else:
        det = get_detector(name, threads=1)
        process_face(images[0], DETECT, None, det)  # session creation is not throughput

        def step(i: int) -> bool:
            return process_face(images[i % len(images)], DETECT, None, det).image is not None

    n = aligned = 0
    start = time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        aligned += step(n)
        n += 1
    return n, elapsed, aligned


def measure(name: str | None, size: tuple[int, int], seconds: float, workers: int) -> float:
    if workers == 1:
        n, elapsed, _ = _run((name, size, seconds))
        return n / elapsed
    with ProcessPoolExecutor(workers) as pool:
        results = list(pool.map(_run, [(name, size, seconds)] * workers))
    return sum(n for n, _, _ in results) / max(e for _, e, _ in results)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--detectors", default="", help="comma list; default: every ready one")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = ap.parse_args()
    names = [n for n in args.detectors.split(",") if n] or [
        n for n in detector_names() if detector_status(n)["ready"]
    ]
    import onnxruntime as ort

    cores = os.cpu_count()
    print(f"cores: {cores}  workers for 'all': {args.workers}  onnxruntime {ort.__version__}")
    print(f"{'detector':<22}{'size':>9}{'1 core img/s':>14}{'all cores img/s':>17}")
    for name in [*names, None]:
        label = name or "dataset landmarks"
        for size in SIZES:
            one = measure(name, size, args.seconds, 1)
            many = measure(name, size, args.seconds, args.workers)
            print(f"{label:<22}{size[0]:>5}x{size[1]:<3}{one:>14.1f}{many:>17.1f}", flush=True)


if __name__ == "__main__":
    main()
