"""The sections of plots and tables: one function per section, data in, HTML out."""

from __future__ import annotations

from collections import Counter

from facedata.report import plots
from facedata.report.gather import CorpusData, ShardStats
from facedata.report.html import esc, figure, note, num, pct, section, table
from facedata.report.keys import (
    DECLARED_CROP,
    FALLBACK_FRAME,
    HEAD_TITLES,
    MISSING,
    SMILE_NAMES,
    align_label,
    class_order,
    get_dict,
    keyed,
    order,
    split_order,
)

DROP_PLOT_MAX = 25
DROP_TABLE_MAX = 500


def split_sizes(data: CorpusData) -> str:
    splits = keyed(data.stats.count_by("split"))
    if not splits:
        return section("splits", "Split sizes", note("The shards hold no rows."))
    names = split_order(splits)
    shards = Counter(p.name.split("-", 1)[0] for p in data.stats.shards)
    total = sum(splits.values())
    plot = plots.bars(names, [splits[s] for s in names], title="Rows per split")
    rows = [[s, splits[s], pct(splits[s], total), shards.get(s, 0)] for s in names]
    rows.append(["total", total, pct(total, total), len(data.stats.shards)])
    body = figure(plot, "rows per split") + table(
        ["split", "rows", "share", "shards"], rows, numeric=[1, 2, 3]
    )
    return section("splits", "Split sizes", body)


def sources(data: CorpusData) -> str:
    by = keyed(data.stats.count_by("dataset", "split"))
    if not by:
        return section("sources", "Rows per dataset", note("The shards hold no rows."))
    datasets = order(k[0] for k in by)
    splits = split_order(k[1] for k in by)
    plot = plots.stacked_bars(
        datasets,
        splits,
        by,
        title="Rows per dataset, by split",
        colors=plots.colors_for(splits, plots.SPLIT_COLORS),
    )
    rows = [
        [d, *(by.get((d, s), 0) for s in splits), sum(by.get((d, s), 0) for s in splits)]
        for d in datasets
    ]
    n = len(splits)
    body = figure(plot, "rows per dataset by split") + table(
        ["dataset", *splits, "total"], rows, numeric=range(1, n + 2)
    )
    return section("sources", "Rows per dataset", body)


def class_balance(data: CorpusData, head: str) -> str:
    title = f"Class balance: {head}"
    anchor = f"balance-{head}"
    by_split = keyed(data.stats.count_by(head, "split"))
    labelled = {k: n for k, n in by_split.items() if k[0] != MISSING}
    if not labelled:
        why = (
            f"No row is labelled for {head}, so this corpus has no {head} head "
            "(none of its datasets annotates it)."
        )
        return section(anchor, title, note(why))
    classes = class_order(head, (k[0] for k in labelled))
    splits = split_order(k[1] for k in labelled)
    names = SMILE_NAMES if head == "smile" else {}
    colors = plots.colors_for(classes)
    per_split = {(s, c): n for (c, s), n in labelled.items()}
    parts = [
        figure(
            plots.stacked_bars(
                splits,
                classes,
                per_split,
                title=f"{HEAD_TITLES[head]} classes per split",
                stack_labels=names,
                colors=colors,
            ),
            f"{head} classes per split",
        )
    ]
    by_ds = keyed(data.stats.count_by("dataset", head))
    per_ds = {k: n for k, n in by_ds.items() if k[1] != MISSING}
    datasets = order(k[0] for k in per_ds)
    parts.append(
        figure(
            plots.stacked_bars(
                datasets,
                classes,
                per_ds,
                title=f"{HEAD_TITLES[head]} classes per dataset",
                stack_labels=names,
                colors=colors,
            ),
            f"{head} classes per dataset",
        )
    )
    totals = Counter()
    for (c, _s), n in labelled.items():
        totals[c] += n
    grand = sum(totals.values())
    rows = [
        [
            names.get(c, c),
            *(per_split.get((s, c), 0) for s in splits),
            totals[c],
            pct(totals[c], grand),
        ]
        for c in classes
    ]
    n = len(splits)
    parts.append(table(["class", *splits, "total", "share"], rows, numeric=range(1, n + 3)))
    unlabelled = sum(n for k, n in by_split.items() if k[0] == MISSING)
    if unlabelled:
        parts.append(
            note(
                f"{num(unlabelled)} row(s) carry no {head} label (their datasets do not "
                f"annotate it); they are left out above."
            )
        )
    return section(anchor, title, "".join(parts))


