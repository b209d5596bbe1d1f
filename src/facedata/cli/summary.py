"""What `facedata build` prints when it ends, read from the corpus record alone.

The summary says what corpus.json says (decisions, withdrawals, notes, counts, the
funnel, the license), so what a person reads on the screen and what the corpus
records cannot drift apart. Lines are rich markup with every value escaped.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

from rich.markup import escape

from facedata.vocabulary import STAGE_TERMS

STEP_NAMES = {s.name: s.short for s in STAGE_TERMS.values()}


def render_summary(record: Any, out: Path | str | None = None) -> list[str]:
    """The build's closing lines, from its corpus record (a CorpusRecord or its dict).

    `out` is the folder as the person named it (default: the record's recipe `out`).
    """
    corpus: dict = record.to_json() if hasattr(record, "to_json") else dict(record)
    where = escape(str(out if out is not None else (corpus.get("recipe") or {}).get("out")))
    if corpus.get("up_to_date"):
        return [
            f"[bold]{where}[/]: up to date (same recipe, inputs and facedata version); "
            "nothing rebuilt. Pass --overwrite to build it again."
        ]
    lines = [*_decisions(corpus), *_datasets(corpus)]
    c = corpus["counts"]
    splits = ", ".join(f"{k} {v:,}" for k, v in sorted(c["splits"].items()))
    dropped = sum(v["count"] for v in corpus["drops"].values())
    dd = corpus["dedup"]
    lines.append(
        f"[bold]{where}[/]: {c['total']:,} rows ({splits}); {dropped:,} dropped; "
        f"dedup removed {dd['exact']} exact + {dd['near']} near"
    )
    lines.append(f"funnel: {escape(funnel_line(corpus))}")
    merged, conflicts = sum(dd["merged"].values()), sum(dd["conflicts"].values())
    if merged or conflicts:
        lines.append(
            f"duplicates: {merged} labels merged into kept rows, {conflicts} conflicting "
            f"labels ({escape(dd['conflict_policy'] or '')})"
        )
    lines.append(f"license: {escape(corpus['license']['statement'])}")
    quoted = escape(shlex.quote(str(out if out is not None else corpus["recipe"]["out"])))
    lines.append(
        f"next: facedata report {quoted}   (one HTML page: balance, drops, licenses, sample faces)"
    )
    return lines


def _decisions(corpus: dict) -> list[str]:
    """Each source's and the detector's license decision, withdrawals, warnings."""
    lines = []
    for d in corpus["decisions"]:
        verdict = "[green]admitted[/]" if d["admitted"] else "[red]refused[/]"
        where = escape(f"{d['dataset']} [{d['source']}]")
        lines.append(f"{where}: {verdict}: {escape(d['reason'])}")
        lines += [f"  [yellow]warning:[/] {escape(f)}" for f in d["flags"] if d["admitted"]]
    det = corpus.get("detector_decision")
    if det:
        verdict = "[green]admitted[/]" if det["admitted"] else "[red]refused[/]"
        lines.append(f"detector {escape(det['name'])}: {verdict}: {escape(det['reason'])}")
    applied = corpus.get("withdrawals_applied") or []
    if applied:
        ids = ", ".join(sorted({w["subject_id"] for w in applied}))
        lines.append(f"left out withdrawn subject(s) (erasure ledger): {escape(ids)}")
    lines += [f"[yellow]warning:[/] {escape(w)}" for w in corpus.get("warnings") or []]
    return lines


def _datasets(corpus: dict) -> list[str]:
    """What each dataset's reader said: the file set it read and its notes."""
    lines = []
    for ds in corpus["datasets"]:
        name = escape(ds["id"])
        if ds.get("file_set"):
            lines.append(f"{name}: read the file set {escape(ds['file_set'])}")
        lines += [f"{name}: [yellow]note:[/] {escape(n)}" for n in ds.get("notes") or []]
    return lines


def funnel_line(corpus: dict) -> str:
    """`read 3,000 - no face 2,500 - exact duplicates 100 = 400 written`."""
    funnel = corpus.get("funnel") or {}
    stages = funnel.get("stages") or {}
    steps = [f" - {STEP_NAMES.get(k, k)} {n:,}" for k, n in stages.items() if n and k != "reader"]
    before = stages.get("reader", 0)
    head = f"{funnel.get('read', 0):,} read" + (
        f" (after {before:,} {STEP_NAMES['reader']}{_reader_reasons(corpus)})" if before else ""
    )
    return f"{head}{''.join(steps)} = {funnel.get('written', 0):,} written"


def _reader_reasons(corpus: dict, shown: int = 3) -> str:
    """`: own-data: consent: no commercial scope 3`: a reader drops for many reasons
    (consent refused, a missing file, a bad label row); the line names the largest."""
    drops = corpus.get("drops") or {}
    found = [
        (str(reason), d["count"])
        for reason, d in drops.items()
        if isinstance(d, dict) and d.get("stage") == "reader" and isinstance(d.get("count"), int)
    ]
    if not found:
        return ""
    found.sort(key=lambda t: (-t[1], t[0]))
    named = "; ".join(f"{reason} {n:,}" for reason, n in found[:shown])
    more = f"; {len(found) - shown} more reasons in corpus.json" if len(found) > shown else ""
    return f": {named}{more}"
