"""Cutting a CSV file into ranges of whole rows without parsing it.

The driver of a build must not tokenize a million-row label file; its workers do,
one range each. A range boundary is found in the bytes: a newline outside any quoted
field, about every `rows` rows' worth of bytes (rows per byte estimated from the
first block). Counting bytes is all the driver does: `bytes.find` and numpy counts
over blocks, which run at memory speed.

Being outside a quoted field is decided by quote parity, which is exact only when
every quote sits where the csv module (excel dialect) treats it as quoting: opening
at the start of a field, and closing before a delimiter, a line end or the end of the
file (or doubled inside the field). A file with any other quote (`ab"c`, `, "x"`) is
not cut at all (`None`): the caller reads it whole, as before, rather than risk a cut
inside a field.

Each range knows how many physical lines come before it, counted as the text layer
counts them (`\\n`, `\\r\\n` and a lone `\\r` each end a line), so a row read from a
range gets the same line number, and therefore the same key and `where`, as when
the whole file is read.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from facedata.read.blob import Blob

BLOCK = 1 << 20  # bytes scanned at a time
MAX_RANGE = 64 << 20  # bytes in one range at most, whatever the rows per byte
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
    """Quote state across blocks; `check` refuses a quote csv would not treat as quoting."""

    def __init__(self, blob: Blob) -> None:
        self.blob = blob
        self.inside = False
        self.skip_first = False  # the block starts with the second quote of a doubled pair
        self.count = 0  # quotes before the current block (parity = inside at its start)

    def check(self, data: bytes, offset: int, before: bytes) -> bool:
        if b'"' not in data:
            return True
        quotes = int(np.count_nonzero(np.frombuffer(data, dtype=np.uint8) == 34))
        if quotes > MAX_QUOTES:  # each is looked at in Python: bounded work
            return False
        i = data.find(b'"', 1 if self.skip_first else 0)
        self.skip_first = False
        while i >= 0:
            if not self.inside:
                prev = data[i - 1 : i] if i else before
                if prev not in (b",", *_ENDS):
                    return False
                self.inside = True
                i = data.find(b'"', i + 1)
                continue
            nxt = data[i + 1 : i + 2]
            if not nxt and offset + len(data) < self.blob.size:
                nxt = self.blob.read_range(offset + len(data), offset + len(data) + 1)
            if nxt == b'"':  # a doubled quote: a literal one, still inside
                if i + 1 >= len(data):
                    self.skip_first = True
                    break
                i = data.find(b'"', i + 2)
            elif nxt in (b",", *_ENDS):
                self.inside = False
                i = data.find(b'"', i + 1)
            else:
                return False
        return True


def row_ranges(blob: Blob, rows: int, max_bytes: int = MAX_RANGE) -> list[Range] | None:
    """Ranges of about `rows` rows each covering the whole file, cut after a newline
    outside quotes; None when a quote makes parity unreliable (read the file whole).

    The first range starts at byte 0 and so holds the header. An empty file is one
    empty range.
    """
    size = blob.size
    first = blob.read_range(0, min(BLOCK, size))
    newlines = first.count(b"\n")
    if size == 0 or newlines == 0:
        return [Range(0, size, 0)]
    per_row = len(first) / newlines
    step = max(1, min(int(per_row * max(rows, 1)), max_bytes))
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
        inside_at_block = quotes.count % 2 == 1
        if not quotes.check(data, offset, before):
            return None
        block = _Block(data)
        seam = 1 if before == b"\r" and data[:1] == b"\n" else 0  # a CRLF across blocks
        # a cut at a newline outside quotes, at or after `start + step`
        q_pos, q_count = 0, 0  # quotes in data[:q_pos]
        l_pos, l_count = 0, -seam  # line ends in data[:l_pos]
        at = max(start + step - offset, 0)
        while at < len(data):
            c = data.find(b"\n", at)
            if c < 0:
                break
            q_count += block.quotes(q_pos, c)
            q_pos = c
            if inside_at_block != (q_count % 2 == 1):  # inside a quoted field
                nxt = data.find(b'"', c)
                if nxt < 0:
                    break
                at = nxt + 1
                continue
            l_count += block.line_ends(l_pos, c + 1)
            l_pos = c + 1
            cut = offset + c + 1
            if cut < size:
                out.append(Range(start, cut, start_lines))
                start, start_lines = cut, lines + l_count
            at = c + 1 + step if cut < size else len(data)
        quotes.count += q_count + block.quotes(q_pos, len(data))
        lines += l_count + block.line_ends(l_pos, len(data))
        before = data[-1:]
        offset += len(data)
    out.append(Range(start, size, start_lines))
    return out
