"""Small Markdown helpers shared by the card, ATTRIBUTION.md and LICENSES/."""

from __future__ import annotations

import re


def fence(text: str, lang: str = "text") -> list[str]:
    """`text` in a code fence longer than any backtick run inside it, so it stays verbatim."""
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    ticks = "`" * max(3, longest + 1)
    return [f"{ticks}{lang}", text.rstrip("\n"), ticks]


def table(header: list[str], rows: list[list[str]], numeric: int = 0) -> list[str]:
    """A pipe table, the last `numeric` columns right-aligned; `|` in cells is escaped."""

    def cells(values: list[str]) -> str:
        return "| " + " | ".join(str(v).replace("|", "\\|") for v in values) + " |"

    aligns = ["---"] * (len(header) - numeric) + ["---:"] * numeric
    return [cells(header), "| " + " | ".join(aligns) + " |", *(cells(r) for r in rows)]
