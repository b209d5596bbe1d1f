"""Tables that stay usable off a terminal.

On a terminal a rich table is the clearest view. Piped or redirected, rich would wrap
every cell into an 80-column grid ("affectn" / "et"), and `facedata list | grep
AffectNet` would find nothing; so off a terminal a table prints as TSV: a header line,
then one full row per line, no colour, no title, no wrapping.
"""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text


def _plain(cell: object) -> str:
    if isinstance(cell, Text):
        text = cell.plain
    elif isinstance(cell, str):
        text = Text.from_markup(cell).plain
    else:
        text = str(cell)
    return " ".join(text.replace("\t", " ").split())  # one line per row, tabs only between cells


def show_table(console: Console, table: Table, titled: bool = False) -> None:
    """The table as rich draws it on a terminal, as TSV anywhere else.

    `titled`: a command that prints several tables heads each with `# title`.
    """
    if console.is_terminal:
        console.print(table)
        return
    columns = table.columns
    lines = [f"# {_plain(table.title)}"] if titled and table.title else []
    lines.append("\t".join(_plain(c.header) for c in columns))
    rows = zip(*(list(c.cells) for c in columns), strict=True) if columns else []
    lines += ["\t".join(_plain(cell) for cell in row) for row in rows]
    console.file.write("\n".join(lines) + "\n")
    console.file.flush()
