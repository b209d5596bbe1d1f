"""README.md: a dataset card with Hugging Face YAML front matter, then prose.

The card is the file people actually open, so the terms come first and plainly
(non-commercial research only, not to be shared where an input says so), then
what is inside, then how to cite and credit. The front matter lets the Hub and
`datasets` find the splits and feature types without reading the prose.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

import facedata.files.sanitize as sanitize
from facedata.bundle.attribution import credit_lines, modification_lines
from facedata.bundle.bibtex import render_bib, unique_entries
from facedata.bundle.markdown import code, fence, table, text
from facedata.bundle.record import CorpusView
from facedata.corpus import CORPUS_JSON, DATA_DIR, SPLITS
from facedata.gate.licensing import clearance_line

LICENSE_LINK = "LICENSES/README.md"


def _feature(name: str, spec: dict[str, Any]) -> dict[str, Any]:
    """A Hugging Face feature (the Parquet metadata form) -> the card's `dataset_info` form."""
    kind = spec["_type"]
    if kind == "Image":
        return {"name": name, "dtype": "image"}
    if kind == "ClassLabel":
        names = {str(i): n for i, n in enumerate(spec["names"])}
        return {"name": name, "dtype": {"class_label": {"names": names}}}
    if kind == "Sequence":
        return {"name": name, "sequence": spec["feature"]["dtype"]}
    return {"name": name, "dtype": spec["dtype"]}


def _size_category(n: int) -> str:
    for limit, label in (
        (1_000, "n<1K"),
        (10_000, "1K<n<10K"),
        (100_000, "10K<n<100K"),
        (1_000_000, "100K<n<1M"),
        (10_000_000, "1M<n<10M"),
    ):
        if n < limit:
            return label
    return "10M<n<100M"


def _splits(corpus: CorpusView) -> list[str]:
    present = {s.get("split") for s in corpus.shards} | set(corpus.counts.get("splits") or {})
    return [s for s in SPLITS if s in present] or list(SPLITS)


def _license_name(corpus: CorpusView) -> str:
    """The Hub wants a slug; one input names its license, several say they are mixed."""
    ids = {d.license_id for d in corpus.datasets}
    raw = ids.pop() if len(ids) == 1 else f"facedata-mixed-{corpus.terms.tier}"
    return re.sub(r"[^a-z0-9]+", "-", raw.lower()).strip("-") or "other"


def front_matter(corpus: CorpusView) -> dict[str, Any]:
    """The YAML header as a dict (tests parse the written one back and compare)."""
    t = corpus.terms
    splits = _splits(corpus)
    tags = ["faces", "facial-expression", "smile", "facedata"]
    if t.noncommercial:
        tags.append("non-commercial")
    if t.no_derivatives:
        tags.append("no-derivatives")
    if t.no_redistribution:
        tags.append("no-redistribution")
    if t.share_alike:
        tags.append("share-alike")
    rows = {
        s: int((corpus.counts.get("splits") or {}).get(s) or 0)
        or sum(int(x.get("rows") or 0) for x in corpus.shards if x.get("split") == s)
        for s in splits
    }
    nbytes = {
        s: sum(int(x.get("bytes") or 0) for x in corpus.shards if x.get("split") == s)
        for s in splits
    }
    meta: dict[str, Any] = {
        "pretty_name": sanitize.yaml_text(corpus.name),
        "license": "other",
        "license_name": _license_name(corpus),
        "license_link": LICENSE_LINK,
        "task_categories": ["image-classification"],
        "tags": tags,
        "size_categories": [_size_category(sum(rows.values()))],
        "configs": [
            {
                "config_name": "default",
                "data_files": [{"split": s, "path": f"{DATA_DIR}/{s}-*.parquet"} for s in splits],
            }
        ],
        "dataset_info": {
            "features": [_feature(n, spec) for n, spec in corpus.features.items()],
            "splits": [
                {"name": s, "num_bytes": nbytes[s], "num_examples": rows[s]} for s in splits
            ],
            "download_size": sum(nbytes.values()),
            "dataset_size": sum(nbytes.values()),
        },
    }
    if t.noncommercial:
        # the Hub shows the prompt as Markdown: the Markdown policy, not just YAML's
        meta["extra_gated_prompt"] = text(t.statement)
    return meta


def _terms(corpus: CorpusView) -> list[str]:
    t = corpus.terms
    lines = [f"> **Terms.** {text(t.statement)}", ">"]
    if t.noncommercial:
        lines.append("> - For non-commercial research only.")
    else:
        lines.append("> - Commercial use: allowed on the terms above, for this purpose only.")
    for c in t.clearances:
        lines.append(f"> - Clearance: {text(clearance_line(c))}.")
    if t.no_redistribution:
        lines.append("> - Not for redistribution: keep it within your site.")
    if t.no_derivatives:
        lines.append("> - Derivatives may not be shared: this aligned, remapped corpus is one.")
    if t.share_alike:
        lines.append(
            "> - ShareAlike: " + text(", ".join(t.share_alike)) + " require(s) that this "
            "adapted copy be shared only under the same license (or a compatible one)."
        )
    if any(d.credit.required for d in corpus.datasets):
        lines.append(
            "> - Attribution: credit every input as [ATTRIBUTION.md](ATTRIBUTION.md) says."
        )
    if t.unknown:
        lines.append("> - At least one input has no known license grant.")
    lines.append(f"> - Full terms: [{LICENSE_LINK}]({LICENSE_LINK})")
    return [*lines, ""]


