"""PyTorch datasets over a built corpus: one call, typed samples, both heads and masks.

Each sample is a dict:
  image            float32 tensor C x H x W in [0, 1] (C = 3 for RGB corpora, 1 for grey)
  smile            class index (0 no smile, 1 smile), -1 where the source does not say
  expression       index into the corpus's expression names, -1 where not said
  smile_mask       True where the smile head has a label
  expression_mask  True where the expression head has a label
and the DataLoader's default collate turns a batch into tensors (labels int64, masks
bool), so a loss masks each head by itself.

Two shapes:
- `CorpusDataset` (map-style): labels and the encoded image bytes of one split held
  in Arrow buffers (about the split's size on disk), any index in O(1), shuffling by
  the DataLoader's sampler. The default for corpora that fit in memory.
- `CorpusStream` (iterable): shard by shard, row group by row group, with a bounded
  shuffle buffer; DataLoader workers take disjoint shards. For corpora larger than
  memory.

`transform` receives the decoded PIL image (in the corpus's declared mode) and
returns a tensor; the default converts to a float tensor without torchvision.
"""

from __future__ import annotations

import io
import random
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import torch
from PIL import Image
from torch.utils.data import Dataset, IterableDataset, get_worker_info

from facedata.corpus import CorpusError, CorpusRecord, read_corpus
from facedata.corpus.row import HEADS
from facedata.vocabulary import SMILE_NAMES

Transform = Callable[[Image.Image], torch.Tensor]
LABEL_COLUMNS = HEADS  # one column per head
# the FER+ vote shares (a list of floats in taxonomy order, or null), under the names
# a corpus may give them; absent from most corpora, and then simply not used
SOFT_COLUMNS = ("expression_soft", "expression_votes")


def to_tensor(img: Image.Image) -> torch.Tensor:
    """PIL -> float32 C x H x W in [0, 1] (what torchvision's ToTensor does).

    One pass to float32 (a fresh, writable array), a view to channels-first, one
    in-place scale: the least per-sample work, so a loader keeps up with decoding."""
    arr = torch.from_numpy(np.asarray(img, dtype=np.float32))
    arr = arr[None] if arr.ndim == 2 else arr.permute(2, 0, 1)
    return arr.div_(255.0)


# A corpus image is an aligned crop (or a frame scaled to the build's decode side): far
# below this. A corpus received from someone else may hold a decompression bomb instead.
MAX_PIXELS = 64_000_000


def decode(data: bytes, mode: str) -> Image.Image:
    """The corpus image in `mode`; an image that is not one (a bomb, not an image, no
    bytes) is a CorpusError, never PIL's exception from deep inside a training loop."""
    try:
        img = Image.open(io.BytesIO(data))
        if img.width * img.height > MAX_PIXELS:
            raise ValueError(f"{img.width}x{img.height} pixels is over {MAX_PIXELS:,}")
        img.load()
        return img if img.mode == mode else img.convert(mode)
    except (OSError, ValueError, TypeError, SyntaxError, Image.DecompressionBombError) as exc:
        raise CorpusError(
            f"a corpus image cannot be decoded: {exc}",
            hint="the corpus is damaged or was not written by facedata; rebuild it with "
            "`facedata build`",
        ) from None


def _shard_error(path: Path, exc: Exception) -> CorpusError:
    first = (str(exc).splitlines() or [""])[0][:300]  # Arrow appends the whole schema
    return CorpusError(
        f"cannot read shard {path}: {first}",
        hint="the shard is damaged or was not written by facedata; rebuild the corpus with "
        "`facedata build`",
    )


def _image_bytes(table: pa.Table, path: Path | str) -> pa.Array:
    """The image column's encoded bytes, after checking it is what facedata writes."""
    column = table.column("image")
    kind = column.type
    if not (
        pa.types.is_struct(kind)
        and kind.get_field_index("bytes") >= 0
        and pa.types.is_binary(kind.field("bytes").type)
    ):
        raise CorpusError(
            f"column image of shard {path} holds {kind}, not encoded images",
            hint="the shard was not written by facedata; rebuild the corpus with `facedata build`",
        )
    return column.combine_chunks().field("bytes")


