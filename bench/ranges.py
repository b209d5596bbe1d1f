"""What the build's driver spends per FER row, with the CSV read in ranges by the
workers and read on the driver, and how its memory grows with the corpus.

Measured in the same run (a generated FER2013-style CSV, every row distinct):
  * cutting the CSV (read/cuts.py: the driver's whole share of reading it in ranges)
    against reading it whole (`read_source`: tokenizing every row), in the driver,
    alone: microseconds per row and the ratio
  * a 2-worker build of N rows, ranges on and off: the driver process's own CPU time
    per row (its children, the workers, excluded) and the ratio
  * the driver's peak RSS at two sizes (--small, --large rows, ranges on): per row,
    and the growth per added row, to show the merge's memory per row stays flat

Never a timed assertion: figures and ratios to read. On a shared machine wall time
varies; the driver's CPU time per row much less.

    python bench/ranges.py                       # 100k rows, RSS at 50k and 200k
    python bench/ranges.py --rows 20000 --small 10000 --large 40000   # a quick run
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

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

USAGE = ["Training"] * 8 + ["PublicTest", "PrivateTest"]


def make_csv(path: Path, n: int) -> None:
    """n FER rows of real face pixels, every row's bytes distinct (three pixels carry
    the row number), so dedup keeps them all and the merge holds every row."""
    import numpy as np

    from tests.helpers.photos import face_variant

    pool = []
    for i in range(64):
        px = np.asarray(face_variant(i, (48, 48), "L"), dtype=np.uint8).ravel()
        pool.append(" ".join(map(str, px[3:])))
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as fh:
        fh.write("emotion,pixels,Usage\n")
        for i in range(n):
            head = f"{i % 256} {(i >> 8) % 256} {(i >> 16) % 256}"
            fh.write(f"{i % 7},{head} {pool[i % 64]},{USAGE[i % 10]}\n")


RUNNER = r"""
import json, resource, sys, time
from pathlib import Path
import facedata.assemble.pipeline as pipeline
from facedata.assemble.pipeline import build
from facedata.assemble.recipe import Recipe
recipe, parts = Path(sys.argv[1]), sys.argv[2] == "1"
pipeline.READ_IN_PARTS = parts
r = Recipe.model_validate(json.loads(recipe.read_text()))
t0 = time.perf_counter()
c = build(r)
me = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"cpu": me.ru_utime + me.ru_stime, "maxrss_kb": me.ru_maxrss,
                  "seconds": time.perf_counter() - t0, "rows": c["counts"]["total"],
                  "read": c["counts"]["read"]}))
