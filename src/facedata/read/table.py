"""The generic `table` reader: one CSV/TSV row per image (path, label code, split, subject).

Many datasets and mirrors are "a folder of images plus a table saying what each one
is" (the AffectNet Hub copy's labels.csv `pth,label`, RAF-DB mirrors' train_labels.csv).
This reader covers that shape from the manifest alone, so such a dataset needs a
YAML file and no Python.

Options:
  file: the table (name or path below root; searched for below root)
  delimiter: "," | "\\t" | " " (any run of whitespace); default by extension
             (.tsv -> tab, .txt -> whitespace, else comma)
  header: true (columns by name) | false (columns by 0-based index)
  columns: {path: <col>, label: <col>, split: <col>, subject: <col>}
           (defaults path: "path", label: "label"; split and subject optional)
  images: folder the paths are relative to (below root; default: the table's folder)
  head: expression | smile  (which head the label code is for; default expression)
  splits: {value in the split column: train | validation | test}
          (default: the usual names, e.g. Training, PublicTest, val, test)
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from facedata.errors import ReaderError
from facedata.manifest.options import TableOptions
from facedata.manifest.schema import Manifest, Source
from facedata.read._common import (
    csv_rows,
    normalise_split,
    open_csv,
    option_path,
    rel,
    split_option,
    text_lines,
)
from facedata.read.registry import register
from facedata.read.sample import Drop, FileImage, Sample

_DEFAULT_COLUMNS = {"path": "path", "label": "label"}


def _delimiter(path: Path, options: TableOptions) -> str:
    if options.delimiter is not None:
        return options.delimiter
    suffix = path.suffix.lower()
    return "\t" if suffix == ".tsv" else " " if suffix == ".txt" else ","


def _rows(path: Path, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    """(1-based line number, fields); whitespace tables split on any run of blanks."""
    if delimiter == " ":
        for n, line in text_lines(path):
            yield n, line.split()
        return
    with open_csv(path) as fh:
        reader = csv_rows(fh, delimiter)
        for row in reader:
            yield reader.line_num, [v.strip() for v in row]


def _column_index(name: str, value: Any, header: list[str] | None, where: str) -> int | None:
    if value is None:
        return None
    if header is None:
        if not isinstance(value, int) or value < 0:
            raise ReaderError(
                f"{where}: format.options.columns.{name} must be a 0-based column number "
                "when the table has no header",
                hint="set header: true to name columns instead",
            )
        return value
    if isinstance(value, int):
        return value
    lowered = [h.lower() for h in header]
    if str(value).lower() not in lowered:
        raise ReaderError(
            f"{where}:1: no column {value!r} (columns.{name}) in header {header}",
            hint="set format.options.columns to the table's own column names",
        )
    return lowered.index(str(value).lower())


@register(TableOptions)
def read_table(
    manifest: Manifest, source: Source, root: Path, options: TableOptions
) -> Iterator[Sample | Drop]:
    ds = manifest.id
    if not options.file:
        raise ReaderError(f"{ds}: the table reader needs format.options.file (e.g. labels.csv)")
    table = option_path(root, options.file, "file", options.file)
    head = options.head
    images = (
        option_path(root, options.images, "images", "", dirs=True)
        if options.images
        else table.parent
    )
    split_map = {
        str(k): split_option(str(v), f"{ds} splits.{k}") for k, v in (options.splits or {}).items()
    }
    has_header = options.header
    columns = (
        {**_DEFAULT_COLUMNS, **(options.columns or {})}
        if has_header
        else dict(options.columns or {})
    )
    rows = _rows(table, _delimiter(table, options))
    header = None
    if has_header:
        first = next(rows, None)
        if first is None:
            return
        header = first[1]
    idx = {
        k: _column_index(k, columns.get(k), header, table.name)
        for k in ("path", "label", "split", "subject")
    }
    if idx["path"] is None or idx["label"] is None:
        raise ReaderError(f"{ds}: format.options.columns needs path and label")
    need = max(i for i in idx.values() if i is not None) + 1
    for n, fields in rows:
        where = f"{table.name}:{n}"
        if not fields or not any(fields):
            continue
        if len(fields) < need:
            yield Drop(ds, "malformed row", where, f"expected at least {need} fields")
            continue
        name = fields[idx["path"]]
        code = fields[idx["label"]]
        if not name:
            yield Drop(ds, "malformed row", where, "empty path")
            continue
        path = images / name
        if ".." in Path(name).parts or Path(name).is_absolute():
            yield Drop(ds, "malformed row", where, f"path {name!r} leaves the image folder")
            continue
        if not code:
            yield Drop(ds, "unlabeled", where, "empty label")
            continue
        split = None
        if idx["split"] is not None:
            value = fields[idx["split"]]
            split = split_map.get(value) or normalise_split(value)
            if split is None:
                yield Drop(ds, "unknown split", where, f"split {value!r}")
                continue
        if not path.is_file():
            yield Drop(ds, "missing image", where, name)
            continue
        subject = fields[idx["subject"]] or None if idx["subject"] is not None else None
        yield Sample(
            ds,
            rel(path, root) if path.is_relative_to(root) else name,
            FileImage(path),
            {head: code},
            split=split,
            subject_id=subject,
            where=where,
        )
