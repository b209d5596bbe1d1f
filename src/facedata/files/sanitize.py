"""One text policy per output format: manifest and corpus text made inert, not rewritten.

Manifests and corpus records come from other people (a catalog pull request, a
corpus someone sent), and their text lands in files that other programs act on: a
dataset card the Hub renders as HTML, a .bib that LaTeX runs (`\\write18` executes
shell commands under `--shell-escape`), JSON-LD embedded in web pages, and the
terminal, which obeys escape sequences. Citations and attributions are legal text,
so the words must survive; only what would make a reader *do* something goes:

- `terminal`: escape sequences and control characters are stripped.
- `markdown` / `markdown_block`: HTML, links, emphasis and line-leading block syntax
  (`#`, lists, quotes, fences) are backslash-escaped, so they render as the
  characters written; `javascript:`-like schemes lose their power to link.
- `html`: escaped.
- `bibtex`: entries parsed; only known entry types kept verbatim; `@preamble`,
  `@string`, TeX primitives that write files or run commands, and unbalanced braces
  are refused with an `UnsafeTextError` naming what and where.
- `yaml_text` / `jsonld_text`: control characters stripped (the serialisers quote);
  `jsonld_document` escapes `<`, `>` and `&` so a `</script>` cannot end an
  embedding page's script block.
- `url`: http(s) with a host, or nothing.

Every function is pure and total on `str` (non-strings are converted first), so a
renderer can call it on any field without a type check of its own.
"""

from __future__ import annotations

import html as _html
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from facedata.errors import FacedataError


class UnsafeTextError(FacedataError):
    """Text from a manifest or corpus would act, not read, in the format it is written to."""


# ESC-introduced sequences: CSI (ESC [ ... final), OSC (ESC ] ... BEL or ST), and the
# two-character escapes; then the 8-bit CSI/OSC forms (U+009B, U+009D).
_ANSI = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"
    r"|\x1b[PX^_][^\x1b]*(?:\x1b\\)?"
    r"|\x1b[@-Z\\-_]?"
    r"|\x9b[0-?]*[ -/]*[@-~]"
    r"|\x9d[^\x07\x9c]*[\x07\x9c]?"
)
# C0 (but tab and newline), DEL, C1, and the bidi controls that reorder what is shown
# (a "Trojan Source" name reads differently from what it is).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _str(value: object) -> str:
    return value if isinstance(value, str) else "" if value is None else str(value)


def plain_text(value: object, *, newlines: bool = True) -> str:
    """Text with escape sequences and control characters removed (tab and newline kept)."""
    text = _CONTROL.sub("", _ANSI.sub("", _str(value).replace("\r\n", "\n")))
    return text if newlines else re.sub(r"\s*\n\s*", " ", text)


def terminal(value: object, *, newlines: bool = True) -> str:
    """What may be printed: no escape sequence reaches the terminal (titles, colours,
    cursor moves, hyperlinks, clipboard writes), and no carriage return hides text."""
    return plain_text(value, newlines=newlines)


def html(value: object) -> str:
    """Text for an HTML page or attribute: every markup character escaped."""
    return _html.escape(plain_text(value), quote=True)


# Characters that start inline markup anywhere on a line: code, emphasis, links and
# images, raw HTML and entities, strikethrough, table cells, backslash itself.
_MD_INLINE = re.compile(r"([\\`*_\[\]<>|&~])")
# Line-leading block syntax (headings, list bullets, setext underlines, ordered
# lists); quotes, fences and `*` bullets are inline characters escaped above.
_MD_LEADING = re.compile(r"^([ \t]*)([#+=\-])", re.MULTILINE)
_MD_ORDERED = re.compile(r"^([ \t]*\d{1,9})([.)])", re.MULTILINE)
# URL schemes that run or embed code when a renderer links them.
_SCHEMES = re.compile(r"\b(javascript|vbscript|data|file)(\s*):", re.IGNORECASE)


def _markdown(text: str) -> str:
    text = _MD_INLINE.sub(r"\\\1", text)
    text = _SCHEMES.sub(r"\1\2\\:", text)
    text = _MD_ORDERED.sub(r"\1\\\2", text)
    text = _MD_LEADING.sub(r"\1\\\2", text)
    # four spaces would make an indented code block: keep the words, drop the indent
    return re.sub(r"^[ \t]+", "", text, flags=re.MULTILINE)


def markdown(value: object) -> str:
    """One line of Markdown prose (a name, a table cell): renders as the characters written."""
    return _markdown(plain_text(value, newlines=False).strip())


def markdown_block(value: object) -> str:
    """Several lines of Markdown prose (notes): each line inert, blank lines kept."""
    return _markdown(plain_text(value).strip("\n"))


def markdown_verbatim(value: object) -> str:
    """Text for inside a code fence (legal text quoted exactly): only controls go.

    A fence longer than any backtick run inside it (markdown.fence) keeps the text
    from closing it; inside a fence nothing is markup.
    """
    return plain_text(value).strip("\n")


def url(value: object) -> str | None:
    """An http(s) URL with a host and no whitespace, or None: other schemes run code."""
    text = _str(value).strip()
    if not text or _CONTROL.search(text) or any(c.isspace() for c in text):
        return None
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises ValueError when out of range
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return text


