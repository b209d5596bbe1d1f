"""Small HTML building blocks. Every value from data goes through `esc`.

The page carries its own CSS and no script at all: it has to open offline, from an
archive or an e-mail, years after the build, and a dataset name like
`<script>...` must show as text, never run.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import facedata.files.sanitize as sanitize

CSS = """
:root { --fg:#1f2328; --muted:#636c76; --line:#d8dee4; --bg:#fff; --card:#f6f8fa; }
* { box-sizing: border-box; }
body { font: 14px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial,
  sans-serif; color: var(--fg); background: var(--bg); margin: 0; }
main { max-width: 1100px; margin: 0 auto; padding: 24px 28px 64px; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 20px; margin: 36px 0 10px; padding-bottom: 4px;
  border-bottom: 1px solid var(--line); }
h3 { font-size: 15px; margin: 20px 0 8px; }
.muted, .note { color: var(--muted); }
.note { margin: 6px 0; }
nav { margin: 12px 0 4px; font-size: 13px; }
nav a { margin-right: 12px; color: #0969da; text-decoration: none; white-space: nowrap; }
.banner { border-radius: 8px; padding: 14px 18px; margin: 16px 0; border: 2px solid; }
.banner strong { display: block; font-size: 17px; margin-bottom: 4px; }
.banner.stop { background: #fff1f0; border-color: #d1242f; color: #82071e; }
.banner.ok { background: #eefbf1; border-color: #1a7f37; color: #0f5323; }
.banner.warn { background: #fff8c5; border-color: #bf8700; color: #6f4d00; }
.stats { display: grid; grid-template-columns: repeat(auto-fill, minmax(160px, 1fr));
  gap: 10px; margin: 12px 0; }
.stat { background: var(--card); border: 1px solid var(--line); border-radius: 8px;
  padding: 10px 12px; }
.stat b { display: block; font-size: 20px; overflow-wrap: anywhere; }
.stat span { color: var(--muted); font-size: 12px; }
table { border-collapse: collapse; margin: 8px 0 12px; font-size: 13px; }
th, td { border-bottom: 1px solid var(--line); padding: 4px 10px; text-align: left;
  vertical-align: top; }
th { background: var(--card); font-weight: 600; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
td.ex { color: var(--muted); font-size: 12px; overflow-wrap: anywhere; max-width: 520px; }
figure.plot { margin: 8px 0; }
figure.plot img { max-width: 100%; height: auto; }
.grid { display: flex; flex-wrap: wrap; gap: 8px; margin: 6px 0 14px; }
.thumb { width: 120px; margin: 0; text-align: center; }
.thumb img, .thumb .broken { width: 112px; height: 112px; object-fit: contain;
  background: #eee; border-radius: 4px; display: block; margin: 0 auto; }
.thumb .broken { line-height: 112px; font-size: 11px; color: var(--muted); }
.thumb figcaption { font-size: 11px; color: var(--muted); overflow-wrap: anywhere; }
.thumb figcaption .fallback { color: #9a6700; font-weight: 600; }
code { font-size: 12px; background: var(--card); padding: 1px 4px; border-radius: 4px; }
footer { margin-top: 40px; color: var(--muted); font-size: 12px; }
"""


def esc(value: object) -> str:
    """Text for the page: the HTML policy (escaped, control characters dropped)."""
    return sanitize.html("" if value is None else value)


def num(n: int | float) -> str:
    return f"{n:,}" if isinstance(n, int) else f"{n:,.3g}"


def pct(n: int, total: int) -> str:
    return f"{100 * n / total:.1f}%" if total else "–"


def link(url: object, text: object | None = None) -> str:
    """A link only for http(s) URLs: a `javascript:` URL from data stays inert text."""
    shown = esc(text if text is not None else url)
    good = sanitize.url(url)
    if good is not None:
        return f'<a href="{esc(good)}" rel="noreferrer noopener">{shown}</a>'
    return shown


def table(
    headers: Sequence[str],
    rows: Iterable[Sequence[object]],
    *,
    numeric: Iterable[int] = (),
    raw: Iterable[int] = (),
    classes: dict[int, str] | None = None,
) -> str:
    """A table; cells in `raw` columns are trusted HTML built by this package."""
    numeric, raw, classes = set(numeric), set(raw), classes or {}

    def cls(i: int) -> str:
        names = (["n"] if i in numeric else []) + ([classes[i]] if i in classes else [])
        return f' class="{" ".join(names)}"' if names else ""

    head = "".join(f"<th{cls(i)}>{esc(h)}</th>" for i, h in enumerate(headers))
    body = []
    for row in rows:
        cells = []
        for i, value in enumerate(row):
            if i in raw:
                text = str(value)
            elif isinstance(value, int | float) and not isinstance(value, bool):
                text = num(value)
            else:
                text = esc(value)
            cells.append(f"<td{cls(i)}>{text}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def figure(uri: str, alt: str) -> str:
    return f'<figure class="plot"><img src="{esc(uri)}" alt="{esc(alt)}"></figure>'


def note(text: str) -> str:
    return f'<p class="note">{esc(text)}</p>'


def section(anchor: str, title: str, body: str) -> str:
    return f'<section id="{esc(anchor)}"><h2>{esc(title)}</h2>{body}</section>'


def stat(value: object, label: str) -> str:
    return f'<div class="stat"><b>{esc(value)}</b><span>{esc(label)}</span></div>'


def page(title: str, nav: Sequence[tuple[str, str]], body: str, footer: str) -> str:
    links = "".join(f'<a href="#{esc(a)}">{esc(t)}</a>' for a, t in nav)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title><style>{CSS}</style></head>"
        f"<body><main><h1>{esc(title)}</h1><nav>{links}</nav>{body}"
        f"<footer>{footer}</footer></main></body></html>\n"
    )
