"""Just enough BibTeX: split entries, read fields, keep the text verbatim.

Manifests carry BibTeX written by people, and a citation changed in transit is a
wrong citation, so entries are never reformatted: they are cut out of the source
text as they are. Fields are read only to describe the same works in CFF and in the
dataset card, where BibTeX's markup has to go.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

_START = re.compile(r"@(\w+)\s*\{")
_KEY = re.compile(r"\s*([^,\s{}]+)\s*,")
_FIELD_NAME = re.compile(r"\s*([A-Za-z][\w-]*)\s*=\s*")


@dataclass(frozen=True)
class BibEntry:
    """One entry: its type and key, its fields (raw values), and its verbatim text."""

    kind: str
    key: str | None
    text: str
    fields: dict[str, str] = field(default_factory=dict)


def _closing(text: str, open_at: int) -> int:
    """Index of the brace closing the one at `open_at`, or -1 when unbalanced."""
    depth = 0
    for i in range(open_at, len(text)):
        if text[i] == "{":
            depth += 1
        elif text[i] == "}":
            depth -= 1
            if depth == 0:
                return i
    return -1


def _value(body: str, pos: int) -> tuple[str, int]:
    """Read one field value (braced, quoted, bare, `#`-joined) starting at `pos`."""
    parts: list[str] = []
    while pos < len(body):
        while pos < len(body) and body[pos].isspace():
            pos += 1
        if pos >= len(body):
            break
        ch = body[pos]
        if ch == "{":
            end = _closing(body, pos)
            end = len(body) if end < 0 else end
            parts.append(body[pos + 1 : end])
            pos = end + 1
        elif ch == '"':
            end = pos + 1
            depth = 0
            while end < len(body) and not (body[end] == '"' and depth == 0):
                depth += {"{": 1, "}": -1}.get(body[end], 0)
                end += 1
            parts.append(body[pos + 1 : end])
            pos = end + 1
        else:
            m = re.match(r"[^,#\s]+", body[pos:])
            token = m.group(0) if m else ""
            parts.append(token)
            pos += max(len(token), 1)
        while pos < len(body) and body[pos].isspace():
            pos += 1
        if pos < len(body) and body[pos] == "#":
            pos += 1
            continue
        break
    return "".join(parts), pos


def _fields(body: str) -> dict[str, str]:
    out: dict[str, str] = {}
    pos = 0
    while True:
        m = _FIELD_NAME.match(body, pos)
        if not m:
            break
        value, pos = _value(body, m.end())
        out[m.group(1).lower()] = value.strip()
        comma = body.find(",", pos)
        if comma < 0:
            break
        pos = comma + 1
    return out


def parse(text: str) -> list[BibEntry]:
    """Every entry in `text`, in order; @comment, @preamble and @string kept as text."""
    entries: list[BibEntry] = []
    pos = 0
    while m := _START.search(text, pos):
        end = _closing(text, m.end() - 1)
        if end < 0:
            break  # unbalanced tail: the manifest validator rejects this upstream
        kind = m.group(1).lower()
        body = text[m.end() : end]
        chunk = text[m.start() : end + 1]
        key_m = _KEY.match(body) if kind not in {"comment", "preamble", "string"} else None
        key = key_m.group(1) if key_m else None
        fields = _fields(body[key_m.end() :]) if key_m else {}
        entries.append(BibEntry(kind=kind, key=key, text=chunk, fields=fields))
        pos = end + 1
    return entries


def unique_entries(citations: Iterable[str]) -> list[BibEntry]:
    """Entries from several citations, each key once (first wins), order kept.

    Two datasets often cite the same paper (CK+ and its Kaggle copy, LFW for several
    smile sets); a .bib with a key twice makes BibTeX complain and cite the first.
    """
    seen: set[str] = set()
    out: list[BibEntry] = []
    for citation in citations:
        for entry in parse(citation or ""):
            ident = entry.key.lower() if entry.key else entry.text
            if ident in seen:
                continue
            seen.add(ident)
            out.append(entry)
    return out


def render_bib(entries: Iterable[BibEntry]) -> str:
    """A .bib file: the entries verbatim, one blank line apart."""
    return "\n\n".join(e.text.strip() for e in entries) + "\n"


_LATEX_CMD = re.compile(r"\\(?:url|emph|textit|textbf|texttt|mbox)\s*\{([^{}]*)\}")


def plain(value: str) -> str:
    """BibTeX markup to plain text, for formats that are not BibTeX."""
    text = _LATEX_CMD.sub(r"\1", value)
    text = re.sub(r"\\([&%$#_{}])", r"\1", text)
    text = text.replace("~", " ").replace("{", "").replace("}", "")
    return re.sub(r"\s+", " ", text).strip()


@dataclass(frozen=True)
class Name:
    """An author: a person (family, given) or an organisation (entity)."""

    family: str = ""
    given: str = ""
    entity: str = ""


def _split_top(text: str, sep: str) -> list[str]:
    """Split on `sep` (a word, case-insensitive) outside braces."""
    parts, depth, start, i = [], 0, 0, 0
    pattern = re.compile(rf"\s+{sep}\s+", re.IGNORECASE)
    while i < len(text):
        ch = text[i]
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        elif depth == 0 and (m := pattern.match(text, i)):
            parts.append(text[start:i])
            start = i = m.end()
            continue
        i += 1
    parts.append(text[start:])
    return [p.strip() for p in parts if p.strip()]


def names(value: str) -> list[Name]:
    """The `author` field as names; `others` (et al.) is dropped, braced names are entities."""
    out: list[Name] = []
    for raw in _split_top(value, "and"):
        if raw.lower() == "others":
            continue
        if raw.startswith("{") and raw.endswith("}") and _closing(raw, 0) == len(raw) - 1:
            out.append(Name(entity=plain(raw)))
            continue
        depth, comma = 0, -1
        for i, ch in enumerate(raw):
            depth += {"{": 1, "}": -1}.get(ch, 0)
            if ch == "," and depth == 0:
                comma = i
                break
        if comma >= 0:
            out.append(Name(family=plain(raw[:comma]), given=plain(raw[comma + 1 :])))
        else:
            words = plain(raw).split(" ")
            out.append(Name(family=words[-1], given=" ".join(words[:-1])))
    return out