def markdown_url(value: object, missing: str = "no link known") -> str:
    """A URL shown in Markdown: an autolink when it is http(s), words when it is not."""
    good = url(value)
    if good is None:
        return missing if not _str(value).strip() else "(a link that is not http(s), withheld)"
    return "<" + good.replace("<", "%3C").replace(">", "%3E") + ">"


def yaml_text(value: object) -> str:
    """A YAML (CFF) scalar's text; yaml.safe_dump quotes whatever needs quoting."""
    return plain_text(value)


def jsonld_text(value: object) -> str:
    """A JSON-LD string value; json.dumps escapes quotes and backslashes."""
    return plain_text(value)


def each_string(value: Any, policy: Callable[[object], str]) -> Any:
    """`value` (nested lists and dicts, as a document is built) with every string
    through `policy`: a document gets one text policy everywhere, keys excepted."""
    if isinstance(value, str):
        return policy(value)
    if isinstance(value, list):
        return [each_string(v, policy) for v in value]
    if isinstance(value, dict):
        return {k: each_string(v, policy) for k, v in value.items()}
    return value


def jsonld_document(rendered_json: str) -> str:
    """Serialised JSON made safe to embed in HTML: `<`, `>`, `&` as \\u escapes.

    Outside strings JSON never uses these characters, so the replacement only touches
    string contents, and a JSON parser reads back exactly the same values.
    """
    return rendered_json.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


# -- BibTeX ------------------------------------------------------------------------

# The entry types BibTeX's standard styles, biblatex and the Hub know; anything
# else is refused rather than guessed at.
BIB_TYPES = frozenset(
    {
        "article",
        "book",
        "booklet",
        "conference",
        "inbook",
        "incollection",
        "inproceedings",
        "manual",
        "mastersthesis",
        "misc",
        "phdthesis",
        "proceedings",
        "techreport",
        "unpublished",
        "online",
        "dataset",
        "software",
        "thesis",
        "report",
        "collection",
        "electronic",
    }
)
# TeX that writes files, runs commands, reads files or redefines things: a citation
# has no business with any of them.
_TEX_DANGER = re.compile(
    r"\\(?:immediate|write\d*|openout|openin|input|include|includeonly|read|"
    r"special|def|edef|gdef|xdef|let|catcode|csname|newcommand|renewcommand|"
    r"providecommand|directlua|luaexec|ShellEscape|usepackage|documentclass|"
    r"makeatletter|jobname|endinput|afterassign|everyeof|scantokens)(?![A-Za-z])"
)
_ENTRY = re.compile(r"@\s*([A-Za-z]+)\s*([{(])")


def _closing(text: str, at: int, opener: str) -> int:
    """Index of what closes the entry opened at `at` (`{` or `(`), or -1."""
    depth = 0
    for i in range(at, len(text)):
        ch = text[i]
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        if opener == "(" and ch == ")" and depth == 0:
            return i
        if opener == "{" and ch == "}" and depth == 0:
            return i
        if depth < 0:
            return -1
    return -1


def _balanced(text: str) -> bool:
    """Every `}` closes an earlier `{`, and every `{` is closed."""
    depth = 0
    for ch in text:
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth < 0:
                return False
    return depth == 0


def bibtex(value: object, where: str = "citation") -> str:
    """BibTeX that LaTeX may safely read: the known entries, verbatim, one blank line apart.

    Refuses (UnsafeTextError, naming `where`) what cannot be made inert by dropping:
    `@preamble` and `@string` (their text goes straight into the document or into
    every field), an unknown entry type, unbalanced braces, and TeX primitives that
    write files or run commands. Text between entries is a BibTeX comment and is
    dropped; `@comment` entries too.
    """
    text = plain_text(value)
    if not _balanced(text):
        raise UnsafeTextError(
            f"{where}: unbalanced braces in BibTeX",
            hint="every { needs its } (a citation cut short?); fix the citation and retry",
        )
    danger = _TEX_DANGER.search(text)
    if danger:
        raise UnsafeTextError(
            f"{where}: the TeX command '{danger.group(0)}' can write files or run "
            "commands when LaTeX reads the .bib",
            hint="a citation needs no TeX commands of this kind: remove it from the citation",
        )
    out: list[str] = []
    pos = 0
    while m := _ENTRY.search(text, pos):
        kind = m.group(1).lower()
        end = _closing(text, m.end() - 1, m.group(2))
        if end < 0:
            raise UnsafeTextError(
                f"{where}: the @{m.group(1)} entry never closes",
                hint="every { needs its }: fix the citation and retry",
            )
        if kind in ("preamble", "string"):
            raise UnsafeTextError(
                f"{where}: @{m.group(1)} is not allowed in a citation (its text goes into "
                "every document or field that uses the .bib)",
                hint="write the citation as plain entries (@article{...}, @misc{...}) "
                "with the values spelled out",
            )
        if kind != "comment":
            if kind not in BIB_TYPES:
                raise UnsafeTextError(
                    f"{where}: unknown BibTeX entry type @{m.group(1)}",
                    hint="use a standard type: " + ", ".join(sorted(BIB_TYPES)),
                )
            out.append(text[m.start() : end + 1].strip())
        pos = end + 1
    if not out:
        raise UnsafeTextError(
            f"{where}: no BibTeX entry found",
            hint="a citation is BibTeX, e.g. @article{key, title={...}, ...}",
        )
    return "\n\n".join(out)