class _Corpus:
    """What both datasets share: the record, the split's shards, the image mode."""

    def __init__(self, root: Path | str, split: str, transform: Transform | None) -> None:
        self.root = Path(root)
        self.record: CorpusRecord = read_corpus(self.root, require=("shards",))
        self.split = split
        # resolved through the corpus's confinement: a shard leading out of it is refused
        self.shards = [s.file(self.root) for s in self.record.shards if s.split == split]
        if not self.shards:
            have = sorted({s.split for s in self.record.shards if s.split})
            raise CorpusError(
                f"{self.root} has no {split!r} rows",
                hint=f"pick one of its splits: {', '.join(have) or 'none (empty corpus)'}",
            )
        missing = [p for p in self.shards if not p.is_file()]
        if missing:
            raise CorpusError(
                f"{self.root} lacks shard {missing[0].name}",
                hint="the corpus is incomplete; copy it whole or rebuild it",
            )
        self.mode = self.record.image.mode if self.record.image else "RGB"
        self.transform = transform or to_tensor
        self.names = {
            "smile": list(SMILE_NAMES),
            "expression": self.record.expression_names(),
        }

    def _sample(self, data: bytes, smile: int, expression: int) -> dict[str, Any]:
        # labels as plain ints and bools: the DataLoader's collate makes one int64 /
        # bool tensor per batch, far cheaper than four small tensors per sample
        smile, expression = int(smile), int(expression)
        return {
            "image": self.transform(decode(data, self.mode)),
            "smile": smile,
            "expression": expression,
            "smile_mask": smile >= 0,
            "expression_mask": expression >= 0,
        }


def _labels(table: pa.Table, names: dict[str, list[str]]) -> dict[str, np.ndarray]:
    out = {}
    for head in HEADS:
        column = table.column(head)
        if not pa.types.is_integer(column.type):
            raise CorpusError(
                f"column {head} holds {column.type}, not class indices",
                hint="this corpus predates typed labels; rebuild it with `facedata build`",
            )
        values = column.fill_null(-1).to_numpy().astype(np.int64)
        # an index past the head's classes would index the loss weights out of range
        bad = values[(values < -1) | (values >= len(names[head]))]
        if bad.size:
            raise CorpusError(
                f"column {head} holds class index {int(bad[0])}; the corpus names "
                f"{len(names[head])} classes",
                hint="the corpus is damaged or was not written by facedata; rebuild it with "
                "`facedata build`",
            )
        out[head] = values
    return out


class CorpusDataset(_Corpus, Dataset):
    """Map-style dataset over one split of a corpus (see the module docstring)."""

    def __init__(
        self, root: Path | str, split: str = "train", transform: Transform | None = None
    ) -> None:
        super().__init__(root, split, transform)
        try:
            names = pq.read_schema(self.shards[0]).names
        except (pa.ArrowException, OSError) as exc:
            raise _shard_error(self.shards[0], exc) from None
        soft = next((c for c in SOFT_COLUMNS if c in names), None)
        extra = [soft] if soft else []
        tables = []
        for path in self.shards:
            try:
                tables.append(
                    pq.read_table(path, columns=["image", *LABEL_COLUMNS, "subject_id", *extra])
                )
            except (pa.ArrowException, OSError) as exc:
                raise _shard_error(path, exc) from None
        try:
            table = pa.concat_tables(tables)
        except pa.ArrowException as exc:
            raise _shard_error(self.shards[-1], exc) from None
        self.soft, self.has_soft = _soft(table, soft, len(self.names["expression"]))
        self._images = _image_bytes(table, self.root)
        labels = _labels(table, self.names)
        self.smile, self.expression = labels["smile"], labels["expression"]
        self.subject_id = table.column("subject_id").to_pylist()

    def __len__(self) -> int:
        return len(self.smile)

    def __getitem__(self, index: int) -> dict[str, Any]:
        data = self._images[index].as_py()
        sample = self._sample(data, self.smile[index], self.expression[index])
        if self.has_soft:
            row = self.soft[index]
            sample["expression_soft"] = torch.from_numpy(row)
            sample["expression_soft_mask"] = bool(row.sum() > 0)
        return sample