def decisions(data: CorpusData) -> str:
    """Each source's license decision, refused ones included: a refused source has no
    rows, so without this table the page would not say it was asked for at all."""
    rows = []
    for d in data.meta.get("decisions") or []:
        if isinstance(d, dict):
            verdict = "admitted" if d.get("admitted") is True else "refused"
            where = f"{d.get('dataset', '?')} ({d.get('source', '?')})"
            rows.append([where, verdict, str(d.get("reason") or "")])
    det = data.meta.get("detector_decision")
    if isinstance(det, dict) and det.get("name"):
        verdict = "admitted" if det.get("admitted") is True else "refused"
        rows.append([f"detector {det['name']}", verdict, str(det.get("reason") or "")])
    if not rows:
        return ""
    purpose = str(data.meta.get("purpose") or "this")
    return f"<h3>License decisions for this {esc(purpose)} build</h3>" + table(
        ["source", "decision", "why"], rows
    )


def license_mix(data: CorpusData) -> str:
    by = keyed(data.stats.count_by("license_tier", "license_id"))
    decided = decisions(data)
    if not by:
        return section("licenses", "License mix", note("The shards hold no rows.") + decided)
    items = sorted(by.items(), key=lambda kv: (-kv[1], kv[0]))
    total = sum(by.values())
    labels = [f"{lid} ({tier})" for (tier, lid), _ in items]
    tiers = [tier for (tier, _), _ in items]
    legend = {t: plots.TIER_COLORS.get(t, plots.OTHER) for t in dict.fromkeys(tiers)}
    plot = plots.bars(
        labels,
        [n for _, n in items],
        title="Rows per license, coloured by tier",
        colors=[legend[t] for t in tiers],
        legend=legend,
    )
    rows = [[tier, lid, n, pct(n, total)] for (tier, lid), n in items]
    body = figure(plot, "rows per license") + table(
        ["tier", "license", "rows", "share"], rows, numeric=[2, 3]
    )
    return section("licenses", "License mix", body + decided)


def alignment(data: CorpusData) -> str:
    raw = data.stats.count_by("align_status", "detector")
    if not raw:
        return section("alignment", "Alignment status", note("The shards hold no rows."))
    by: Counter = Counter()
    for (status, detector), n in raw.items():
        by[align_label(status, detector)] += n
    items = sorted(by.items(), key=lambda kv: (-kv[1], kv[0]))
    total = sum(by.values())
    colors = [
        "#edc948" if k == FALLBACK_FRAME else "#9aa5b1" if k == DECLARED_CROP else "#4e79a7"
        for k, _ in items
    ]
    plot = plots.bars(
        [k for k, _ in items],
        [n for _, n in items],
        title="Rows per align status",
        colors=colors,
    )
    rows = [[k, n, pct(n, total)] for k, n in items]
    body = figure(plot, "rows per alignment status") + table(
        ["status", "rows", "share"], rows, numeric=[1, 2]
    )
    body += note(
        "detected: faces found and aligned by the detector; dataset landmarks: aligned "
        "with the source's own landmarks; declared crop: the manifest says the images are "
        "face crops, used whole; whole frame (no face found): the detector found no face "
        "(in a tight crop, or with --keep-unaligned), so the whole frame was kept unaligned "
        "(check these first)."
    )
    flags = get_dict(get_dict(data.meta, "counts"), "flags")
    described = {
        "label_by_convention": "a head filled by the source's convention, not an annotator",
        "landmarks_error": "the source's landmarks could not be read (detected instead)",
        "source_bbox": "the source gives its own face box (column source_bbox)",
        "merged": "labels merged in from a duplicate in another source",
        "label_conflict": "duplicates disagreed on a head (see Duplicates)",
    }
    if flags:
        rows = [[k, described.get(k, ""), v] for k, v in sorted(flags.items())]
        body += table(["reader flag (column)", "meaning", "rows"], rows, numeric=[2])
    return section("alignment", "Alignment status", body)


