"""Benchmark the delivery checks on a CelebA-sized tree against one bare os.walk.

`fetch --from` checks a staged tree before publishing it (which required files,
which file set, where the reader's root is), and readers choose their file set the
same way on every build. On a tree of hundreds of thousands of images those lookups
must stay a small multiple of listing the tree once. The tree is made of empty
files (the checks never read contents); the baseline is measured in the same run.

    python bench/deliveries.py                # 200,000 images, CelebA's layout
    python bench/deliveries.py --images 50000
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from facedata.fetch.delivery import completeness  # noqa: E402
from facedata.manifest.catalog import Catalog  # noqa: E402
from facedata.read import markers_for, resolve_root  # noqa: E402


def make_tree(root: Path, images: int) -> None:
    """CelebA without identities, wrapped in a top folder, images already extracted."""
    top = root / "CelebA download"
    img = top / "Img" / "img_align_celeba"
    img.mkdir(parents=True)
    for k in range(1, images + 1):
        (img / f"{k:06d}.jpg").touch()
    for rel in (
        "Anno/list_attr_celeba.txt",
        "Anno/list_landmarks_align_celeba.txt",
        "Eval/list_eval_partition.txt",
    ):
        (top / rel).parent.mkdir(parents=True, exist_ok=True)
        (top / rel).touch()


def timed(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=200_000)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    m = Catalog.load().get("celeba")
    src = m.source("official")
    fmt = m.format_for(src)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        t = time.perf_counter()
        make_tree(root, args.images)
        print(f"tree of {args.images:,} images made in {time.perf_counter() - t:.1f} s")

        def walk() -> None:
            for _ in os.walk(root):
                pass

        def check() -> None:
            state = completeness(root, src, m.required_files(src))
            assert not state.missing, state.missing
            resolve_root(root, fmt.root, m.id, markers_for(fmt.reader, dict(fmt.options)))

        base = timed(walk, args.runs)
        ours = timed(check, args.runs)
    print(f"os.walk over the tree (baseline): {base * 1000:8.1f} ms")
    print(f"delivery check (files, root):     {ours * 1000:8.1f} ms  ({ours / base:.1f}x baseline)")


if __name__ == "__main__":
    main()
