"""The top of the page: the license banner, headline numbers, consistency checks
and the datasets table, the part a person reads before deciding to use the corpus."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

from facedata.report.gather import CorpusData
from facedata.report.html import esc, link, note, num, section, stat, table
from facedata.report.keys import get_dict, get_list, keyed, split_order


def license_banner(meta: Mapping[str, Any]) -> str:
    lic = get_dict(meta, "license")
    purpose = meta.get("purpose")
    tier = lic.get("tier")
    statement = lic.get("statement") or ""
    if not lic:
        kind = "stop" if purpose == "research" else "warn"
        title = "Non-commercial research only" if purpose == "research" else "License unknown"
        return (
            f'<div class="banner {kind}"><strong>{title}</strong>'
            "corpus.json records no license for this corpus: treat it as research-only "
            "until each input's terms are checked.</div>"
        )
    if purpose == "commercial" and tier == "commercial":
        return (
            '<div class="banner ok"><strong>Cleared for commercial use</strong>'
            f"{esc(statement)}</div>"
        )
    extra = []
    if lic.get("redistribution") == "forbidden":
        extra.append("Do not redistribute.")
    if lic.get("derivatives") == "forbidden":
        extra.append("Do not share derivatives.")
    more = f"<br><b>{esc(' '.join(extra))}</b>" if extra else ""
    return (
        '<div class="banner stop"><strong>Non-commercial research only</strong>'
        f"License tier: {esc(tier or 'unknown')}. {esc(statement)}{more}</div>"
    )


def _consistency(data: CorpusData) -> list[str]:
    counts = get_dict(data.meta, "counts")
    warnings = []
    total = counts.get("total")
    if isinstance(total, int) and total != data.stats.rows:
        warnings.append(
            f"corpus.json counts {num(total)} rows but the shards hold {num(data.stats.rows)}."
        )
    recorded = counts.get("splits")
    if isinstance(recorded, dict):
        actual = keyed(data.stats.count_by("split"))
        for split in split_order([*recorded, *actual]):
            want, got = recorded.get(split, 0), actual.get(split, 0)
            if want != got:
                warnings.append(
                    f"split {split}: corpus.json says {num(want)}, shards hold {num(got)}."
                )
    leaks = [x for x in get_list(data.meta, "leaks") if isinstance(x, dict)]
    if leaks:
        named = "; ".join(
            f"{x.get('dataset', '?')}/{x.get('subject_id', '?')} in "
            f"{', '.join(map(str, x.get('splits') or []))}"
            for x in leaks[:5]
        )
        more = f" and {len(leaks) - 5} more" if len(leaks) > 5 else ""
        warnings.append(
            f"{len(leaks)} subject(s) sit in more than one split: {named}{more} (see Leaks)."
        )
    if data.stats.missing_columns:
        warnings.append("Shards lack column(s): " + ", ".join(data.stats.missing_columns) + ".")
    return warnings


def summary(data: CorpusData) -> str:
    meta, stats = data.meta, data.stats
    lic = get_dict(meta, "license")
    detector = get_dict(meta, "detector")
    datasets = keyed(stats.count_by("dataset"))
    splits = keyed(stats.count_by("split"))
    tool = get_dict(meta, "tool")
    read = get_dict(meta, "counts").get("read")
    parts = [license_banner(meta)]
    parts += [
        f'<div class="banner warn"><strong>Check this corpus</strong>{esc(w)}</div>'
        for w in _consistency(data)
    ]
    parts.append(
        '<div class="stats">'
        + stat(num(stats.rows), "rows")
        + (stat(num(read), "rows read") if isinstance(read, int) else "")
        + stat(len(splits), "splits")
        + stat(len(datasets), "datasets")
        + stat(meta.get("purpose") or "?", "purpose")
        + stat(lic.get("tier") or "?", "license tier")
        + stat(detector.get("name") or "none", "detector")
        + "</div>"
    )
    facts = [
        ("created", meta.get("created") or "?"),
        ("tool", f"{tool.get('name', 'facedata')} {tool.get('version', '?')}"),
        ("format", meta.get("format") or "?"),
        ("command", " ".join(map(str, get_list(meta, "command"))) or "?"),
        ("shards", f"{len(stats.shards)} Parquet file(s) in data/"),
    ]
    parts.append(table(["", ""], facts))
    parts.append("<h3>Datasets</h3>" + datasets_table(data, datasets))
    return section("summary", "Summary", "".join(parts))


def datasets_table(data: CorpusData, rows_by_dataset: Counter) -> str:
    records = {str(d.get("id")): d for d in get_list(data.meta, "datasets") if isinstance(d, dict)}
    ids = list(records) + sorted(set(rows_by_dataset) - set(records))
    rows = []
    for did in ids:
        d = records.get(did, {})
        official = d.get("official")
        rows.append(
            [
                did,
                d.get("name") or "–",
                d.get("license_id") or "–",
                d.get("tier") or "–",
                "–" if official is None else ("official" if official else "mirror"),
                rows_by_dataset.get(did, 0),
                link(d.get("terms_url"), d.get("terms_url")) if d.get("terms_url") else "–",
            ]
        )
    if not rows:
        return note("No dataset recorded.")
    headers = ["id", "name", "license", "tier", "source", "rows", "terms"]
    return table(headers, rows, numeric=[5], raw=[6])
