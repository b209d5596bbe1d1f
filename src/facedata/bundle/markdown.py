"""Small Markdown helpers shared by the card, ATTRIBUTION.md and LICENSES/.

Every piece of manifest or corpus text goes through facedata.files.sanitize on its way
in: prose with `text`, identifiers with `code`, links with `link`, legal text
quoted exactly with `fence`.
"""

from __future__ import annotations

import re

import facedata.files.sanitize as sanitize

text = sanitize.markdown
block = sanitize.markdown_block
link = sanitize.markdown_url


def code(value: object) -> str:
    """An inline code span (an id, a file name): inert whatever it holds."""
    body = sanitize.plain_text(value, newlines=False).strip() or " "
    longest = max((len(m) for m in re.findall(r"`+", body)), default=0)
    ticks = "`" * (longest + 1)
    pad = " " if body.startswith("`") or body.endswith("`") else ""
    return f"{ticks}{pad}{body}{pad}{ticks}"


def fence(value: str, lang: str = "text") -> list[str]:
    """`value` in a code fence longer than any backtick run inside it, so it stays verbatim.

    Inside a fence nothing is markup; control characters and escape sequences go.
    """
    body = sanitize.markdown_verbatim(value)
    longest = max((len(m) for m in re.findall(r"`+", body)), default=0)
    ticks = "`" * max(3, longest + 1)
    return [f"{ticks}{lang}", body, ticks]


def table(header: list[str], rows: list[list[str]], numeric: int = 0) -> list[str]:
    """A pipe table, the last `numeric` columns right-aligned; a bare `|` in a cell is escaped.

    Cells are Markdown already (callers pass manifest text through `text`); newlines
    would end the row, so they become spaces.
    """

    def cell(value: str) -> str:
        one_line = re.sub(r"\s*\n\s*", " ", str(value))
        return re.sub(r"(?<!\\)\|", r"\\|", one_line)

    def cells(values: list[str]) -> str:
        return "| " + " | ".join(cell(v) for v in values) + " |"

    aligns = ["---"] * (len(header) - numeric) + ["---:"] * numeric
    return [cells(header), "| " + " | ".join(aligns) + " |", *(cells(r) for r in rows)]
