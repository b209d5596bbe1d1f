"""Cutting a CSV file into ranges of whole rows without parsing it.

The driver of a build must not tokenize a million-row label file; its workers do,
one range each. A range boundary is found in the bytes: a newline outside any quoted
field, about every `rows` rows' worth of bytes (rows per byte re-estimated for each
block, a range never under MIN_RANGE bytes nor over MAX_RANGE, so blank lines or tiny
rows never make a task per row). Counting bytes is all the driver does: `bytes.find`
and numpy counts over blocks, which run at memory speed.

Being inside a quoted field is decided by the quotes that open and close fields,
found as the csv module (excel dialect) finds them: a quote at a field's start opens
one, and inside it a doubled quote is literal and any other quote closes it. A quote
anywhere else (`12 "34`, `, "x"`) is a literal character and opens nothing, so a file
holding one is cut as any other. Each quote is looked at in Python, so a block with
more than MAX_QUOTES quotes is not followed: the file is not cut at all (`None`) and
the caller reads it whole on the driver, saying so in the build's notes.

Each range knows how many physical lines come before it, counted as the text layer
counts them (`\\n`, `\\r\\n` and a lone `\\r` each end a line), so a row read from a
range gets the same line number, and therefore the same key and `where`, as when
the whole file is read.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass

import numpy as np

from facedata.read.blob import Blob

BLOCK = 1 << 20  # bytes scanned at a time
MAX_RANGE = 64 << 20  # bytes in one range at most, whatever the rows per byte
MIN_RANGE = 256 << 10  # bytes in one range at least: blank lines or tiny rows never
# make a task per row (a range is one chunk task on the engine)
BOM = b"\xef\xbb\xbf"
# quotes checked per block at most (a quoted-pixels FER block holds ~300); a file
# denser in quotes is not cut, so a crafted one costs the driver no more than before
MAX_QUOTES = 1 << 16
_ENDS = (b"", b"\n", b"\r")


@dataclass(frozen=True)
class Range:
    """Bytes [start, end) of a file, `lines` physical lines of it before `start`."""

    start: int
    end: int
    lines: int


class _Block:
    """One block's bytes, counted with numpy (about eight times bytes.count's speed:
    counting is all the driver does per byte)."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.arr = np.frombuffer(data, dtype=np.uint8)
        self.has_cr = b"\r" in data
        self.has_quote = b'"' in data

    def quotes(self, start: int, end: int) -> int:
        if not self.has_quote:
            return 0
        return int(np.count_nonzero(self.arr[start:end] == 34))

    def line_ends(self, start: int, end: int) -> int:
        """Line ends in [start, end) (a CRLF once), as a universal-newline reader counts."""
        part = self.arr[start:end]
        n = int(np.count_nonzero(part == 10))
        if self.has_cr:
            cr = part == 13
            n += int(np.count_nonzero(cr)) - int(np.count_nonzero(cr[:-1] & (part[1:] == 10)))
        return n


class _Quotes:
    """Where quoted fields open and close, across blocks, as the csv module (excel
    dialect, not strict) reads them: a quote at a field's start (after a delimiter, a
    line end, or at the file's start) opens one; inside, a doubled quote is a literal
    one and any other quote closes it; a quote anywhere else is a literal character
    (`12 "34`, `, "x"`), which opens nothing. Only opening and closing quotes (the
    "toggles") decide whether a newline is inside a field."""

    def __init__(self, blob: Blob) -> None:
        self.blob = blob
        self.inside = False
        self.skip_first = False  # the block starts with the second quote of a doubled pair
        # where the text starts: the text layer skips a BOM at the file's start
        self.first = len(BOM) if blob.read_range(0, len(BOM)) == BOM else 0

    def toggles(self, data: bytes, offset: int, before: bytes) -> list[int] | None:
        """Positions in `data` of the quotes that open or close a field; None past
        MAX_QUOTES quotes in the block (each is looked at in Python: bounded work)."""
        if b'"' not in data:
            self.skip_first = False
            return []
        quotes = int(np.count_nonzero(np.frombuffer(data, dtype=np.uint8) == 34))
        if quotes > MAX_QUOTES:
            return None
        out: list[int] = []
        i = data.find(b'"', 1 if self.skip_first else 0)
        self.skip_first = False
        while i >= 0:
            if not self.inside:
                at_first = offset + i == self.first
                prev = b"" if at_first else data[i - 1 : i] if i else before
                if prev in (b",", *_ENDS):  # a field's first character: opens it
                    self.inside = True
                    out.append(i)
                i = data.find(b'"', i + 1)  # else a literal quote in an unquoted field
                continue
            nxt = data[i + 1 : i + 2]
            if not nxt and offset + len(data) < self.blob.size:
                nxt = self.blob.read_range(offset + len(data), offset + len(data) + 1)
            if nxt == b'"':  # a doubled quote: a literal one, still inside
                if i + 1 >= len(data):
                    self.skip_first = True
                    break
                i = data.find(b'"', i + 2)
            else:  # closes the field (a character after it is read as unquoted text)
                self.inside = False
                out.append(i)
                i = data.find(b'"', i + 1)
        return out


