"""The story of a build: from the entries its readers saw to the rows a trainer gets.

A headline of "281 rows" hides that 3,000 were read; this section walks every step
in data-flow order (reader, consent, labels, image, face, exact and near dedup,
forget) with what each removed and what remained, each step broken down by reason,
and says where the record does not add up. It also shows what dedup did to the
label balance and which subjects leak across splits. Every number comes from
corpus.json (its `funnel`, `drops`, `counts`, `forgotten` and `leaks`).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from facedata.report import plots
from facedata.report.gather import CorpusData
from facedata.report.html import esc, figure, note, num, pct, section, table
from facedata.report.keys import HEAD_TITLES, SMILE_NAMES, class_order, get_dict, get_list, keyed
from facedata.vocabulary import HEADS, READER_STAGE, STAGE_TERMS

# (stage key in corpus.json, what the step removes), in data-flow order
STEPS = tuple((s.name, s.removes) for s in STAGE_TERMS.values() if s.name != READER_STAGE)
READER = (READER_STAGE, STAGE_TERMS[READER_STAGE].removes)
REASONS_SHOWN = 12  # per step; corpus.json and the drops section list every reason


@dataclass
class Step:
    label: str
    removed: int | None  # None for the running totals
    remaining: int
    kind: str  # "total" | "step" | "reason"


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _reasons(meta: Mapping[str, Any]) -> dict[str, list[tuple[str, int]]]:
    """Drop reasons grouped by the stage the build recorded for each."""
    out: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for reason, value in get_dict(meta, "drops").items():
        if not isinstance(value, dict) or _int(value.get("count")) is None:
            continue
        out[str(value.get("stage") or "?")].append((str(reason), value["count"]))
    for items in out.values():
        items.sort(key=lambda t: (-t[1], t[0]))
    return out


def steps(meta: Mapping[str, Any]) -> tuple[list[Step], list[str]]:
    """The funnel rows and any inconsistency found; empty when corpus.json has no funnel."""
    funnel = get_dict(meta, "funnel")
    counts = get_dict(meta, "counts")
    stages = funnel.get("stages") if isinstance(funnel.get("stages"), dict) else None
    read = _int(funnel.get("read"))
    if stages is None or read is None:
        return [], []
    reasons = _reasons(meta)
    problems: list[str] = []
    rows: list[Step] = []

    def reason_rows(stage: str, remaining: int) -> None:
        items = reasons.get(stage, [])
        for reason, n in items[:REASONS_SHOWN]:
            rows.append(Step(f"↳ {reason}", n, remaining, "reason"))
        if len(items) > REASONS_SHOWN:
            rest = sum(n for _, n in items[REASONS_SHOWN:])
            rows.append(
                Step(f"↳ {len(items) - REASONS_SHOWN} other reasons", rest, remaining, "reason")
            )

    before = _int(stages.get(READER[0])) or 0
    if before:
        rows.append(Step("entries in the sources", None, read + before, "total"))
        rows.append(Step(READER[1], before, read, "step"))
        reason_rows(READER[0], read)
    rows.append(Step("rows read", None, read, "total"))
    remaining = read
    for stage, label in STEPS:
        n = _int(stages.get(stage)) or 0
        if not n:
            continue
        remaining -= n
        rows.append(Step(label, n, remaining, "step"))
        reason_rows(stage, remaining)
    written = _int(funnel.get("written"))
    if written is not None and written != remaining:
        problems.append(
            f"the funnel does not add up: {num(read)} read minus every step leaves "
            f"{num(remaining)}, but the build wrote {num(written)}."
        )
        remaining = written
    rows.append(Step("rows written by the build", None, remaining, "total"))
    forgotten = sum(
        _int(f.get("rows_removed")) or 0 for f in get_list(meta, "forgotten") if isinstance(f, dict)
    )
    if forgotten:
        remaining -= forgotten
        rows.append(Step("removed later by `facedata forget`", forgotten, remaining, "step"))
    total = _int(counts.get("total"))
    if total is not None and total != remaining:
        problems.append(
            f"the funnel ends at {num(remaining)} rows but corpus.json counts {num(total)}."
        )
    rows.append(
        Step("rows in the corpus", None, total if total is not None else remaining, "total")
    )
    return rows, problems


def funnel(data: CorpusData) -> str:
    meta = data.meta
    rows, problems = steps(meta)
    if not rows:
        counts = get_dict(meta, "counts")
        dropped = sum(
            v.get("count", 0) for v in get_dict(meta, "drops").values() if isinstance(v, dict)
        )
        body = note(
            "This corpus.json predates the step-by-step funnel (built by an older facedata): "
            f"{num(counts.get('read', 0) or 0)} rows read, {num(dropped)} dropped (see Drop "
            f"reasons), {num(data.stats.rows)} in the shards."
        )
        return section("funnel", "From rows read to rows kept", body)
    parts = [
        f'<div class="banner warn"><strong>Check this corpus</strong>{esc(p)}</div>'
        for p in problems
    ]
    main = [s for s in rows if s.kind != "reason"]
    parts.append(
        figure(
            plots.bars(
                [s.label if s.removed is None else f"− {s.label} ({num(s.removed)})" for s in main],
                [s.remaining for s in main],
                title="Rows remaining after each step",
                colors=["#4e79a7" if s.kind == "total" else "#e15759" for s in main],
            ),
            "rows remaining after each step",
        )
    )
    first = rows[0].remaining
    body_rows = [
        [
            s.label,
            "" if s.removed is None else f"−{num(s.removed)}",
            s.remaining,
            pct(s.remaining, first),
        ]
        for s in rows
    ]
    parts.append(
        table(
            ["step", "removed", "remaining", "of the first"],
            body_rows,
            numeric=[1, 2, 3],
            classes={0: "step"},
        )
    )
    parts.append(_dedup_balance(data))
    return section("funnel", "From rows read to rows kept", "".join(parts))


def _dedup_balance(data: CorpusData) -> str:
    """Per head: class counts before dedup (kept + removed as duplicates) and after."""
    removed = get_dict(get_dict(data.meta, "funnel"), "duplicates_by_label")
    parts = []
    for head in HEADS:
        kept = {k: n for k, n in keyed(data.stats.count_by(head)).items() if k != "(none)"}
        dups = Counter(
            {str(k): v for k, v in get_dict(removed, head).items() if _int(v) is not None}
        )
        if not kept and not dups:
            continue
        before = Counter(kept) + dups
        names = SMILE_NAMES if head == "smile" else {}
        total_before, total_after = sum(before.values()), sum(kept.values())
        rows = [
            [
                names.get(c, c),
                before[c],
                pct(before[c], total_before),
                dups.get(c, 0),
                kept.get(c, 0),
                pct(kept.get(c, 0), total_after),
            ]
            for c in class_order(head, before)
        ]
        parts.append(
            f"<h3>{esc(HEAD_TITLES[head])} balance before and after dedup</h3>"
            + table(
                ["class", "before dedup", "share", "duplicates removed", "after dedup", "share"],
                rows,
                numeric=[1, 2, 3, 4, 5],
            )
        )
    return "".join(parts)


def leaks(data: CorpusData) -> str:
    """Subjects found in more than one split: a test score that includes them is inflated."""
    found = [x for x in get_list(data.meta, "leaks") if isinstance(x, dict)]
    if not found:
        named = data.stats.with_subject
        if not named:
            text = (
                "Leaks could not be checked: no row names its subject, so the same person "
                "may appear in more than one split."
            )
        elif named < data.stats.rows:
            text = (
                f"No subject appears in more than one split among the {num(named)} row(s) "
                f"that name one; the other {num(data.stats.rows - named)} could not be checked."
            )
        else:
            text = "No subject appears in more than one split."
        return section("leaks", "Subject leaks", note(text))
    rows = [
        [
            str(x.get("dataset", "?")),
            str(x.get("subject_id", x.get("subject", "?"))),
            ", ".join(map(str, x.get("splits") or [])),
        ]
        for x in found
    ]
    body = note(
        f"{num(len(found))} subject(s) have images in more than one split; their images in "
        "test or validation measure memory of a person, not generalisation."
    ) + table(["dataset", "subject", "splits"], rows)
    return section("leaks", "Subject leaks", body)