"""


def prepare(work: Path, n: int, env: dict[str, str]) -> str:
    """The CSV of n rows fetched as its own dataset; the dataset id."""
    from tests.helpers.manifests import write_local_copy

    ds = f"bench-fer-{n}"
    data = work / "data" / ds
    if not (data / "fer2013" / "fer2013.csv").exists():
        make_csv(data / "fer2013" / "fer2013.csv", n)
    write_local_copy(
        work / "manifests", "fer2013", ds, "the benchmark", faces={"align": "precropped"}
    )
    code = (
        "from pathlib import Path; from facedata.manifest.catalog import Catalog; "
        "from facedata.fetch import fetch_dataset; cat = Catalog.load(); "
        f"fetch_dataset(cat.get({ds!r}), from_path=Path({str(data)!r}))"
    )
    subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True)
    return ds


def build_measured(work: Path, env: dict[str, str], ds: str, parts: bool, workers: int) -> dict:
    """A build in a process of its own: the driver's CPU seconds and peak RSS."""
    tag = f"{ds}-{'parts' if parts else 'driver'}"
    recipe = work / f"recipe-{tag}.json"
    recipe.write_text(
        json.dumps(
            {
                "datasets": [ds],
                "out": str(work / f"corpus-{tag}"),
                "workers": workers,
                "near_dup_distance": 0,
            }
        )
    )
    cmd = [sys.executable, "-c", RUNNER, str(recipe), "1" if parts else "0"]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"build {tag} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def driver_share(work: Path, env: dict[str, str], ds: str) -> tuple[float, float, int]:
    """(µs per row reading whole, µs per row cutting, rows), in a fresh process."""
    code = r"""
import json, sys, time
from facedata.manifest.catalog import Catalog
from facedata.fetch.core import fetched
from facedata.read import read_source, source_parts
cat = Catalog.load(); m = cat.get(sys.argv[1]); src = m.sources[0]
root = fetched(m, src.id).root
t0 = time.process_time(); n = sum(1 for _ in read_source(m, src, root, defer_pixels=True))
whole = time.process_time() - t0
t0 = time.process_time(); _, parts = source_parts(m, src, root, 256, defer_pixels=True)
cut = time.process_time() - t0
print(json.dumps({"whole": whole, "cut": cut, "rows": n, "parts": len(parts)}))
"""
    done = subprocess.run([sys.executable, "-c", code, ds], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"driver share failed:\n{done.stderr[-3000:]}")
    r = json.loads(done.stdout.strip().splitlines()[-1])
    n = max(r["rows"], 1)
    print(f"  ({r['parts']} ranges of about 256 rows)")
    return r["whole"] / n * 1e6, r["cut"] / n * 1e6, n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=100_000, help="rows for the CPU comparison")
    ap.add_argument("--small", type=int, default=50_000, help="rows of the smaller RSS run")
    ap.add_argument("--large", type=int, default=200_000, help="rows of the larger RSS run")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--work", type=Path, default=None, help="keep data here (default: temp)")
    args = ap.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="facedata-ranges-"))
    env = {
        **os.environ,
        "FACEDATA_HOME": str(work / "home"),
        "FACEDATA_MANIFESTS": str(work / "manifests"),
        "PYTHONPATH": f"{REPO / 'src'}{os.pathsep}{REPO}",
    }
    t0 = time.perf_counter()
    ds = prepare(work, args.rows, env)
    print(f"data: {args.rows:,} rows ready in {time.perf_counter() - t0:.1f}s ({work})")

    print("\nthe driver's share of reading the CSV, alone (CPU µs per row):")
    whole, cut, n = driver_share(work, env, ds)
    print(f"  read whole on the driver  {whole:8.2f}")
    print(f"  cut into ranges           {cut:8.2f}   ({cut / whole:.3f}x)")

    print(f"\na {args.workers}-worker build of {n:,} rows, the driver's own CPU (µs per row):")
    base = build_measured(work, env, ds, parts=False, workers=args.workers)
    rng = build_measured(work, env, ds, parts=True, workers=args.workers)
    assert base["rows"] == rng["rows"], (base, rng)
    b_us, r_us = base["cpu"] / n * 1e6, rng["cpu"] / n * 1e6
    print(f"  read on the driver  {b_us:8.1f}   (build {base['seconds']:.1f}s)")
    print(f"  read in ranges      {r_us:8.1f}   (build {rng['seconds']:.1f}s)   {r_us / b_us:.3f}x")

    print("\nthe driver's peak RSS, ranges on:")
    peaks = {}
    for size in (args.small, args.large):
        t0 = time.perf_counter()
        d = prepare(work, size, env)
        r = build_measured(work, env, d, parts=True, workers=args.workers)
        peaks[size] = r["maxrss_kb"] * 1024
        print(
            f"  {size:>9,} rows  {peaks[size] / 2**20:8.1f} MiB  "
            f"{peaks[size] / size:8.0f} B/row   ({time.perf_counter() - t0:.0f}s)"
        )
    grow = (peaks[args.large] - peaks[args.small]) / (args.large - args.small)
    print(f"  growth per added row: {grow:.0f} B")


if __name__ == "__main__":
    main()
