"""Benchmark command start-up: `facedata --help` against `python -c pass`.

Everything a person types starts with the interpreter plus the CLI's imports, so the
CLI imports only typer and rich up front and loads each command's library modules
(pydantic manifests, numpy, pyarrow, requests, onnxruntime) when that command runs.
The target is `facedata --help` under 0.3 s; the baseline is measured in the same
run so a slow or busy machine shows as a slow baseline, not as a regression.

    python bench/startup.py               # 15 runs of each, medians and ratio
    python bench/startup.py --runs 40
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TARGET_S = 0.3

CASES = {
    "python -c pass (baseline)": [sys.executable, "-c", "pass"],
    "python -c 'import typer, rich' (floor)": [sys.executable, "-c", "import typer, rich.console"],
    "facedata --help": [sys.executable, "-m", "facedata", "--help"],
    "facedata --version": [sys.executable, "-m", "facedata", "--version"],
    "facedata build --help": [sys.executable, "-m", "facedata", "build", "--help"],
}


def _time(cmd: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"), COLUMNS="100")
    for cmd in CASES.values():  # warm the page cache and the .pyc files
        _time(cmd, env)
    samples: dict[str, list[float]] = {name: [] for name in CASES}
    for _ in range(args.runs):  # interleaved, so load changes hit every case alike
        for name, cmd in CASES.items():
            samples[name].append(_time(cmd, env))
    base = statistics.median(samples["python -c pass (baseline)"])
    print(f"{'case':<42}{'median':>9}{'min':>9}{'x baseline':>12}{'over baseline':>15}")
    for name, values in samples.items():
        med = statistics.median(values)
        print(f"{name:<42}{med:>8.3f}s{min(values):>8.3f}s{med / base:>11.1f}x{med - base:>14.3f}s")
    help_s = statistics.median(samples["facedata --help"])
    verdict = "meets" if help_s < TARGET_S else "misses"
    print(
        f"\nfacedata --help: {help_s:.3f} s median, {verdict} the {TARGET_S} s target "
        f"({args.runs} runs, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f})"
    )


if __name__ == "__main__":
    main()
