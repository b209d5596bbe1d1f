"""Benchmark command start-up: `facedata --help`, `list`, `info`, `doctor` against `python -c pass`.

Everything a person types starts with the interpreter plus the CLI's imports, so the
CLI imports only typer and rich up front and loads each command's library modules
(pydantic manifests, numpy, pyarrow, requests, onnxruntime) when that command runs.
The target is 0.3 s for `--help` and for every command that only reads manifests
(`list`, `info`, `doctor`: the reader and download stacks stay unimported); the
baseline is measured in the same run so a slow or busy machine shows as a slow
baseline, not as a regression. Each command runs against an empty FACEDATA_HOME.

    python bench/startup.py               # 15 runs of each, medians and ratio
    python bench/startup.py --runs 40
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
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
    "facedata list": [sys.executable, "-m", "facedata", "list"],
    "facedata info genki4k": [sys.executable, "-m", "facedata", "info", "genki4k"],
    "facedata doctor": [sys.executable, "-m", "facedata", "doctor"],
}
# the commands held to TARGET_S
TARGETED = ("facedata --help", "facedata list", "facedata info genki4k", "facedata doctor")


def _time(cmd: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument(
        "--before",
        type=Path,
        metavar="SRC",
        help="also time the targeted commands from another checkout's src/ (before/after)",
    )
    args = parser.parse_args()
    cases = dict(CASES)
    if args.before:
        code = f"import sys; sys.path.insert(0, {str(args.before.resolve())!r}); " + (
            "sys.argv[0] = 'facedata'; from facedata.cli import main; main()"
        )
        for name in TARGETED:
            cases[f"{name} (before)"] = [sys.executable, "-c", code, *CASES[name][3:]]
    home = tempfile.mkdtemp(prefix="facedata-startup-")
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"), COLUMNS="100", FACEDATA_HOME=home)
    for cmd in cases.values():  # warm the page cache and the .pyc files
        _time(cmd, env)
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(args.runs):  # interleaved, so load changes hit every case alike
        for name, cmd in cases.items():
            samples[name].append(_time(cmd, env))
    base = statistics.median(samples["python -c pass (baseline)"])
    print(f"{'case':<42}{'median':>9}{'min':>9}{'x baseline':>12}{'over baseline':>15}")
    for name, values in samples.items():
        med = statistics.median(values)
        print(f"{name:<42}{med:>8.3f}s{min(values):>8.3f}s{med / base:>11.1f}x{med - base:>14.3f}s")
    print(f"\n{args.runs} runs, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}")
    # On a shared machine load only ever adds time: the best run is the command's own cost.
    for name in TARGETED:
        best = min(samples[name])
        verdict = "meets" if best < TARGET_S else "misses"
        print(
            f"{name}: best {best:.3f} s, median {statistics.median(samples[name]):.3f} s "
            f"(baseline best {min(samples['python -c pass (baseline)']):.3f} s): "
            f"{verdict} the {TARGET_S} s target"
        )


if __name__ == "__main__":
    main()
