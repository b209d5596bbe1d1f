"""The sample grids: up to N aligned faces per class of each head."""

from __future__ import annotations

from facedata.report.gather import CorpusData
from facedata.report.html import esc, note, num, section
from facedata.report.keys import (
    FALLBACK_FRAME,
    HEAD_TITLES,
    MISSING,
    SMILE_NAMES,
    class_order,
    keyed,
)
from facedata.vocabulary import HEADS


def samples(data: CorpusData) -> str:
    parts = [
        note(
            f"Up to {data.sample_cap} aligned faces per class, picked by image hash "
            "(deterministic, spread over datasets and splits)."
        )
    ]
    hidden = {(t.dataset, t.key) for ts in data.samples.values() for t in ts if t.hidden}
    if hidden:
        parts.append(
            note(
                f"{len(hidden)} picked face(s) not shown: the participant has no "
                "publication consent in the consent register."
            )
        )
    counts = {h: keyed(data.stats.count_by(h)) for h in HEADS}
    for head in HEADS:
        parts.append(f"<h3>{esc(HEAD_TITLES[head])}</h3>")
        classes = class_order(head, (c for c in counts[head] if c != MISSING))
        if not classes:
            parts.append(note(f"No row is labelled for {head}."))
            continue
        names = SMILE_NAMES if head == "smile" else {}
        for cls in classes:
            thumbs = data.samples.get((head, cls), [])
            parts.append(
                f'<h3 class="muted">{esc(names.get(cls, cls))} · {num(counts[head][cls])} rows,'
                f" {len(thumbs)} shown</h3>"
            )
            cells = []
            for t in thumbs:
                if t.hidden:
                    img = (
                        f'<div class="broken hidden-face" title="{esc(t.key)}">'
                        "not shown: no publication consent</div>"
                    )
                elif t.uri:
                    img = f'<img src="{esc(t.uri)}" alt="{esc(t.key)}" title="{esc(t.key)}">'
                else:
                    img = '<div class="broken">cannot decode</div>'

                caption = f"{esc(t.dataset)} · {esc(t.split)}"
                if t.align:
                    fallback = ' class="fallback"' if t.align == FALLBACK_FRAME else ""
                    caption += f"<br><span{fallback}>{esc(t.align)}</span>"
                cells.append(
                    f'<figure class="thumb">{img}<figcaption>{caption}</figcaption></figure>'
                )
            parts.append(
                f'<div class="grid" data-class="{esc(head)}:{esc(cls)}">{"".join(cells)}</div>'
            )
    return section("samples", "Aligned samples", "".join(parts))
