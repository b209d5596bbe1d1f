"""The corpus format's one home: the row, the shard layout and the provenance record.

Everything that writes or reads a corpus (the assembler, the citation bundle, the
report, `forget`, the PyTorch dataset) imports from here and nowhere else.
"""

from __future__ import annotations

from facedata.corpus.heads import class_weights, head_record, heads_record
from facedata.corpus.read import iter_rows, shard_files
from facedata.corpus.record import (
    CORPUS_FORMAT,
    REBUILD,
    CorpusError,
    CorpusRecord,
    Counts,
    DatasetEntry,
    Dedup,
    ExistingCorpus,
    Head,
    ImageSpec,
    Shard,
    existing_corpus,
    json_schema,
    json_schema_text,
    parse_record,
    read_corpus,
    shard_file,
    write_corpus,
)
from facedata.corpus.row import (
    ALIGN_STATUSES,
    HEADS,
    IMAGE_MODES,
    MISSING,
    SMILE_NAMES,
    Column,
    LabelCodec,
    arrow_schema,
    codec_of,
    column_names,
    columns,
    default_expressions,
    features_of,
    hf_features,
    table_of,
    to_table,
)
from facedata.corpus.shards import (
    CORPUS_JSON,
    DATA_DIR,
    SPLITS,
    describe,
    file_sha256,
    renumber,
    shard_name,
    shard_path,
    split_of,
)

__all__ = [
    "ALIGN_STATUSES",
    "CORPUS_FORMAT",
    "CORPUS_JSON",
    "DATA_DIR",
    "HEADS",
    "IMAGE_MODES",
    "MISSING",
    "REBUILD",
    "SMILE_NAMES",
    "SPLITS",
    "Column",
    "CorpusError",
    "CorpusRecord",
    "Counts",
    "DatasetEntry",
    "Dedup",
    "ExistingCorpus",
    "Head",
    "ImageSpec",
    "LabelCodec",
    "Shard",
    "arrow_schema",
    "class_weights",
    "codec_of",
    "column_names",
    "columns",
    "default_expressions",
    "describe",
    "existing_corpus",
    "features_of",
    "file_sha256",
    "head_record",
    "heads_record",
    "hf_features",
    "iter_rows",
    "json_schema",
    "json_schema_text",
    "parse_record",
    "read_corpus",
    "renumber",
    "shard_file",
    "shard_files",
    "shard_name",
    "shard_path",
    "split_of",
    "table_of",
    "to_table",
    "write_corpus",
]


def default_schema():  # noqa: ANN201 - pyarrow.Schema, imported lazily by callers
    """The Parquet schema of a corpus built with the bundled taxonomy, in RGB."""
    return arrow_schema(default_expressions())
