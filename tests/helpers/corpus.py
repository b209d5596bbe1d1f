"""A small but realistic built corpus on disk, without running a build.

Consumers of the corpus format (report, cite, forget, loaders) can be tested against
this alone: shards laid out and typed exactly as the writer lays them out
(`facedata.corpus.table_of`, `data/{split}-0000i-of-0000N.parquet`, several row
groups), aligned-looking real faces encoded as JPEG or PNG, and a corpus.json with
every documented key whose counts agree with the rows.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq
from PIL import Image

from facedata.corpus import CORPUS_FORMAT, CORPUS_JSON, DATA_DIR, heads_record, table_of
from tests.helpers.photos import face_variant, faces

EXPRESSIONS = ("neutral", "happy", "sad", "surprise", "fear", "disgust", "anger")
TAXONOMY = (*EXPRESSIONS, "contempt")


@dataclass(frozen=True)
class FixtureDataset:
    """One source of the fixture corpus; `heads` says which labels it annotates."""

    id: str
    name: str
    heads: tuple[str, ...]
    license_id: str = "custom-research"
    tier: str = "research-only"
    terms_url: str = "https://example.org/terms"
    official: bool = True


SMILE_SET = FixtureDataset("smiles", "Smile photos", ("smile",), "smiles-terms", "research-only")
EXPRESSION_SET = FixtureDataset(
    "faces7", "Seven expressions", ("expression",), "faces7-license", "unknown", official=False
)
DEFAULT_DATASETS = (SMILE_SET, EXPRESSION_SET)


def _split(i: int) -> str:
    return "train" if i % 10 < 7 else ("validation" if i % 10 == 7 else "test")


# Square boxes around the face in each photo of photos.faces(), in its own pixels:
# cropping there makes thumbnails look like the aligned faces a build writes.
_FACE_BOXES = ((150, 30, 300, 180), (140, 100, 380, 340))


def aligned_face(i: int, size: int = 112, mode: str = "RGB") -> Image.Image:
    """A distinct, aligned-looking face crop (index parity picks the photo)."""
    base = faces()[i % 2]
    full = face_variant(i, base.size, mode)
    return full.crop(_FACE_BOXES[i % 2]).resize((size, size), Image.BILINEAR)


def _encode(i: int, size: int, mode: str, fmt: str) -> bytes:
    buf = io.BytesIO()
    aligned_face(i, size, mode).save(buf, fmt, **({"quality": 90} if fmt == "JPEG" else {}))
    return buf.getvalue()


STATUSES = ("detected", "detected", "dataset_landmarks", "precropped")


def _row(
    i: int, ds: FixtureDataset, size: int, mode: str, fmt: str, statuses: Sequence[str]
) -> dict:
    smile = (i // len(DEFAULT_DATASETS)) % 2 if "smile" in ds.heads else None
    expression = EXPRESSIONS[(i // 2) % len(EXPRESSIONS)] if "expression" in ds.heads else None
    status = statuses[i % len(statuses)]
    detected = status == "detected"
    key = f"{ds.id}/img{i:05d}.jpg"
    return {
        "image": {"bytes": _encode(i, size, mode, fmt), "path": f"{ds.id}/{i:05d}.{fmt.lower()}"},
        "smile": smile,
        "expression": expression,
        "smile_derived": False,
        "source_label": str(smile if expression is None else expression),
        "dataset": ds.id,
        "source_id": "official" if ds.official else "mirror",
        "official": ds.official,
        "key": key,
        "split": _split(i),
        "subject_id": f"{ds.id}-s{i % 7}",
        "license_id": ds.license_id,
        "license_tier": ds.tier,
        "bbox": [10.0, 12.0, 100.0, 110.0],
        "landmarks": [38.0, 52.0, 74.0, 52.0, 56.0, 72.0, 42.0, 92.0, 70.0, 92.0],
        "detector": "retinaface" if detected else None,
        "det_score": 0.55 + 0.45 * ((i * 37) % 100) / 100 if detected else None,
        "align_status": status,
        "yaw": None,
        "pitch": None,
        "roll": None,
        "valence": None,
        "arousal": None,
        "sha256": hashlib.sha256(f"{key}".encode()).hexdigest(),
        "phash": (i * 0x9E3779B97F4A7C15) % (1 << 64),
    }


def _write_shards(
    root: Path, rows: list[dict], shard_rows: int, row_group: int, mode: str = "RGB"
) -> list[dict]:
    data = root / DATA_DIR
    data.mkdir(parents=True, exist_ok=True)
    by_split: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        by_split[r["split"]].append(r)
    shards = []
    for split, items in by_split.items():
        chunks = [items[i : i + shard_rows] for i in range(0, len(items), shard_rows)]
        for n, chunk in enumerate(chunks):
            path = data / f"{split}-{n:05d}-of-{len(chunks):05d}.parquet"
            pq.write_table(table_of(chunk, image_mode=mode), path, row_group_size=row_group)
            shards.append(
                {
                    "path": f"{DATA_DIR}/{path.name}",
                    "split": split,
                    "rows": len(chunk),
                    "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
                    "bytes": path.stat().st_size,
                }
            )
    return shards


def _counts(rows: list[dict]) -> dict:
    splits: Counter = Counter()
    smile: dict[str, Counter] = defaultdict(Counter)
    expression: dict[str, Counter] = defaultdict(Counter)
    datasets: dict[str, Counter] = defaultdict(Counter)
    status: Counter = Counter()
    for r in rows:
        splits[r["split"]] += 1
        datasets[r["dataset"]][r["split"]] += 1
        status[r["align_status"]] += 1
        if r["smile"] is not None:
            smile[r["split"]][str(r["smile"])] += 1
        if r["expression"] is not None:
            expression[r["split"]][r["expression"]] += 1
    return {
        "total": len(rows),
        "read": len(rows) + 5,
        "splits": dict(splits),
        "smile": {k: dict(v) for k, v in smile.items()},
        "expression": {k: dict(v) for k, v in expression.items()},
        "datasets": {k: dict(v) for k, v in datasets.items()},
        "align_status": dict(status),
        "flags": {},
    }


def _dataset_record(ds: FixtureDataset) -> dict:
    return {
        "id": ds.id,
        "name": ds.name,
        "source": "official" if ds.official else "mirror",
        "official": ds.official,
        "license_id": ds.license_id,
        "tier": ds.tier,
        "derivatives": "forbidden",
        "redistribution": "forbidden",
        "terms_url": ds.terms_url,
        "attribution": f"{ds.name} by its authors",
        "citation": f"@misc{{{ds.id}, title={{{ds.name}}}}}",
        "inputs": [{"name": f"{ds.id}.zip", "origin": ds.terms_url, "size": 1, "sha256": "0" * 64}],
    }


def make_corpus(
    root: Path,
    n: int = 40,
    *,
    datasets: Sequence[FixtureDataset] = DEFAULT_DATASETS,
    size: int = 112,
    mode: str = "RGB",
    image_format: str = "JPEG",
    shard_rows: int = 16,
    row_group: int = 5,
    purpose: str = "research",
    statuses: Sequence[str] = STATUSES,
) -> dict:
    """Write a corpus of `n` rows (dealt round-robin over `datasets`) into `root`.

    Returns the corpus.json record, so tests compare what a consumer shows with what
    was written. Train holds ~70% of rows, validation ~10%, test ~20%; with the
    defaults train spans two shards and every shard several row groups.
    """
    root = Path(root)
    rows = [
        _row(i, datasets[i % len(datasets)], size, mode, image_format, statuses) for i in range(n)
    ]
    shards = _write_shards(root, rows, shard_rows, row_group, mode)
    tiers = {ds.tier for ds in datasets}
    commercial = purpose == "commercial" and tiers == {"commercial"}
    first = datasets[0].id
    counts = _counts(rows)
    corpus = {
        "format": CORPUS_FORMAT,
        "tool": {"name": "facedata", "version": "0.0.0-test"},
        "created": "2025-01-01T00:00:00+00:00",
        "command": ["facedata", "build", "--datasets", ",".join(d.id for d in datasets)],
        "recipe": {"datasets": [d.id for d in datasets], "purpose": purpose, "size": size},
        "purpose": purpose,
        "license": {
            "tier": "commercial" if commercial else sorted(tiers)[-1],
            "statement": (
                "Each input's own terms apply; see LICENSES/."
                if commercial
                else "For non-commercial research only. Each input's own terms apply; "
                "see LICENSES/."
            ),
            "derivatives": "see inputs" if commercial else "forbidden",
            "redistribution": "see inputs" if commercial else "forbidden",
        },
        "datasets": [_dataset_record(ds) for ds in datasets],
        "decisions": [
            {"dataset": ds.id, "admitted": True, "reason": f"tier '{ds.tier}' allows {purpose}"}
            for ds in datasets
        ],
        "clearances": [],
        "detector": {"name": "retinaface", "weights_sha256": ["ab" * 32], "terms": "MIT"},
        "labels": {ds.id: {h: n // len(datasets) for h in ds.heads} for ds in datasets},
        "consent": {},
        "drops": {
            f"{first}: unknown label": {
                "count": 3,
                "examples": [f"{first}/x1.jpg", "x2.jpg"],
                "stage": "labels",
            },
            "image: face: no_face": {"count": 1, "examples": ["cat.jpg"], "stage": "face"},
            f"{first}: exact duplicate": {
                "count": 1,
                "examples": ["a.jpg = b.jpg"],
                "stage": "exact",
            },
        },
        "funnel": {
            "read": n + 5,
            "stages": {
                "reader": 0,
                "consent": 0,
                "labels": 3,
                "image": 0,
                "face": 1,
                "exact": 1,
                "near": 0,
            },
            "written": n,
            "duplicates_by_label": {},
        },
        "dedup": {
            "kept": n,
            "exact": 1,
            "near": 0,
            "near_distance": 4,
            "same_subject_kept": 0,
            "merged": {},
            "conflicts": {},
            "conflict_policy": "void: neither copy is trusted",
            "examples": [],
        },
        "leaks": [],
        "image_errors": [{"where": "cat.jpg", "reason": "face: no_face", "detail": ""}],
        "image": {"mode": mode, "size": size, "format": image_format.lower()},
        "heads": heads_record(TAXONOMY, counts),
        "counts": counts,
        "shards": shards,
        "forgotten": [],
    }
    (root / CORPUS_JSON).write_text(json.dumps(corpus, indent=2), encoding="utf-8")
    return corpus