def _soft(table: pa.Table, column: str | None, k: int) -> tuple[np.ndarray, bool]:
    """Vote shares as an [N, K] float32 array (zeros where a row has none), and whether
    any row has them. A column of the wrong length is ignored, not guessed at."""
    if column is None:
        return np.zeros((0, k), dtype=np.float32), False
    rows = table.column(column).to_pylist()
    out = np.zeros((len(rows), k), dtype=np.float32)
    for i, row in enumerate(rows):
        if row is not None and len(row) == k and all(v is not None for v in row):
            out[i] = np.clip(np.asarray(row, dtype=np.float32), 0.0, None)
    return out, bool(out.sum() > 0)


class CorpusStream(_Corpus, IterableDataset):
    """Streams one split shard by shard (see the module docstring).

    `shuffle` shuffles the shard order and keeps a buffer of `buffer` samples from
    which each next sample is drawn at random; `seed` plus `set_epoch` make the order
    reproducible and different each epoch.
    """

    def __init__(
        self,
        root: Path | str,
        split: str = "train",
        transform: Transform | None = None,
        *,
        shuffle: bool = False,
        buffer: int = 1024,
        seed: int = 0,
    ) -> None:
        super().__init__(root, split, transform)
        self.shuffle, self.buffer, self.seed, self.epoch = shuffle, max(1, buffer), seed, 0
        self.rows = sum(s.rows for s in self.record.shards if s.split == split)

    def __len__(self) -> int:
        return self.rows

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def _my_shards(self, rng: random.Random) -> list[Path]:
        shards = list(self.shards)
        if self.shuffle:
            rng.shuffle(shards)
        info = get_worker_info()
        if info is None:
            return shards
        return shards[info.id :: info.num_workers]

    def _rows(self, shards: list[Path]) -> Iterator[tuple[bytes, int, int]]:
        for path in shards:
            try:
                pf = pq.ParquetFile(path)
                groups = pf.metadata.num_row_groups
            except (pa.ArrowException, OSError) as exc:
                raise _shard_error(path, exc) from None
            for group in range(groups):
                try:
                    table = pf.read_row_group(group, columns=["image", *LABEL_COLUMNS])
                except (pa.ArrowException, OSError) as exc:
                    raise _shard_error(path, exc) from None
                # one row group as Python objects: cheaper per row than Arrow scalars
                images = _image_bytes(table, path).to_pylist()
                labels = _labels(table, self.names)
                yield from zip(
                    images, labels["smile"].tolist(), labels["expression"].tolist(), strict=True
                )

    def __iter__(self) -> Iterator[dict[str, Any]]:
        rng = random.Random(self.seed * 100_003 + self.epoch)
        rows = self._rows(self._my_shards(rng))
        if not self.shuffle:
            for row in rows:
                yield self._sample(*row)
            return
        pool: list[tuple[bytes, int, int]] = []
        for row in rows:
            if len(pool) < self.buffer:
                pool.append(row)
                continue
            i = rng.randrange(len(pool))
            pool[i], row = row, pool[i]
            yield self._sample(*row)
        rng.shuffle(pool)
        for row in pool:
            yield self._sample(*row)


def load(
    root: Path | str,
    split: str = "train",
    *,
    streaming: bool = False,
    transform: Transform | None = None,
    **kwargs: Any,
) -> CorpusDataset | CorpusStream:
    """One call from a corpus folder to a dataset a DataLoader can batch."""
    if streaming:
        return CorpusStream(root, split, transform, **kwargs)
    return CorpusDataset(root, split, transform)
