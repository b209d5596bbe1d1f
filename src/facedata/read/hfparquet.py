"""Hugging Face dataset repositories in Parquet: what `load_dataset` and a Hub snapshot give.

Layouts the Hub and `datasets` write (huggingface/datasets
src/datasets/data_files.py, the default split patterns):

    data/train-00000-of-00002.parquet        the upload `push_to_hub` writes
    {config}/train-00000-of-00001.parquet    one folder per config
    {config}/train/0000.parquet              the Hub's parquet conversion (refs/convert/parquet)
    train.parquet                            a single file per split

An image column is a struct {bytes, path}: bytes are used where present, else the
path; or a plain string column of paths (a table that points into an image folder
beside it). A path is found relative to the file's folder, else to the snapshot's
top. Label names come, in that order of trust, from
the ClassLabel feature in the file's own `huggingface` schema metadata, from the
card's `dataset_info` (README.md front matter), or from the manifest; where two of
them name the classes they must agree, because a different order would give every
row a wrong label without any error. Rows are read one record batch at a time, so
memory stays bounded whatever the file's size.

Options:
  image: image                 the image column
  labels: {head: column}       e.g. {expression: label} or {smile: Smiling}
  names: {column: [n0, n1..]}  the class names, where the files and the card give none
                               (checked against them where they do)
  subject: column              a person id column (celeb_id)
  config: name                 read only the files of this config folder
  splits: {name: split}        file-name split words the corpus names differently
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import facedata.files.jsontext as jsontext
from facedata.errors import ReaderError
from facedata.manifest.options import HfparquetOptions
from facedata.manifest.schema import Manifest, Source
from facedata.read._common import label_path, normalise_split, rel
from facedata.read.blob import Blob, blob_for, changed, open_blob
from facedata.read.registry import register, register_parts
from facedata.read.sample import BytesImage, Drop, FileImage, Note, Sample

BATCH_ROWS = 256
_SHARD = re.compile(r"^(?P<split>.+?)-\d{5}-of-\d{5}$")
_CARD_BYTES = 1 << 20


def parquet_files(root: Path, config: str | None = None) -> list[Path]:
    """The .parquet files below root (a config's only, when named), in a stable order."""
    base = root / config if config else root
    files = sorted(
        p
        for p in base.rglob("*.parquet")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(root).parts)
    )
    return files


def _image_file(folder: Path, root: Path, name: str) -> Path | str:
    """An image path from a row: relative to its Parquet file's folder, else to the
    snapshot's root (a `file_name`/`image_path` string column usually names the file
    from the repository's top, `images/0001.png` beside `data/`)."""
    found = label_path(folder, name)
    if isinstance(found, str) or found.is_file():
        return found
    top = label_path(root, name)
    return top if isinstance(top, Path) and top.is_file() else found


def split_of(path: Path, root: Path, words: dict[str, str] | None = None) -> str | None:
    """The split a file's name or folder says: `train-00000-of-00002`, `train/0000`."""
    words = words or {}
    stem = path.stem
    m = _SHARD.match(stem)
    candidates = [m.group("split") if m else stem]
    candidates += [part for part in reversed(path.relative_to(root).parts[:-1])]
    for word in candidates:
        if word in words:
            return words[word]
        found = normalise_split(word)
        if found:
            return found
    return None


def schema_names(schema: Any) -> dict[str, list[str]]:
    """ClassLabel names per column from a Parquet schema's `huggingface` metadata."""
    raw = (schema.metadata or {}).get(b"huggingface")
    if not raw:
        return {}
    try:
        features = jsontext.loads(raw)["info"]["features"]
    except (ValueError, KeyError, TypeError):
        return {}
    out: dict[str, list[str]] = {}
    if isinstance(features, dict):
        for col, feat in features.items():
            if isinstance(feat, dict) and feat.get("_type") == "ClassLabel":
                names = feat.get("names")
                if isinstance(names, list):
                    out[str(col)] = [str(n) for n in names]
    return out


