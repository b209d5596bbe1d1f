"""Detection path throughput per core: full-size detection against a reduced copy.

    python bench/faces.py [--seconds 3] [--detectors retinaface-mnet025,blazeface-full]
                          [--sides 480,320]

Measures what a build runs per detected sample, from JPEG bytes: decode (JPEG draft
mode for photos over twice `decode_side`), detect (full size, or on a copy whose
longest side is `--sides`, with the full-size fallback), choose the face, align to
112x112. One process, one runtime thread: images per CPU-second (per core), on
the 16 photos (`photos/s`) and on the 12 small pasted faces (`small/s`, where a
reduced copy that misses a face pays for the full-size retry). Each row also
counts, over a fixed set of images, the images where a face was found and the faces
found in all, so a reduced copy that loses faces shows it; and how far its five
points lie from the full-size ones (median and worst, in eye distances).

The image set per frame size: 16 real-face photos (astronaut, grace_hopper,
jittered) scaled to the frame, and 12 lfw_subset faces pasted at 100 px and 50 px
into a grey frame (the 50 px ones test the smallest faces a reduced copy keeps).
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]  # this checkout's facedata; tests.helpers

from facedata.faces import (  # noqa: E402
    decode_scaled,
    detector_names,
    detector_status,
    get_detector,
    process_face,
)
from facedata.manifest.schema import FaceSpec  # noqa: E402

SIZES = [(640, 480), (1280, 720), (4032, 3024)]
DETECT = FaceSpec()
DECODE_SIDE = 1024


def _jpeg(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=90)
    return buf.getvalue()


def image_set(size: tuple[int, int]) -> list[bytes]:
    from skimage import data

    from tests.helpers.photos import face_variant

    out = [_jpeg(face_variant(i, size)) for i in range(16)]
    lfw = data.lfw_subset()
    for i in range(12):
        face = Image.fromarray((lfw[i] * 255).astype(np.uint8)).convert("RGB")
        px = 100 if i % 2 == 0 else 50
        canvas = Image.new("RGB", size, (96, 104, 112))
        canvas.paste(face.resize((px, px), Image.Resampling.BICUBIC), (size[0] // 3, size[1] // 3))
        out.append(_jpeg(canvas))
    return out


def step(raw: bytes, det, side: int | None, draft: int | None):
    img, factor = decode_scaled(raw, draft_side=draft)
    return process_face(img, DETECT, None, det, detect_side=side).scaled(factor)


def rate(images: list[bytes], det, side: int | None, draft: int | None, seconds: float) -> float:
    step(images[0], det, side, draft)  # session creation is not throughput
    n = 0
    start, cpu = time.perf_counter(), time.process_time()
    while time.perf_counter() - start < seconds:
        step(images[n % len(images)], det, side, draft)
        n += 1
    # CPU seconds, not wall: on a shared machine other jobs stretch wall time,
    # and images per CPU-second of one single-threaded process is "per core"
    return n / (time.process_time() - cpu)


def found(images: list[bytes], det, side: int | None, draft: int | None) -> list:
    return [step(raw, det, side, draft) for raw in images]


def deviation(ref: list, got: list) -> tuple[float, float]:
    """Median and worst distance of five points from the reference, in eye distances."""
    errs = []
    for a, b in zip(ref, got, strict=True):
        if a.landmarks is None or b.landmarks is None:
            continue
        pa = np.asarray(a.landmarks).reshape(5, 2)
        pb = np.asarray(b.landmarks).reshape(5, 2)
        eye = float(np.linalg.norm(pa[1] - pa[0])) or 1.0
        errs.append(float(np.linalg.norm(pa - pb, axis=1).max()) / eye)
    return (statistics.median(errs), max(errs)) if errs else (float("nan"), float("nan"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--detectors", default="", help="comma list; default: every ready one")
    ap.add_argument("--sides", default="480,320", help="reduced-copy longest sides to try")
    args = ap.parse_args()
    names = [n for n in args.detectors.split(",") if n] or [
        n
        for n in detector_names()
        if detector_status(n)["ready"] and n in ("retinaface-mnet025", "blazeface-full")
    ]
    sides = [int(s) for s in args.sides.split(",") if s]
    import onnxruntime as ort

    print(f"onnxruntime {ort.__version__}; one process, one runtime thread (per core)")
    header = (
        f"{'detector':<20}{'frame':>10}{'detect at':>10}{'photos/s':>10}{'x full':>8}"
        f"{'small/s':>9}{'imgs w/ face':>14}{'faces':>6}{'pts dev med/max':>17}"
    )
    print(header)
    for name in names:
        det = get_detector(name, threads=1)
        fixed = getattr(det, "input_side", None)
        for size in SIZES:
            images = image_set(size)
            photos, small = images[:16], images[16:]
            draft = DECODE_SIDE
            label = f"{size[0]}x{size[1]}"
            ref = found(images, det, None, draft)
            base = rate(photos, det, None, draft, args.seconds)
            for side in [None] if fixed else [None, *sides]:
                res = ref if side is None else found(images, det, side, draft)
                r = base if side is None else rate(photos, det, side, draft, args.seconds)
                r_small = rate(small, det, side, draft, args.seconds / 2)
                faces = sum(f.faces_found or (1 if f.image is not None else 0) for f in res)
                with_face = sum(f.image is not None for f in res)
                lost = sum(
                    a.image is not None and b.image is None for a, b in zip(ref, res, strict=True)
                )
                med, worst = deviation(ref, res)
                where = f"model {fixed}" if fixed else ("full" if side is None else str(side))
                print(
                    f"{name:<20}{label:>10}{where:>10}{r:>10.1f}{r / base:>7.2f}x{r_small:>9.1f}"
                    f"{with_face:>9}/{len(images):<4}{faces:>6}"
                    f"{med:>9.3f}/{worst:.3f}" + (f"  LOST {lost}" if lost else ""),
                    flush=True,
                )


if __name__ == "__main__":
    main()
