"""Small parsing helpers every reader shares.

They exist so that every layout reports malformed input the same way: a Drop (or a
ReaderError for a file that cannot be read at all) naming the file and line.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import facedata.files.confine as confine
from facedata.errors import ReaderError, UnsafePathError

if TYPE_CHECKING:
    from facedata.read.sample import Drop

log = logging.getLogger("facedata.formats")

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".ppm", ".pgm", ".bmp", ".gif", ".tif"})

# Split names as sources spell them -> the corpus's three names.
_SPLITS = {
    "train": "train",
    "training": "train",
    "train_set": "train",
    "val": "validation",
    "valid": "validation",
    "validation": "validation",
    "val_set": "validation",
    "publictest": "validation",
    "dev": "validation",
    "test": "test",
    "testing": "test",
    "privatetest": "test",
    "test_set": "test",
}


def normalise_split(name: str | None) -> str | None:
    """train / validation / test, or None where the name says nothing known."""
    if name is None:
        return None
    return _SPLITS.get(name.strip().lower())


def split_option(value: str, where: str) -> str:
    """A split named in a manifest option: must be one the corpus knows."""
    if value in ("train", "validation", "test"):
        return value
    norm = normalise_split(value)
    if norm is None:
        raise ReaderError(f"{where}: unknown split {value!r}", hint="use train, validation or test")
    return norm


def text_lines(path: Path) -> Iterator[tuple[int, str]]:
    """(1-based line number, line without its CR/LF) for a text file, streamed.

    Opening with newline="" and stripping both CR and LF ourselves keeps CRLF files
    (CelebA, the Mendeley lists) identical to LF ones, and a stray CR never ends up
    in a file name.
    """
    try:
        raw = confine.open_regular(None, path)  # a FIFO or device would hang or never end
    except UnsafePathError as exc:
        raise ReaderError(exc.message, hint=exc.hint) from None
    fh = io.TextIOWrapper(raw, encoding="utf-8-sig", errors="replace", newline="")
    with fh:
        for n, line in enumerate(fh, start=1):
            yield n, line.rstrip("\r\n")


class Utf8Lines:
    """A text file's lines for csv.reader; undecodable bytes become a ReaderError
    naming `path` (a file, or a range of one: see read/blob.py)."""

    def __init__(self, fh: TextIO, path: Path | str) -> None:
        self.fh, self.path = fh, path

    def __iter__(self) -> Utf8Lines:
        return self

    def __next__(self) -> str:
        try:
            return next(self.fh)
        except UnicodeDecodeError as exc:
            raise ReaderError(
                f"{self.path}: not UTF-8 text ({exc.reason})",
                hint="is it the right file? A CSV in another encoding must be saved as UTF-8",
            ) from None


@contextmanager
def open_csv(path: Path) -> Iterator[Utf8Lines]:
    """Open a CSV for csv.reader / DictReader: UTF-8 (BOM allowed), clean errors."""
    try:
        raw = confine.open_regular(None, path)  # a FIFO or device would hang or never end
    except UnsafePathError as exc:
        raise ReaderError(exc.message, hint="check the path and its permissions") from None
    fh = io.TextIOWrapper(raw, newline="", encoding="utf-8-sig")
    with fh:
        yield Utf8Lines(fh, Path(path))


class _Feed:
    """The lines csv.reader parses: one line handed back first, then the file's own."""

    def __init__(self, lines: Iterator[str]) -> None:
        self.lines = lines
        self.head: str | None = None

    def __iter__(self) -> _Feed:
        return self

    def __next__(self) -> str:
        head = self.head
        if head is None:
            return next(self.lines)
        self.head = None
        return head


class CsvRows:
    """csv.reader(lines, delimiter=...) with the 'excel' dialect, faster on plain lines.

    csv.reader walks every character in C: ~22 us for a FER2013 line of ~8 KB of
    pixels, and that line is read in the build's main process for every row. A line
    with no quote (and no NUL or inner CR/LF, field no longer than
    csv.field_size_limit()) can only be split at the delimiter, so it is split with
    str.split. Any other line is handed to one real csv.reader, which pulls further
    lines itself while a quoted field stays open: the csv module stays the authority
    for quoting, errors and limits, and `line_num` (physical lines read so far) counts
    both paths.
    """

    def __init__(self, lines: Iterable[str], delimiter: str = ",") -> None:
        if len(delimiter) != 1 or delimiter in '"\r\n\0':
            raise ValueError(f"unsupported CSV delimiter {delimiter!r}")
        self._lines = iter(lines)
        self._feed = _Feed(self._lines)
        self._reader = csv.reader(self._feed, delimiter=delimiter)
        self._delimiter = delimiter
        self._plain = 0  # lines split here, not by csv.reader

    @property
    def line_num(self) -> int:
        return self._plain + self._reader.line_num

    def __iter__(self) -> CsvRows:
        return self

    def __next__(self) -> list[str]:
        line = next(self._lines)
        if type(line) is str and '"' not in line and "\0" not in line:
            text = line.rstrip("\r\n")
            if "\r" not in text and "\n" not in text and len(text) <= csv.field_size_limit():
                self._plain += 1
                return text.split(self._delimiter) if text else []
        self._feed.head = line
        return next(self._reader)