def card_names(root: Path, config: str | None = None) -> dict[str, list[str]]:
    """ClassLabel names per column from the card's `dataset_info` (README.md front matter)."""
    import yaml

    card = root / "README.md"
    if not card.is_file():
        return {}
    try:
        text = card.read_bytes()[:_CARD_BYTES].decode("utf-8", "replace")
    except OSError:
        return {}
    if not text.startswith("---"):
        return {}
    end = text.find("\n---", 3)
    if end < 0:
        return {}
    try:
        meta = yaml.safe_load(text[3:end])
    except yaml.YAMLError:
        return {}
    infos = (meta or {}).get("dataset_info") if isinstance(meta, dict) else None
    if isinstance(infos, dict):
        infos = [infos]
    if not isinstance(infos, list):
        return {}
    out: dict[str, list[str]] = {}
    for info in infos:
        if not isinstance(info, dict):
            continue
        if config and info.get("config_name") not in (None, config):
            continue
        for feat in info.get("features") or []:
            if not isinstance(feat, dict):
                continue
            names = (feat.get("dtype") or {}) if isinstance(feat.get("dtype"), dict) else {}
            names = names.get("class_label", feat.get("class_label"))
            if isinstance(names, dict) and isinstance(names.get("names"), dict):
                by_index = names["names"]
                try:
                    ordered = sorted(by_index.items(), key=lambda kv: int(kv[0]))
                except (TypeError, ValueError):
                    continue
                out[str(feat.get("name"))] = [str(v) for _, v in ordered]
        break  # the first matching config
    return out


def label_names(
    ds: str,
    column: str,
    from_schema: list[str] | None,
    from_card: list[str] | None,
    from_manifest: list[str] | None,
    where: str,
) -> list[str] | None:
    """The class names of one column, every stated source checked against the others."""
    stated = [
        (what, names)
        for what, names in (
            (f"the ClassLabel in {where}", from_schema),
            ("the card's dataset_info (README.md)", from_card),
            ("the manifest's format.options.names", from_manifest),
        )
        if names
    ]
    if not stated:
        return None
    first_what, first = stated[0]
    for what, names in stated[1:]:
        if list(names) != list(first):
            raise ReaderError(
                f"{ds}: the class names of column {column!r} disagree: {first_what} says "
                f"{list(first)}, {what} says {list(names)}",
                hint="a different order would label every row wrongly: check which copy "
                "this is, and correct the manifest (format.options.names and labels) to "
                "what the files say",
            )
    return list(first)


def _code(value: Any, names: list[str] | None) -> str | None:
    if value is None:
        return None
    if names is not None and isinstance(value, int) and not isinstance(value, bool):
        if 0 <= value < len(names):
            return names[value]
        return None if value == -1 else f"#{value}"
    return str(value)


def _batches(ds: str, name: str, pf: Any, columns: list[str]) -> Iterator[Any]:
    """Record batches one row group at a time: iter_batches over the whole file reads
    row groups ahead, which holds most of a file of images in memory at once. Each
    group must hold the rows its footer says, as when it is read alone (a part)."""
    for group in range(pf.num_row_groups):
        seen = 0
        for batch in group_batches(ds, name, pf, group, columns):
            seen += batch.num_rows
            yield batch
        check_group(ds, name, group, seen, pf.metadata.row_group(group).num_rows)


def group_batches(ds: str, name: str, pf: Any, group: int, columns: list[str]) -> Iterator[Any]:
    """One row group's record batches. A damaged page (a sound footer, bytes that do not
    decode) is pyarrow's bare OSError or ArrowException, which names neither the file
    nor the group: it becomes a ReaderError that names both, the same whether the file
    is read whole on the driver or a group per part."""
    import pyarrow as pa

    batches = pf.iter_batches(
        batch_size=BATCH_ROWS, row_groups=[group], columns=columns, use_threads=False
    )
    while True:
        try:
            batch = next(batches)
        except StopIteration:
            return
        except (OSError, pa.ArrowException) as exc:
            raise ReaderError(
                f"{ds}: {name} row group {group} cannot be read ({str(exc)[:200]})",
                hint="the file is damaged or incomplete: fetch it again",
            ) from None
        yield batch


