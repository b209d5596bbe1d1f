"""The corpus row, declared once: every Parquet column with its type, its Hugging Face
feature and what it means.

The writer, the citation bundle (card, Croissant), the report, `forget` and the
PyTorch dataset all derive what they need from `COLUMNS`, so a column cannot be
added in one place and forgotten in another.

Both label heads are stored the way Hugging Face `ClassLabel` stores them: a class
index, with -1 where the source does not say. A trainer then gets integers it can
feed to a loss (mask = label >= 0) from pandas, DuckDB and `datasets` alike, instead
of strings, or floats with NaN. They are int64 because that is ClassLabel's Arrow
type: `datasets` applies a declared feature only where the column's type matches it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import pyarrow as pa

import facedata.files.jsontext as jsontext
from facedata.vocabulary import HEADS, SMILE_NAMES  # SMILE_NAMES: index == the smile value

MISSING = -1  # Hugging Face's ClassLabel convention for "no label"
IMAGE_MODES = ("RGB", "L")

# How each row's face was found; the report explains each.
ALIGN_STATUSES = {
    "detected": "one face found by the detector and aligned on its five landmarks",
    "multiple_faces": "several faces found; the largest, most central one was aligned",
    "dataset_landmarks": "aligned on the source's own landmarks, no detector involved",
    "precropped": "the manifest declares the images are face crops; resized as given",
    "whole_frame": "no face was found and the whole frame was kept (tiny crops, "
    "or --keep-unaligned); the face may be off-centre or absent",
}


@dataclass(frozen=True)
class Column:
    """One Parquet column: Arrow type, Hugging Face feature, meaning."""

    name: str
    arrow: pa.DataType
    feature: dict[str, Any]
    doc: str


def _value(dtype: str) -> dict[str, Any]:
    return {"dtype": dtype, "_type": "Value"}


def _list_of(name: str, dtype: str, doc: str) -> Column:
    """A list column, its Arrow type and its Hugging Face feature from one item dtype
    (an Arrow alias such as "float32"), so the two cannot disagree."""
    arrow = pa.list_(pa.type_for_alias(dtype))
    return Column(name, arrow, {"feature": _value(dtype), "_type": "Sequence"}, doc)


def columns(expressions: Sequence[str], image_mode: str = "RGB") -> tuple[Column, ...]:
    """The row for a corpus whose expression head has these names, in this order."""
    text, flag = pa.string(), pa.bool_()
    return (
        Column(
            "image",
            pa.struct([("bytes", pa.binary()), ("path", pa.string())]),
            {"_type": "Image", "mode": image_mode},
            f"the aligned face, encoded (JPEG or PNG), every row in mode {image_mode}",
        ),
        Column(
            "smile",
            pa.int64(),
            {"names": list(SMILE_NAMES), "_type": "ClassLabel"},
            "a visible smile as the source annotates it: 1 smile, 0 no smile, -1 not said",
        ),
        Column(
            "expression",
            pa.int64(),
            {"names": list(expressions), "_type": "ClassLabel"},
            "the facial expression, an index into the taxonomy's names; -1 not said",
        ),
        _list_of(
            "expression_votes",
            "float32",
            "soft label: the share of the annotators' votes per expression, in the order of "
            "expression's names (sums to 1); null where the source gives one label only "
            "(FER+: the ten annotators' votes, unknown and not-a-face left out)",
        ),
        Column("smile_derived", flag, _value("bool"), "smile inferred from expression (opt-in)"),
        Column(
            "label_by_convention",
            flag,
            _value("bool"),
            "a head was filled by the source's convention, not by an annotator (e.g. the "
            "first frame of a CK+ sequence is neutral)",
        ),
        Column("source_label", text, _value("string"), "the source's own label codes, verbatim"),
        Column("dataset", text, _value("string"), "the dataset id"),
        Column("source_id", text, _value("string"), "which source of the dataset was read"),
        Column("official", flag, _value("bool"), "the source is the authors' own distribution"),
        Column("key", text, _value("string"), "the sample's key inside its source"),
        Column("split", text, _value("string"), "train, validation or test"),
        Column("subject_id", text, _value("string"), "the person, where the source says"),
        Column("license_id", text, _value("string"), "the dataset's license id"),
        Column("license_tier", text, _value("string"), "the dataset's license tier"),
        _list_of(
            "bbox",
            "float32",
            "the detected face box x1, y1, x2, y2 in the original image's pixels",
        ),
        _list_of(
            "landmarks",
            "float32",
            "the five points the face was aligned on (x, y pairs), original pixels",
        ),
        _list_of(
            "source_bbox",
            "float32",
            "the source's own face box x, y, w, h in the original image's pixels",
        ),
        Column(
            "landmarks_error",
            text,
            _value("string"),
            "why the source's own landmarks could not be read (the face was detected instead)",
        ),
        Column(
            "source_extra",
            text,
            _value("string"),
            "the reader's other annotations as a JSON object (sequence, video time, ...)",
        ),
        Column("detector", text, _value("string"), "the face detector, where one ran"),
        Column("det_score", pa.float32(), _value("float32"), "the detector's confidence"),
        Column(
            "align_status",
            text,
            _value("string"),
            "how the face was found: " + ", ".join(ALIGN_STATUSES),
        ),
        Column("yaw", pa.float32(), _value("float32"), "head yaw in radians, where given"),
        Column("pitch", pa.float32(), _value("float32"), "head pitch in radians, where given"),
        Column("roll", pa.float32(), _value("float32"), "head roll in radians, where given"),
        Column("valence", pa.float32(), _value("float32"), "valence, where the source gives it"),
        Column("arousal", pa.float32(), _value("float32"), "arousal, where the source gives it"),
        _list_of(
            "merged_from",
            "string",
            "dataset/key of duplicates whose labels were merged into this row",
        ),
        _list_of(
            "label_conflict",
            "string",
            "heads whose duplicates disagreed; the build's conflict policy decided the value",
        ),
        Column("sha256", text, _value("string"), "of the decoded source pixels: exact dedup"),
        Column("phash", pa.uint64(), _value("uint64"), "perceptual hash of the face: near dedup"),
    )


def hf_features(expressions: Sequence[str], image_mode: str = "RGB") -> dict[str, Any]:
    """The `datasets.Features` dict (its JSON form), as stored in the Parquet metadata."""
    return {c.name: c.feature for c in columns(expressions, image_mode)}


@lru_cache(maxsize=16)
def _schema(expressions: tuple[str, ...], image_mode: str) -> pa.Schema:
    cols = columns(expressions, image_mode)
    features = {c.name: c.feature for c in cols}
    return pa.schema(
        [pa.field(c.name, c.arrow) for c in cols],
        # HF `datasets` reads this from the Parquet schema metadata to type the features
        metadata={"huggingface": json.dumps({"info": {"features": features}})},
    )


def arrow_schema(expressions: Sequence[str], image_mode: str = "RGB") -> pa.Schema:
    """The Parquet schema of a corpus, with its Hugging Face features in the metadata."""
    if image_mode not in IMAGE_MODES:
        raise ValueError(f"image mode {image_mode!r} is not one of {IMAGE_MODES}")
    return _schema(tuple(expressions), image_mode)


@lru_cache(maxsize=1)
def default_expressions() -> tuple[str, ...]:
    """The taxonomy's expression names, in its order: the class indices of every corpus."""
    from facedata.label.taxonomy import load_taxonomy

    return tuple(load_taxonomy().expressions)