def csv_rows(lines: Iterable[str], delimiter: str = ",") -> CsvRows:
    """Rows exactly as csv.reader(lines, delimiter=delimiter) yields them; see CsvRows."""
    return CsvRows(lines, delimiter)


def find_one(root: Path, name: str, *, dirs: bool = False, required: bool = True) -> Path | None:
    """The single file (or folder) called `name` below root, at any depth.

    Mirrors and unpacked archives nest the same files differently (CelebA's Anno/,
    Kaggle's double-nested folders, Mendeley's doubled folder), so readers look for
    known names instead of fixed paths. The shallowest match wins; two at the same
    depth are ambiguous and reported.
    """
    direct = root / name
    if direct.is_dir() if dirs else direct.is_file():
        return direct
    found = [
        p
        for p in root.rglob(Path(name).name)
        if (p.is_dir() if dirs else p.is_file()) and "__MACOSX" not in p.parts
    ]
    if not found:
        if required:
            raise ReaderError(
                f"{name} not found under {root}",
                hint="check the source was fully unpacked, or set the path in format.options",
            )
        return None
    found.sort(key=lambda p: (len(p.parts), str(p)))
    if len(found) > 1 and len(found[0].parts) == len(found[1].parts):
        shown = ", ".join(str(p.relative_to(root)) for p in found[:6])
        raise ReaderError(
            f"{name} is ambiguous under {root}: {shown}",
            hint="name the one to read in format.options",
        )
    return found[0]


def option_path(
    root: Path, value: str | None, key: str, default: str, *, dirs: bool = False
) -> Path:
    """An explicit path option `key` (relative to root) or a search for the default name."""
    if value:
        p = root / confine_option(value, key)
        if (p.is_dir() if dirs else p.is_file()) and confine.is_inside(root, p):
            return p
        raise ReaderError(
            f"format.options.{key}: {p} does not exist",
            hint=f"the path is relative to {root}",
        )
    found = find_one(root, default, dirs=dirs)
    assert found is not None
    return found


def confine_option(value: object, key: str) -> str:
    """An option naming a path inside the dataset; anything else is a ReaderError."""
    problem = confine.name_problem(value)  # type: ignore[arg-type]
    if problem:
        raise ReaderError(
            f"format.options.{key}: {problem}",
            hint="options name files and folders inside the dataset: relative, no '..'",
        )
    return str(value)


def label_path(folder: Path, name: str) -> Path | str:
    """`folder / name` for an image path read from a label file, or why it is refused.

    A label row is a stranger's text: an absolute path, a `..` or an over-long name
    becomes a counted drop of that row (the caller yields it), never a read.
    """
    problem = confine.name_problem(name)
    return f"unsafe image path: {problem}" if problem else folder / name


def labelled_image(
    ds: str, folder: Path, name: str, where: str, base: Path
) -> tuple[Path, str] | Drop:
    """The image a label row names and its key (relative to `base`), or the row's drop.

    A name that is unsafe (`label_path`) or a file that is not there drops the row,
    counted under the same reasons whatever the layout.
    """
    from facedata.read.sample import Drop

    image = label_path(folder, name)
    if isinstance(image, str):
        return Drop(ds, "unsafe path", where, image)
    key = rel(image, base)
    if not image.is_file():
        return Drop(ds, "missing image", where, key)
    return image, key


def floats(tokens: Iterable[str]) -> list[float]:
    """Float tokens, tolerant of scientific notation and padding (CK+ writes both)."""
    return [float(t) for t in tokens]


def is_image(path: Path, extensions: Iterable[str] = IMAGE_EXTENSIONS) -> bool:
    name = path.name
    return path.suffix.lower() in set(extensions) and not name.startswith("._") and name[0] != "."


def rel(path: Path, root: Path) -> str:
    """A portable key: POSIX path relative to the reader root."""
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()