def check_group(ds: str, name: str, group: int, seen: int, says: int) -> None:
    """A row group whose rows differ from its footer is refused, however the file is
    read (whole on the driver, or a group per part): row numbers after it would not be
    the file's, and a footer that lies is a damaged file."""
    if seen != says:
        raise ReaderError(
            f"{ds}: {name} row group {group} holds {seen} rows, its footer says {says}",
            hint="the file is damaged: fetch it again",
        )


@dataclass(frozen=True)
class _Columns:
    """Which columns a copy's rows are read from (from the options)."""

    image: str
    heads: dict[str, str]  # head -> column
    subject: str | None

    @property
    def names(self) -> list[str]:
        return [self.image, *self.heads.values()] + ([self.subject] if self.subject else [])


@dataclass(frozen=True)
class _File:
    """One Parquet file as its rows need it: the name rows are keyed by, its split and
    the class names of each label column (checked across schema, card and manifest)."""

    path: Path
    name: str
    split: str | None
    names: dict[str, list[str] | None]


def _plan(
    ds: str, root: Path, options: HfparquetOptions
) -> tuple[_Columns, list[tuple[_File, Any]], int]:
    """The columns, each file (opened: its footer read) and the total row count; every
    refusal (no file, a missing column) is raised here, before any row is read."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    config = options.config
    files = parquet_files(root, config)
    if not files:
        raise ReaderError(
            f"{ds}: no .parquet file under {root / config if config else root}",
            hint="pass the snapshot of the Hugging Face repository (the folder holding "
            "data/*.parquet), or its parquet files",
        )
    heads = dict(options.labels or {})
    if not heads:
        raise ReaderError(
            f"{ds}: format.options.labels names no label column",
            hint="e.g. labels: {expression: label}",
        )
    cols = _Columns(options.image, heads, options.subject)
    total = 0
    parsed: list[tuple[Path, Any]] = []
    for path in files:
        try:
            pf = pq.ParquetFile(path)
        except (OSError, pa.ArrowException) as exc:
            raise ReaderError(
                f"{ds}: {rel(path, root)} is not a readable Parquet file ({exc})",
                hint="the download is incomplete or damaged: fetch it again",
            ) from None
        missing = [c for c in cols.names if c not in pf.schema_arrow.names]
        if missing:
            raise ReaderError(
                f"{ds}: {rel(path, root)} has no column {', '.join(map(repr, missing))}",
                hint=f"its columns are {', '.join(pf.schema_arrow.names)}; write a manifest "
                "for this copy from what its files say (`facedata manifest new --hf OWNER/NAME "
                "--from FOLDER`), check it (`facedata manifest validate FILE`) and pass it "
                "with --manifests",
            )
        parsed.append((path, pf))
        total += pf.metadata.num_rows
    card = card_names(root, config)
    manifest_names: dict[str, list[Any]] = dict(options.names or {})
    words = {str(k): str(v) for k, v in (options.splits or {}).items()}

    def described(path: Path, pf: Any) -> _File:
        name = rel(path, root)
        from_schema = schema_names(pf.schema_arrow)
        names = {
            col: label_names(
                ds, col, from_schema.get(col), card.get(col), manifest_names.get(col), name
            )
            for col in heads.values()
        }
        return _File(path, name, split_of(path, root, words), names)

    # lazily: a file's class names are checked when it is reached, as the rows are
    return cols, _Described(parsed, described), total


class _Described:
    """(file, ParquetFile) pairs, each described when reached (its class names checked
    then, so a refusal of a later file comes after the rows of the earlier ones)."""

    def __init__(self, parsed: list[tuple[Path, Any]], describe: Any) -> None:
        self.parsed, self.describe = parsed, describe

    def __iter__(self) -> Iterator[tuple[_File, Any]]:
        for path, pf in self.parsed:
            yield self.describe(path, pf), pf


@register(HfparquetOptions)
def read_hfparquet(
    manifest: Manifest, source: Source, root: Path, options: HfparquetOptions
) -> Iterator[Sample | Drop | Note]:
    ds = manifest.id
    cols, files, total = _plan(ds, root, options)
    yield Note(ds, "count", str(total))
    for file, pf in files:
        yield from _rows(ds, root, file, cols, _batches(ds, file.name, pf, cols.names), 0)


def _rows(
    ds: str, root: Path, file: _File, cols: _Columns, batches: Iterable[Any], row: int
) -> Iterator[Sample | Drop]:
    """The samples and drops of `batches` of `file`, the first being row `row` of it."""
    name, names, split, path = file.name, file.names, file.split, file.path
    heads, image_col, subject_col = cols.heads, cols.image, cols.subject
    for batch in batches:
        data = batch.to_pydict()
        for i in range(batch.num_rows):
            where = f"{name}#{row}"
            row += 1
            codes = {
                head: code
                for head, col in heads.items()
                if (code := _code(data[col][i], names[col])) is not None
            }
            image = data[image_col][i]
            ref: BytesImage | FileImage | None = None
            if isinstance(image, dict) and image.get("bytes"):
                ref = BytesImage(image["bytes"], where)
            elif isinstance(image, dict) and image.get("path") or isinstance(image, str) and image:
                given = image if isinstance(image, str) else str(image["path"])
                found = _image_file(path.parent, root, given)
                if isinstance(found, str):
                    yield Drop(ds, "unsafe path", where, found)
                    continue
                ref = FileImage(found)
            elif isinstance(image, bytes) and image:
                ref = BytesImage(image, where)
            if ref is None:
                yield Drop(ds, "no image", where, f"column {image_col!r} is empty")
                continue
            subject = data[subject_col][i] if subject_col else None
            yield Sample(
                ds,
                where,
                ref,
                codes,
                split=split,
                subject_id=None if subject is None else str(subject),
                where=where,
            )


@dataclass(frozen=True)
class ParquetPart:
    """One row group of one Parquet file of a copy: what a worker needs to read it."""

    dataset: str
    blob: Blob
    root: str  # the reader's folder (image paths in rows are found from it)
    file: _File
    columns: _Columns
    group: int
    first_row: int  # the group's first row number within its file (keys are `file#row`)
    rows: int  # the group's rows, as the file's footer says


def hfparquet_parts(
    manifest: Manifest, source: Source, root: Path, options: HfparquetOptions, rows: int
) -> list[ParquetPart | Note]:
    """A part per row group (the unit Parquet is written and read in); the driver reads
    the footers only. The total count is the driver's note, as the reader's first."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    ds = manifest.id
    cols, files, total = _plan(ds, root, options)
    out: list[ParquetPart | Note] = [Note(ds, "count", str(total))]
    for file, pf in files:
        blob = blob_for(file.path)
        # the footer the parts come from must be the blob's: a file replaced since is refused
        try:
            with open_blob(blob) as fh:
                same = pq.ParquetFile(fh).metadata.equals(pf.metadata)
        except (OSError, pa.ArrowException):
            same = False
        if not same:
            raise changed(blob.describe())
        first = 0
        for group in range(pf.num_row_groups):
            n = pf.metadata.row_group(group).num_rows
            out.append(ParquetPart(ds, blob, str(root), file, cols, group, first, n))
            first += n
    return out


def read_parquet_part(part: ParquetPart, options: HfparquetOptions) -> Iterator[Sample | Drop]:
    """The rows of one row group, exactly as `read_hfparquet` gives them."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    file = part.file
    with open_blob(part.blob) as fh:
        try:
            pf = pq.ParquetFile(fh)
        except (OSError, pa.ArrowException) as exc:
            raise ReaderError(
                f"{part.dataset}: {file.name} is not a readable Parquet file ({exc})",
                hint="the download is incomplete or damaged: fetch it again",
            ) from None
        seen = 0

        def batches() -> Iterator[Any]:
            nonlocal seen
            for batch in group_batches(part.dataset, file.name, pf, part.group, part.columns.names):
                seen += batch.num_rows
                yield batch

        yield from _rows(
            part.dataset, Path(part.root), file, part.columns, batches(), part.first_row
        )
        check_group(part.dataset, file.name, part.group, seen, part.rows)


register_parts(HfparquetOptions, hfparquet_parts, read_parquet_part, files=True)