def _count_table(per_split: dict[str, dict[str, int]], splits: list[str]) -> list[str]:
    classes = sorted({c for counts in per_split.values() for c in counts})
    rows = []
    for c in classes:
        values = [int(per_split.get(s, {}).get(c, 0)) for s in splits]
        rows.append([text(c), *map(str, values), str(sum(values))])
    return table(["class", *splits, "total"], rows, numeric=len(splits) + 1)


def _contents(corpus: CorpusView) -> list[str]:
    splits = _splits(corpus)
    per_dataset = corpus.counts.get("datasets") or {}
    lines = ["## Contents", ""]
    rows = []
    for d in corpus.datasets:
        n = per_dataset.get(d.id, {})
        rows.append(
            [
                f"{text(d.name)} ({code(d.id)})",
                text(d.license_id),
                text(d.tier),
                "official" if d.official else f"mirror {code(d.source)}",
                *(str(int(n.get(s, 0))) for s in splits),
            ]
        )
    lines += [
        *table(["dataset", "license", "tier", "source", *splits], rows, numeric=len(splits)),
        "",
    ]
    if not corpus.built:
        lines += [
            "No data has been built yet: this card describes the datasets selected; "
            "`facedata build` writes the shards and fills in the counts.",
            "",
        ]
        return lines
    split_counts = corpus.counts.get("splits") or {}
    lines += [
        "### Rows per split",
        "",
        *table(
            ["split", "rows"],
            [[s, str(int(split_counts.get(s, 0)))] for s in splits]
            + [["total", str(int(corpus.counts.get("total") or sum(split_counts.values())))]],
            numeric=1,
        ),
        "",
    ]
    for head, title in (("smile", "Smile (1 = smiling)"), ("expression", "Expression")):
        per_split = corpus.counts.get(head) or {}
        if per_split:
            lines += [f"### {title} per split", "", *_count_table(per_split, splits), ""]
    return lines


def _citation(corpus: CorpusView) -> list[str]:
    entries = unique_entries(d.citation for d in corpus.datasets)
    lines = [
        "## Citation",
        "",
        "Cite every work the inputs ask for (also in `references.bib` and `CITATION.cff`):",
        "",
    ]
    if entries:
        lines += fence(render_bib(entries), "bibtex")
    return [*lines, ""]


def _attribution(corpus: CorpusView) -> list[str]:
    lines = ["## Attribution", ""]
    for d in corpus.datasets:
        lines += [f"**{text(d.name)}** ({code(d.id)}):", "", *credit_lines(d)]
    lines += [
        "Details per dataset: [ATTRIBUTION.md](ATTRIBUTION.md).",
        "",
        "## Notice of modifications",
        "",
        *modification_lines(corpus),
    ]
    return lines


def _provenance(corpus: CorpusView) -> list[str]:
    tool = corpus.tool
    lines = [
        "## Provenance",
        "",
        f"Built with {text(tool.get('name', 'facedata'))} {text(tool.get('version', ''))} on "
        f"{text(corpus.date)} (purpose: {text(corpus.purpose)}).",
    ]
    if corpus.built:
        lines.append(
            f"[`{CORPUS_JSON}`]({CORPUS_JSON}) records the command, every input file with "
            "its sha256, the license decisions and their reasons, label remaps, drops, "
            "duplicates and the face detector; `croissant.json` lists each shard's sha256."
        )
    if corpus.detector:
        lines.append(
            f"Faces were aligned with {text(corpus.detector.get('name', 'a detector'))}; its terms "
            f"and those of its training data are in [{LICENSE_LINK}]({LICENSE_LINK})."
        )
    decision = corpus.detector_decision
    if decision:
        terms = decision.get("terms") or {}
        verdict = "admitted" if decision.get("admitted") else "refused"
        lines += [
            "",
            f"Detector {text(decision.get('name'))} ({text(decision.get('purpose'))} build): "
            f"{verdict}: {text(decision.get('reason'))}",
            "",
            f"- weights license: {text(terms.get('weights_license'))}",
            f"- training data: {text(terms.get('training_data'))}",
            f"- training data terms: {text(terms.get('training_data_terms'))}",
            f"- commercial use without a clearance: "
            f"{'yes' if terms.get('commercial_use') else 'no'}",
        ]
    return [*lines, ""]


def render(corpus: CorpusView) -> str:
    header = yaml.safe_dump(front_matter(corpus), sort_keys=False, allow_unicode=True, width=100)
    ids = ", ".join(code(d.id) for d in corpus.datasets)
    lines = [
        "---",
        header.rstrip("\n"),
        "---",
        "",
        f"# {text(corpus.name)}",
        "",
        f"Aligned face images labelled for smile and facial expression, from {ids}, "
        "remapped into one schema by facedata.",
        "",
        *_terms(corpus),
        *_contents(corpus),
        "## Loading",
        "",
        *fence(
            "from datasets import load_dataset\n\n"
            f'ds = load_dataset("parquet", data_dir="{DATA_DIR}")',
            "python",
        ),
        "",
        *_citation(corpus),
        *_attribution(corpus),
        *_provenance(corpus),
    ]
    return "\n".join(lines).rstrip() + "\n"
