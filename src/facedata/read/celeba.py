"""CelebA, two layouts: the official txt files and the Kaggle CSV mirror.

Official (Anno/, Eval/; CRLF; whitespace padded to variable widths, so rows are
split on any whitespace, never by column position):
  list_attr_celeba.txt             count line; 40 names WITHOUT image_id; rows
  list_landmarks_align_celeba.txt  count line; 10 names without image_id; rows
  list_bbox_celeba.txt             count line; header WITH image_id (in-the-wild only)
  identity_CelebA.txt              no header: `000001.jpg 2880`
  list_eval_partition.txt          no header: `000001.jpg 0` (0 train, 1 val, 2 test)
Kaggle (jessicali9530/celeba-dataset): the same tables as CSV with an `image_id`
column, no identity file, images double-nested in img_align_celeba/img_align_celeba/.

The attribute file drives the stream; the other tables are joined by file name in
one forward pass each (all are sorted by name), so nothing 200k rows long is held
in memory. Boxes refer to the in-the-wild images, so they are never attached to the
aligned ones (a known mistake of some mirrors).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from facedata.errors import ReaderError
from facedata.manifest.options import CelebaCsvOptions, CelebaOptions
from facedata.manifest.schema import Manifest, Source
from facedata.read._common import (
    csv_rows,
    find_one,
    labelled_image,
    log,
    open_csv,
    option_path,
    text_lines,
)
from facedata.read.registry import register
from facedata.read.sample import Drop, FileImage, Note, Sample

Row = tuple[str, list[str], str]  # image name, values, where
PARTITIONS = {"0": "train", "1": "validation", "2": "test"}
NO_IDENTITY = (
    "no identity_CelebA.txt (the official page offers it on request only): rows have no "
    "subject id, so subject-disjoint splits are not possible; the official partition "
    "(list_eval_partition) is used"
)
NO_LANDMARKS = (
    "no list_landmarks_align_celeba: faces are found by the detector instead of aligned "
    "by the 5 landmarks"
)


def _gaps(ds: str, identity: Path | None, landmarks: Path | None) -> Iterator[Note]:
    """Say once what a delivery without the optional tables cannot give."""
    if identity is None:
        yield Note(ds, "degraded", NO_IDENTITY)
    if landmarks is None:
        yield Note(ds, "degraded", NO_LANDMARKS)


class Joined:
    """Look up rows of a table sorted by image name while walking names in order.

    Each lookup advances the table only as far as needed, so a missing row simply
    yields None and a table out of order is reported instead of mis-joined.
    """

    def __init__(self, rows: Iterator[Row] | None, path: Path | None) -> None:
        self._rows = rows
        self._path = path
        self._head: Row | None = None
        self._last = ""

    def get(self, name: str) -> tuple[list[str], str] | None:
        if self._rows is None:
            return None
        while True:
            if self._head is None:
                self._head = next(self._rows, None)
                if self._head is None:
                    self._rows = None
                    return None
                if self._head[0] < self._last:
                    raise ReaderError(
                        f"{self._head[2]}: rows are not sorted by image name",
                        hint=f"{self._path} must list images in order, as the original does",
                    )
                self._last = self._head[0]
            key, values, where = self._head
            if key > name:
                return None
            self._head = None
            if key == name:
                return values, where


def _txt_rows(path: Path, header_lines: int) -> Iterator[Row]:
    for n, line in text_lines(path):
        if n <= header_lines:
            continue
        tokens = line.split()
        if tokens:
            yield tokens[0], tokens[1:], f"{path.name}:{n}"


def _txt_header(path: Path) -> tuple[int | None, list[str]]:
    """(declared row count, column names without image_id) of an official table."""
    lines = text_lines(path)
    first = next(lines, (1, ""))[1].strip()
    second = next(lines, (2, ""))[1].split()
    try:
        count = int(first)
    except ValueError:
        raise ReaderError(
            f"{path.name}:1: expected the image count, got {first!r}",
            hint="the official CelebA tables start with a count line, then the column names",
        ) from None
    if second and second[0] == "image_id":  # list_bbox_celeba.txt names its first column
        second = second[1:]
    return count, second


def _csv_header(path: Path) -> list[str]:
    """Column names after image_id; read separately so the rows can stream lazily."""
    with open_csv(path) as fh:
        header = [h.strip() for h in next(csv_rows(fh), [])]
    if not header or header[0] != "image_id":
        raise ReaderError(f"{path.name}:1: expected a header starting with image_id, got {header}")
    return header[1:]


def _csv_rows(path: Path) -> Iterator[Row]:
    with open_csv(path) as fh:
        reader = csv_rows(fh)
        next(reader, None)
        for row in reader:
            if row:
                where = f"{path.name}:{reader.line_num}"
                yield row[0].strip(), [v.strip() for v in row[1:]], where


def _images_dir(root: Path, options: CelebaOptions | CelebaCsvOptions) -> Path:
    """The folder that really holds the jpgs (Kaggle nests img_align_celeba twice)."""
    if options.images:
        return option_path(root, options.images, "images", "", dirs=True)
    top = find_one(root, "img_align_celeba", dirs=True, required=False)
    if top is None:
        raise ReaderError(
            f"img_align_celeba/ not found under {root}",
            hint="unpack img_align_celeba.zip, or set format.options.images",
        )
    while (top / "img_align_celeba").is_dir():
        top = top / "img_align_celeba"
    return top


def _assemble(
    ds: str,
    root: Path,
    images: Path,
    attr_names: list[str],
    attrs: Iterator[Row],
    partition: Joined,
    identity: Joined,
    landmarks: Joined,
    attr_file: str,
) -> Iterator[Sample | Drop]:
    try:
        smiling = attr_names.index("Smiling")
    except ValueError:
        raise ReaderError(
            f"{attr_file}: no Smiling column among {len(attr_names)} attribute names",
            hint="list_attr_celeba must name its 40 attributes on the second line",
        ) from None
    width = len(attr_names)
    for name, values, where in attrs:
        if len(values) != width:
            yield Drop(
                ds, "malformed row", where, f"expected {width} attributes, got {len(values)}"
            )
            continue
        part = partition.get(name)
        split = None
        if part is not None:
            split = PARTITIONS.get(part[0][0] if part[0] else "")
            if split is None:
                yield Drop(ds, "bad partition", part[1], f"partition {part[0]!r} not 0/1/2")
                continue
        ident = identity.get(name)
        lm = landmarks.get(name)
        points = None
        if lm is not None:
            try:
                points = [float(v) for v in lm[0]]
            except ValueError:
                yield Drop(ds, "bad number", lm[1], "landmark is not numeric")
                continue
            if len(points) != 10:
                yield Drop(
                    ds, "malformed row", lm[1], f"expected 10 landmark values, got {len(points)}"
                )
                continue
        found = labelled_image(ds, images, name, where, root)
        if isinstance(found, Drop):
            yield found
            continue
        path, key = found
        yield Sample(
            ds,
            key,
            FileImage(path),
            {"smile": values[smiling]},
            split=split,
            subject_id=ident[0][0] if ident and ident[0] else None,
            landmarks=points,
            where=where,
        )


def _partition(root: Path, options: CelebaOptions | CelebaCsvOptions, attr: Path) -> Path:
    """The partition file, required: without it every row would lose CelebA's
    official train/valid/test split, and the build would silently make its own."""
    name = options.partition
    found = find_one(root, name, required=False)
    if found is None:
        raise ReaderError(
            f"{name} not found under {root}: CelebA's official train/valid/test split is "
            f"missing ({attr.name} is there)",
            hint=f"every CelebA copy ships {name} with {attr.name}: pass the complete "
            "download (or set format.options.partition to where this copy keeps it)",
        )
    return found


@register(CelebaOptions)
def read_celeba(
    manifest: Manifest, source: Source, root: Path, options: CelebaOptions
) -> Iterator[Sample | Drop]:
    ds = manifest.id
    attr = option_path(root, options.attributes, "attributes", "list_attr_celeba.txt")
    count, names = _txt_header(attr)
    part = _partition(root, options, attr)
    ident = find_one(root, options.identity, required=False)
    lmk = find_one(root, options.landmarks, required=False)
    yield from _gaps(ds, ident, lmk)
    rows = 0

    def counted() -> Iterator[Row]:
        nonlocal rows
        for row in _txt_rows(attr, 2):
            rows += 1
            yield row

    yield from _assemble(
        ds,
        root,
        _images_dir(root, options),
        names,
        counted(),
        Joined(_txt_rows(part, 0), part),
        Joined(_txt_rows(ident, 0) if ident else None, ident),
        Joined(_txt_rows(lmk, 2) if lmk else None, lmk),
        attr.name,
    )
    if count is not None and rows != count:
        log.warning("%s: %s declares %d images but has %d rows", ds, attr.name, count, rows)


@register(CelebaCsvOptions)
def read_celeba_csv(
    manifest: Manifest, source: Source, root: Path, options: CelebaCsvOptions
) -> Iterator[Sample | Drop]:
    ds = manifest.id
    attr = option_path(root, options.attributes, "attributes", "list_attr_celeba.csv")
    names, attrs = _csv_header(attr), _csv_rows(attr)
    part = _partition(root, options, attr)
    lmk = find_one(root, options.landmarks, required=False)
    yield from _gaps(ds, None, lmk)
    yield from _assemble(
        ds,
        root,
        _images_dir(root, options),
        names,
        attrs,
        Joined(_csv_rows(part), part),
        Joined(None, None),  # the Kaggle copy ships no identities
        Joined(_csv_rows(lmk) if lmk else None, lmk),
        attr.name,
    )
