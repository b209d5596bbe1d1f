"""Parse a report page into what the tests check: tags, images, tables, sample grids."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from html.parser import HTMLParser


@dataclass
class Page:
    tags: Counter = field(default_factory=Counter)
    attrs: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    sections: list[str] = field(default_factory=list)
    tables: dict[str, list[list[list[str]]]] = field(default_factory=lambda: defaultdict(list))
    grids: dict[str, int] = field(default_factory=dict)
    text: str = ""

    def imgs(self) -> list[dict[str, str]]:
        return [a for tag, a in self.attrs if tag == "img"]

    def alts(self) -> set[str]:
        return {a.get("alt", "") for a in self.imgs()}

    def table(self, section: str, index: int = 0) -> dict[str, list[str]]:
        """Rows of one table in a section, keyed by their first cell."""
        return {row[0]: row[1:] for row in self.tables[section][index][1:]}


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.page = Page()
        self._section = ""
        self._grid: str | None = None
        self._grid_depth = 0
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        self.page.tags[tag] += 1
        self.page.attrs.append((tag, a))
        if tag == "section":
            self._section = a.get("id", "")
            self.page.sections.append(self._section)
        elif tag == "table":
            self.page.tables[self._section].append([])
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "div" and "grid" in a.get("class", "").split():
            self._grid = a.get("data-class", "")
            self.page.grids[self._grid] = 0
            self._grid_depth = 0
        elif tag == "div" and self._grid is not None:
            self._grid_depth += 1
        elif tag == "img" and self._grid is not None:
            self.page.grids[self._grid] += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.page.tables[self._section][-1].append(self._row)
            self._row = None
        elif tag == "div" and self._grid is not None:
            if self._grid_depth == 0:
                self._grid = None
            else:
                self._grid_depth -= 1

    def handle_data(self, data: str) -> None:
        self._text.append(data)
        if self._cell is not None:
            self._cell.append(data)


def parse(html: str) -> Page:
    parser = _Parser()
    parser.feed(html)
    parser.close()
    parser.page.text = " ".join(" ".join(parser._text).split())
    return parser.page