def column_names() -> list[str]:
    return [c.name for c in columns(default_expressions())]


class LabelCodec:
    """Label names <-> class indices for one corpus (its taxonomy's expression order)."""

    def __init__(self, expressions: Sequence[str]) -> None:
        self.names = {"smile": list(SMILE_NAMES), "expression": list(expressions)}
        self._index = {"expression": {n: i for i, n in enumerate(expressions)}}

    def encode(self, head: str, value: Any) -> int:
        """A row's label (smile 0/1, an expression name, or None) as a class index."""
        if value is None:
            return MISSING
        if head == "smile":
            v = int(value)
            if v not in (0, 1):
                raise ValueError(f"smile must be 0 or 1, not {value!r}")
            return v
        try:
            return self._index[head][value]
        except KeyError:
            raise ValueError(f"{head} {value!r} is not in the taxonomy") from None

    def decode(self, head: str, index: Any) -> Any:
        """A class index back to the row's label (smile stays 0/1); None when missing."""
        if index is None or int(index) < 0:
            return None
        return int(index) if head == "smile" else self.names[head][int(index)]


_probed = False  # pyarrow has made its pandas probe in this process (it makes one)


def arrow_without_pandas() -> None:
    """Tell pyarrow that this process has no pandas, without importing it.

    pyarrow imports pandas on its first conversion of any Python list, only to check
    whether the list holds pandas objects: a quarter of a second per process, paid by
    every build worker although rows never hold pandas objects. Making that one
    import attempt fail (pyarrow remembers the answer) skips it; `import pandas`
    works as before afterwards, but Arrow's own pandas conversions (to_pandas) do
    not, so only processes that never call them (build workers, the CLI's build)
    use this. A no-op where pandas is already imported.
    """
    import sys

    global _probed
    if _probed or "pandas" in sys.modules:
        return
    _probed = True
    sys.meta_path.insert(0, _NoPandas)  # import pandas -> ImportError, for one probe
    try:
        pa.array([0])  # the probe pyarrow makes once per process
    finally:
        sys.meta_path.remove(_NoPandas)


class _NoPandas:
    """A meta path finder that refuses pandas (installed only during the probe)."""

    @staticmethod
    def find_spec(name: str, path: Any = None, target: Any = None) -> None:
        if name == "pandas" or name.startswith("pandas."):
            raise ImportError("pandas is not used here", name=name)
        return None


def to_table(rows: Iterable[dict[str, Any]], schema: pa.Schema, codec: LabelCodec) -> pa.Table:
    """Rows as the pipeline holds them (labels by name, None for missing) -> Arrow."""
    encoded = []
    for row in rows:
        out = dict(row)
        for head in HEADS:
            out[head] = codec.encode(head, row.get(head))
        encoded.append(out)
    return pa.Table.from_pylist(encoded, schema=schema)


def features_of(schema: pa.Schema) -> dict[str, Any]:
    """The Hugging Face features a shard declares (empty for a shard without them)."""
    raw = (schema.metadata or {}).get(b"huggingface")
    if not raw:
        return {}
    try:
        return jsontext.loads(raw)["info"]["features"]
    except (ValueError, KeyError, TypeError):
        return {}


def codec_of(schema: pa.Schema) -> LabelCodec:
    """The label codec a shard was written with (its ClassLabel names)."""
    names = features_of(schema).get("expression", {}).get("names")
    return LabelCodec(names or default_expressions())


def table_of(
    rows: Iterable[dict[str, Any]],
    expressions: Sequence[str] | None = None,
    image_mode: str = "RGB",
) -> pa.Table:
    """Rows (labels by name) as a corpus table with the taxonomy's class indices."""
    names = tuple(expressions or default_expressions())
    return to_table(rows, arrow_schema(names, image_mode), LabelCodec(names))