def uncut_why() -> str:
    """Why `row_ranges` gave None: what a build's notes say of a file read whole."""
    return f"over {MAX_QUOTES:,} quotes in a block of {BLOCK:,} bytes, too many to follow cheaply"


def _step(block: _Block, rows: int, min_bytes: int, max_bytes: int) -> int:
    """Bytes to the next cut, from this block's bytes per line: re-estimated per block,
    so a run of blank lines or tiny rows in one place does not set the size of every
    range, and never under `min_bytes` (a task per row) nor over `max_bytes`."""
    size = len(block.data)
    lines = int(np.count_nonzero(block.arr == 10))  # numpy: ~8x bytes.count's speed
    per_row = size / lines if lines else size
    return max(1, min_bytes, min(int(per_row * max(rows, 1)), max_bytes))


def row_ranges(
    blob: Blob, rows: int, max_bytes: int = MAX_RANGE, min_bytes: int | None = None
) -> list[Range] | None:
    """Ranges of about `rows` rows each (at least `min_bytes`, MIN_RANGE unless given)
    covering the whole file, cut after a newline outside quoted fields; None when the
    file is too dense in quotes to follow them within bounded work (read it whole).

    The first range starts at byte 0 and so holds the header. An empty file is one
    empty range.
    """
    size = blob.size
    floor = MIN_RANGE if min_bytes is None else min_bytes
    first = blob.read_range(0, min(BLOCK, size))
    if size == 0 or b"\n" not in first and size <= len(first):
        return [Range(0, size, 0)]
    quotes = _Quotes(blob)
    out: list[Range] = []
    start, start_lines = 0, 0
    lines = 0  # line ends before the current block
    before = b""  # the byte before the current block
    offset = 0
    while offset < size:
        data = first if offset == 0 else blob.read_range(offset, min(offset + BLOCK, size))
        if not data:
            break
        inside_at_block = quotes.inside
        toggles = quotes.toggles(data, offset, before)
        if toggles is None:
            return None
        block = _Block(data)
        step = _step(block, rows, floor, max_bytes)
        seam = 1 if before == b"\r" and data[:1] == b"\n" else 0  # a CRLF across blocks
        l_pos, l_count = 0, -seam  # line ends in data[:l_pos]
        at = max(start + step - offset, 0)
        while at < len(data):
            c = data.find(b"\n", at)
            if c < 0:
                break
            k = bisect_left(toggles, c)  # toggles before the newline
            if inside_at_block != (k % 2 == 1):  # inside a quoted field
                if k >= len(toggles):
                    break
                at = toggles[k] + 1  # on from where the field closes
                continue
            l_count += block.line_ends(l_pos, c + 1)
            l_pos = c + 1
            cut = offset + c + 1
            if cut < size:
                out.append(Range(start, cut, start_lines))
                start, start_lines = cut, lines + l_count
            at = c + 1 + step if cut < size else len(data)
        lines += l_count + block.line_ends(l_pos, len(data))
        before = data[-1:]
        offset += len(data)
    out.append(Range(start, size, start_lines))
    return out
