"""Benchmark `facedata fetch` over loopback: throughput against curl, and resume cost.

    python bench/fetch.py               # 512 MB
    python bench/fetch.py --size-mb 64  # quicker

1. Throughput: the same file from the same local server, fetched by facedata (which
   also hashes and publishes it) and by `curl -o` in the same run; ratio = facedata
   rate / curl rate (target >= 0.9). Best of --repeat runs each, alternating.
2. Resume: the server cuts the connection at 50% and refuses the next requests, so
   the fetch fails; the next fetch must transfer only the remaining half (target:
   at most 1 MB more than that).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from facedata.errors import FetchError  # noqa: E402
from facedata.fetch import fetch_dataset  # noqa: E402
from facedata.manifest.schema import Manifest  # noqa: E402
from tests.fetch.conftest import write_manifest  # noqa: E402
from tests.helpers.servers import drop_after, serve_files, status  # noqa: E402

MB = 1024 * 1024


def make_file(path: Path, size: int) -> None:
    block = os.urandom(4 * MB)
    with open(path, "wb") as fh:
        left = size
        while left > 0:
            fh.write(block[: min(left, len(block))])
            left -= len(block)


def manifest(folder: Path, url: str) -> Manifest:
    files = [{"name": "big.bin", "url": f"{url}/big.bin", "unpack": False}]
    return write_manifest(
        folder, "bench", [{"id": "http", "kind": "http", "official": True, "files": files}]
    )


def fresh_home(work: Path) -> None:
    home = work / "cache"
    shutil.rmtree(home, ignore_errors=True)
    os.environ["FACEDATA_HOME"] = str(home)


def time_facedata(m: Manifest, work: Path) -> float:
    fresh_home(work)
    t = time.perf_counter()
    fetch_dataset(m)
    return time.perf_counter() - t


def time_curl(url: str, out: Path) -> float:
    out.unlink(missing_ok=True)
    t = time.perf_counter()
    subprocess.run(["curl", "-sS", "--fail", "-o", str(out), f"{url}/big.bin"], check=True)
    elapsed = time.perf_counter() - t
    out.unlink()
    return elapsed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size-mb", type=int, default=512)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    if shutil.which("curl") is None:
        sys.exit("curl is not installed; it is the reference")
    size = args.size_mb * MB
    os.environ["NO_PROXY"] = "127.0.0.1,localhost"
    with tempfile.TemporaryDirectory(prefix="facedata-bench-") as tmp:
        work = Path(tmp)
        src = work / "big.bin"
        make_file(src, size)
        with serve_files({"big.bin": src}) as url:
            m = manifest(work / "manifests", url)
            fd_times, curl_times = [], []
            for _ in range(args.repeat):
                curl_times.append(time_curl(url, work / "curl.out"))
                fd_times.append(time_facedata(m, work))
            fd, cu = min(fd_times), min(curl_times)
            print(f"file: {args.size_mb} MB over loopback, best of {args.repeat}")
            print(f"facedata: {size / MB / fd:8.1f} MB/s  ({fd:.2f} s, sha256 + publish included)")
            print(f"curl:     {size / MB / cu:8.1f} MB/s  ({cu:.2f} s)")
            print(f"ratio facedata/curl: {cu / fd:.2f}  (target >= 0.90)")

            fresh_home(work)
            half = size // 2
            url.fault("big.bin", drop_after(half), status(503, times=None))
            try:
                fetch_dataset(m)
                sys.exit("the interrupted fetch unexpectedly succeeded")
            except FetchError:
                pass
            url.server.faults.clear()
            before = url.bytes_sent("big.bin")
            fetch_dataset(m)
            again = url.bytes_sent("big.bin") - before
            extra = again - (size - half)
            print(
                f"resume after a cut at 50%: re-transferred {again / MB:.2f} MB "
                f"(remaining half {(size - half) / MB:.2f} MB, extra {extra / MB:.3f} MB; "
                "target extra <= 1 MB)"
            )


if __name__ == "__main__":
    main()