def detector_scores(data: CorpusData) -> str:
    stats = data.stats
    det = get_dict(data.meta, "detector")
    parts = []
    if det:
        weights = det.get("weights_sha256")
        weights = ", ".join(weights) if isinstance(weights, list) else weights
        parts.append(
            table(
                ["", ""], [["detector", det.get("name") or "?"], ["weights sha256", weights or "?"]]
            )
        )
    if stats.scored:
        parts.append(
            figure(
                plots.histogram(
                    stats.score_edges,
                    stats.score_counts,
                    title=f"Detector confidence ({num(stats.scored)} scored rows)",
                    xlabel="det_score",
                ),
                "detector score histogram",
            )
        )
    else:
        parts.append(note("No row has a detector score."))
    unscored = stats.rows - stats.scored - stats.score_outside
    if unscored:
        parts.append(note(f"{num(unscored)} row(s) have no score: {_unscored_why(stats)}."))
    if stats.score_outside:
        parts.append(note(f"{num(stats.score_outside)} score(s) fall outside [0, 1]."))
    return section("scores", "Detector scores", "".join(parts))


def _unscored_why(stats: ShardStats) -> str:
    """Why rows carry no detector score, from what each row's alignment says."""
    counts: dict[str, int] = {}
    for (status, detector), n in stats.count_by("align_status", "detector").items():
        if status in ("detected", "multiple_faces"):
            continue  # these have scores
        label = align_label(status, detector)
        counts[label] = counts.get(label, 0) + n
    if not counts:
        return "no reason recorded"
    return ", ".join(f"{num(n)} {label}" for label, n in sorted(counts.items()))


def drops(data: CorpusData) -> str:
    raw = get_dict(data.meta, "drops")
    items = []
    for reason, value in raw.items():
        if isinstance(value, dict):
            count, examples = value.get("count", 0), value.get("examples") or []
        else:
            count, examples = value, []
        if isinstance(count, int):
            items.append((str(reason), count, [str(e) for e in examples]))
    if not items:
        return section("drops", "Drop reasons", note("corpus.json records no dropped samples."))
    items.sort(key=lambda t: (-t[1], t[0]))
    total = sum(n for _, n, _ in items)
    shown = items[:DROP_PLOT_MAX]
    labels = [r for r, _, _ in shown]
    values = [n for _, n, _ in shown]
    if len(items) > DROP_PLOT_MAX:
        labels.append(f"{len(items) - DROP_PLOT_MAX} other reasons")
        values.append(sum(n for _, n, _ in items[DROP_PLOT_MAX:]))
    plot = plots.bars(
        labels,
        values,
        title=f"Dropped samples by reason ({num(total)} in all)",
        colors=["#e15759"] * len(values),
        xlabel="samples",
    )
    rows = [[r, n, "; ".join(ex)] for r, n, ex in items[:DROP_TABLE_MAX]]
    body = figure(plot, "drop reasons") + table(
        ["reason", "samples", "examples"], rows, numeric=[1], classes={2: "ex"}
    )
    if len(items) > DROP_TABLE_MAX:
        body += note(f"{len(items) - DROP_TABLE_MAX} more reasons are listed in corpus.json.")
    return section("drops", "Drop reasons", body)


def dedup(data: CorpusData) -> str:
    d = get_dict(data.meta, "dedup")
    if not d:
        return section("dedup", "Duplicates", note("corpus.json records no dedup counts."))
    known = [
        ("kept", "unique images kept"),
        ("exact", "exact duplicates dropped (same decoded pixels)"),
        ("near", "near duplicates dropped (perceptual hash)"),
        ("near_distance", "near-duplicate threshold (Hamming distance)"),
        ("same_subject_kept", "near duplicates of one subject kept (frames differing in label)"),
        ("other_subject_kept", "near-identical faces of two subjects (per the dataset) kept"),
        ("conflict_policy", "policy when duplicates disagree on a label"),
    ]
    rows = [[label, d[k]] for k, label in known if k in d]
    for key, label in (("merged", "labels merged into the kept copy"), ("conflicts", "conflicts")):
        for head, n in sorted(get_dict(d, key).items()):
            rows.append([f"{label}: {head}", n])
    skip = {*dict(known), "merged", "conflicts", "examples"}
    rows += [[k, v] for k, v in d.items() if k not in skip]
    body = table(["", "count"], rows, numeric=[1])
    examples = [e for e in d.get("examples") or [] if isinstance(e, dict)]
    if examples:
        body += table(
            ["kind", "head", "kept row", "duplicate", "values"],
            [
                [e.get("kind"), e.get("head"), e.get("kept"), e.get("duplicate"), e.get("values")]
                for e in examples
            ],
        )
    return section("dedup", "Duplicates", body)
