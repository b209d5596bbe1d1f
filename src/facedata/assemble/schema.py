"""The corpus format: Parquet columns and the `corpus.json` provenance keys.

One definition shared by the writer, the citation bundle, the report and `forget`,
so that every consumer agrees on names and types. The image column is the Hugging
Face `Image` feature struct, so `datasets.load_dataset("parquet", ...)` decodes it.
"""

from __future__ import annotations

import json

import pyarrow as pa

CORPUS_FORMAT = "facedata-corpus/1"
CORPUS_JSON = "corpus.json"
DATA_DIR = "data"
SPLITS = ("train", "validation", "test")

# HF `datasets` reads this from the Parquet schema metadata to restore feature types.
HF_FEATURES = {
    "image": {"_type": "Image"},
    "smile": {"dtype": "int8", "_type": "Value"},
    "expression": {"dtype": "string", "_type": "Value"},
    "smile_derived": {"dtype": "bool", "_type": "Value"},
    "source_label": {"dtype": "string", "_type": "Value"},
    "dataset": {"dtype": "string", "_type": "Value"},
    "source_id": {"dtype": "string", "_type": "Value"},
    "official": {"dtype": "bool", "_type": "Value"},
    "key": {"dtype": "string", "_type": "Value"},
    "split": {"dtype": "string", "_type": "Value"},
    "subject_id": {"dtype": "string", "_type": "Value"},
    "license_id": {"dtype": "string", "_type": "Value"},
    "license_tier": {"dtype": "string", "_type": "Value"},
    "bbox": {"feature": {"dtype": "float32", "_type": "Value"}, "_type": "Sequence"},
    "landmarks": {"feature": {"dtype": "float32", "_type": "Value"}, "_type": "Sequence"},
    "detector": {"dtype": "string", "_type": "Value"},
    "det_score": {"dtype": "float32", "_type": "Value"},
    "align_status": {"dtype": "string", "_type": "Value"},
    "yaw": {"dtype": "float32", "_type": "Value"},
    "pitch": {"dtype": "float32", "_type": "Value"},
    "roll": {"dtype": "float32", "_type": "Value"},
    "valence": {"dtype": "float32", "_type": "Value"},
    "arousal": {"dtype": "float32", "_type": "Value"},
    "sha256": {"dtype": "string", "_type": "Value"},
    "phash": {"dtype": "uint64", "_type": "Value"},
}

FIELDS = [
    pa.field("image", pa.struct([("bytes", pa.binary()), ("path", pa.string())])),
    pa.field("smile", pa.int8()),  # 1 / 0 / null: a visible smile, as annotated
    pa.field("expression", pa.string()),  # taxonomy name / null
    pa.field("smile_derived", pa.bool_()),  # smile inferred from expression (opt-in)
    pa.field("source_label", pa.string()),  # the source's own label(s), verbatim
    pa.field("dataset", pa.string()),
    pa.field("source_id", pa.string()),
    pa.field("official", pa.bool_()),
    pa.field("key", pa.string()),  # the sample's key inside its source
    pa.field("split", pa.string()),
    pa.field("subject_id", pa.string()),
    pa.field("license_id", pa.string()),
    pa.field("license_tier", pa.string()),
    pa.field("bbox", pa.list_(pa.float32())),  # x1, y1, x2, y2 in original image coords
    pa.field("landmarks", pa.list_(pa.float32())),  # 5 points (x, y), original coords
    pa.field("detector", pa.string()),
    pa.field("det_score", pa.float32()),
    pa.field("align_status", pa.string()),
    pa.field("yaw", pa.float32()),
    pa.field("pitch", pa.float32()),
    pa.field("roll", pa.float32()),
    pa.field("valence", pa.float32()),
    pa.field("arousal", pa.float32()),
    pa.field("sha256", pa.string()),  # of the decoded source pixels: exact dedup
    pa.field("phash", pa.uint64()),  # perceptual hash of the aligned face: near dedup
]

SCHEMA = pa.schema(
    FIELDS, metadata={"huggingface": json.dumps({"info": {"features": HF_FEATURES}})}
)

# corpus.json (all keys always present):
#   format: CORPUS_FORMAT            tool: {name, version}      created: ISO time
#   command: argv list               recipe: the build recipe (rebuilds the corpus)
#   purpose: research | commercial   license: {tier, statement, derivatives, redistribution}
#   datasets: [{id, name, source, official, license_id, tier, terms_url, attribution,
#               citation, inputs: [{name, origin, size, sha256}]}]
#   decisions: [Decision.to_dict()]  clearances: [clearance dicts used]
#   detector: {name, weights_sha256, terms} | null
#   labels: {remap counts per dataset and head}   drops: {reason: count, examples, stage}
#   funnel: {read, stages: {reader, consent, labels, image, face, exact, near}, written,
#            duplicates_by_label: {head: {value: n}}}   (read - stages after reader = written)
#   dedup: {exact, near, kept}        leaks: [..]   image_errors: [{where, reason}]
#   counts: {total, splits: {split: n}, smile: {split: {value: n}},
#            expression: {split: {name: n}}, datasets: {id: {split: n}},
#            align_status: {status: n}}
#   shards: [{path, rows, sha256, bytes}]
#   forgotten: [{subject_id, rows_removed, when}]   (appended by `facedata forget`)
