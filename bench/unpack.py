"""Benchmark safe unpacking against a bare `zipfile.extractall` of the same archive.

    python bench/unpack.py                  # 20,000 members of 4 KiB
    python bench/unpack.py --members 2000   # quicker

facedata checks every member (names, links, duplicates, budget, ratio) and creates
each file new without following links; the bare extraction does none of that. The
ratio printed is facedata time / bare time, measured in the same run (best of
--repeat, alternating).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from facedata.fetch.unpack import unpack  # noqa: E402


def make_zip(path: Path, members: int, size: int) -> None:
    data = os.urandom(size)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        for i in range(members):
            zf.writestr(f"img/{i % 50:02d}/{i:06d}.jpg", data)


def timed(fn) -> float:  # noqa: ANN001
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--members", type=int, default=20_000)
    ap.add_argument("--size", type=int, default=4096)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        archive = work / "a.zip"
        make_zip(archive, args.members, args.size)
        best_ours = best_bare = float("inf")
        for i in range(args.repeat):
            ours, bare = work / f"ours{i}", work / f"bare{i}"
            best_ours = min(best_ours, timed(lambda: unpack(archive, ours)))  # noqa: B023
            with zipfile.ZipFile(archive) as zf:
                best_bare = min(best_bare, timed(lambda: zf.extractall(bare)))  # noqa: B023
            shutil.rmtree(ours)
            shutil.rmtree(bare)
    n = args.members
    print(f"archive: {n:,} members of {args.size:,} B, best of {args.repeat}")
    print(f"facedata unpack:    {best_ours:6.2f} s  ({n / best_ours:,.0f} members/s)")
    print(f"zipfile.extractall: {best_bare:6.2f} s  ({n / best_bare:,.0f} members/s)")
    print(f"ratio facedata/bare: {best_ours / best_bare:.2f}")


if __name__ == "__main__":
    main()
