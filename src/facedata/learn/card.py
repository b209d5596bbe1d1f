"""README.md beside a model: a Hugging Face model card stating the model's terms.

The YAML front matter carries what the Hub indexes (license, datasets, tags,
metrics) plus the whole governance record under `facedata`, and the sha256 of each
model file, so `predict` can tell a model file swapped after training. The body says
the same in words. Text from manifests (names, attributions) goes through YAML
quoting and is made inert in markdown, never pasted raw.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from facedata.errors import FacedataError
from facedata.files.digest import file_sha256 as sha256_of
from facedata.vocabulary import HEADS

CARD = "README.md"
MODEL_FILES = ("model.onnx", "model.pt")
MAX_CARD = 16 << 20  # bytes; a card is a few KB plus the subject digests
_FRONT = re.compile(r"\A---\n(.*?)\n---\n", re.S)
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+!|])")


def _md(text: Any) -> str:
    """Inert in markdown: one line, specials escaped, no HTML."""
    one = " ".join(str(text).split())
    return _MD_SPECIAL.sub(r"\\\1", one)


# Hub license ids a single-license model may claim (any other: `other`, with the terms)
HUB_LICENSES = {
    "mit",
    "apache-2.0",
    "bsd-3-clause",
    "cc0-1.0",
    "cc-by-4.0",
    "cc-by-sa-4.0",
    "cc-by-nc-4.0",
    "cc-by-nc-sa-4.0",
    "cc-by-nd-4.0",
    "cc-by-nc-nd-4.0",
}


def _license(terms: dict[str, Any]) -> str:
    """One Hub id only when every input has it and the model's terms restrict nothing
    that id would not: a CC-BY input behind a non-commercial detector is `other`."""
    ids = {str(i.get("license") or "").lower() for i in terms.get("inputs") or []}
    if len(ids) != 1:
        return "other"
    only = ids.pop()
    restricted = terms["noncommercial"] and "-nc" not in only
    restricted |= terms["no_derivatives"] and "-nd" not in only
    restricted |= terms["no_redistribution"] or terms["unknown_license"]
    return only if only in HUB_LICENSES and not restricted else "other"


def front_matter(
    terms: dict[str, Any], metrics: dict[str, Any], files: dict[str, str]
) -> dict[str, Any]:
    val = metrics.get("validation") or {}
    results = []
    smile = (val.get("smile") or {}).get("accuracy")
    if "smile" in terms["heads"] and smile is not None:
        results.append({"type": "accuracy", "name": "validation smile accuracy", "value": smile})
    expr = (val.get("expression") or {}).get("accuracy")
    if "expression" in terms["heads"] and expr is not None:
        results.append(
            {"type": "accuracy", "name": "validation expression accuracy", "value": expr}
        )
    tags = ["facedata", "image-classification", "face", "smile-detection"]
    if "expression" in terms["heads"]:
        tags += ["facial-expression-recognition", "emotion-recognition"]
    if terms["noncommercial"]:
        tags.append("non-commercial")
    return {
        "license": _license(terms),
        "license_name": f"facedata-{terms['tier']}",
        "license_link": "README.md",
        "datasets": list(terms["datasets"]),
        "tags": tags,
        "pipeline_tag": "image-classification",
        "library_name": "onnx",
        "metrics": ["accuracy"],
        "model-index": [
            {
                "name": "facedata smile"
                + (" + expression" if "expression" in terms["heads"] else ""),
                "results": [{"task": {"type": "image-classification"}, "metrics": results}]
                if results
                else [],
            }
        ],
        "extra_gated_prompt": terms["statement"],
        "facedata": {"terms": terms, "files": files},
    }


def render(terms: dict[str, Any], metrics: dict[str, Any], files: dict[str, str]) -> str:
    meta = front_matter(terms, metrics, files)
    if meta["license"] != "other":
        del meta["license_name"], meta["license_link"]
    head = yaml.safe_dump(meta, sort_keys=False, allow_unicode=False, width=100)
    corpus = terms["corpus"]
    heads = terms["heads"]
    lines = [
        "---",
        head.rstrip(),
        "---",
        "",
        "# facedata model: " + (" + ".join(heads) or "no heads"),
        "",
        f"> **Terms.** {_md(terms['statement'])}",
        "",
        "## Heads and the law",
        "",
        f"This model has the heads: {', '.join(heads)}."
        + ("" if "expression" in heads else " It has no expression head."),
        "",
    ]
    for h in HEADS:
        if h in terms["eu_ai_act"]:
            lines += [f"- **{h}**: {terms['eu_ai_act'][h]}"]
    lines += [f"- {terms['eu_ai_act']['note']}", "", "## Inputs", ""]
    lines.append("| dataset | license | tier | derivatives | redistribution | attribution |")
    lines.append("|---|---|---|---|---|---|")
    for i in terms["inputs"]:
        lines.append(
            "| "
            + " | ".join(
                _md(i.get(k) or "-")
                for k in ("id", "license", "tier", "derivatives", "redistribution", "attribution")
            )
            + " |"
        )
    det = terms["detector"]
    lines += [
        "",
        f"Faces are found by the detector {_md(det.get('name'))}; its weights have terms of "
        "their own:",
        "",
    ]
    dterms = det.get("terms")
    if isinstance(dterms, dict):
        lines += [f"- {_md(k.replace('_', ' '))}: {_md(v)}" for k, v in dterms.items()]
    else:
        lines.append(f"- {_md(dterms or 'not recorded')}")
    if terms.get("share_alike"):
        lines += [
            "",
            "**ShareAlike.** These inputs are licensed share-alike; adaptations must carry the "
            "same license: " + ", ".join(_md(x) for x in terms["share_alike"]) + ".",
        ]
    lines += ["", "## Modifications of the inputs", ""]
    lines += [f"- {_md(m)}" for m in terms.get("modifications") or ["not recorded"]]
    lines += ["", "## Clearances relied on", ""]
    if terms["clearances"]:
        lines += [
            f"- {_md(c.get('dataset') or 'detector ' + str(c.get('detector')))}: cleared for "
            f"{_md(c.get('purpose', 'commercial'))} by {_md(c.get('cleared_by'))} until "
            f"**{_md(c.get('expires'))}**"
            for c in terms["clearances"]
        ]
    else:
        lines.append("None.")
    lines += [
        "",
        "## Lineage",
        "",
        f"- corpus id: {_md(corpus.get('id') or 'not recorded')}",
        f"- corpus path at training: {_md(corpus.get('path'))}",
        f"- corpus created: {_md(corpus.get('created'))}",
        f"- fingerprint of the rows learnt from: `{corpus.get('fingerprint')}`",
        f"- subjects learnt from: {terms['subjects']['count']} (salted digests in the front "
        "matter; `facedata forget` tests them)",
        f"- trained: {terms['trained']} (UTC) with facedata {terms['facedata_version']}",
        "",
        "## Files",
        "",
        *[f"- `{name}` sha256 `{sha}`" for name, sha in files.items()],
        "",
    ]
    return "\n".join(lines)


def read_card(folder: Path) -> dict[str, Any] | None:
    """The front matter of README.md in `folder`, or None when there is none."""
    path = Path(folder) / CARD
    if not path.is_file():
        return None
    try:
        if path.stat().st_size > MAX_CARD:
            raise OSError(f"{path.stat().st_size} bytes, more than any model card")
        m = _FRONT.match(path.read_text(encoding="utf-8"))
        data = yaml.safe_load(m.group(1)) if m else None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise FacedataError(
            f"the model card {path} is unreadable: {exc}".splitlines()[0],
            hint="retrain the model with `facedata train`, or restore the folder",
        ) from None
    if not isinstance(data, dict) or not isinstance(data.get("facedata"), dict):
        return None
    return data["facedata"]


def write_card(folder: Path, terms: dict[str, Any], metrics: dict[str, Any]) -> None:
    """README.md in `folder`, recording the sha256 of the model files already there."""
    from facedata.files.atomic import atomic_write_text

    files = {
        name: sha256_of(Path(folder) / name)
        for name in MODEL_FILES
        if (Path(folder) / name).is_file()
    }
    atomic_write_text(Path(folder) / CARD, render(terms, metrics, files))
