"""`corpus.json`, the provenance record of a built corpus, as a typed, versioned model.

`build` returns it; `cite`, `report`, `forget` and the PyTorch dataset read it through
`read_corpus`, which gives them the same checks and the same messages, so a damaged
corpus reads the same everywhere. Its JSON Schema is published in
docs/corpus-schema.json (`python -m facedata.corpus` regenerates it).

Every field has a default and unknown keys are kept: a record written by an older
facedata still reads, and `forget` rewriting a record never loses what it does not
know about. Types are checked: a key holding the wrong kind of value is damage.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .. import confine, jsontext
from ..atomic import atomic_write_text
from ..errors import FacedataError, UnsafePathError
from .shards import CORPUS_JSON

CORPUS_FORMAT = "facedata-corpus/2"
READABLE_FORMATS = ("facedata-corpus/1", CORPUS_FORMAT)
REBUILD = "rebuild it with `facedata build` (or restore a copy)"
MAX_RECORD = 256 * 1024 * 1024  # bytes of corpus.json; a real one is well under 1 MiB


class CorpusError(FacedataError):
    """A folder that is not a corpus, or a corpus whose record is damaged."""


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class Shard(_Open):
    """One Parquet file of the corpus."""

    path: str = Field(description="relative to the corpus root: data/{split}-i-of-N.parquet")
    split: str | None = None
    rows: int = 0
    sha256: str | None = None
    bytes: int | None = None

    @field_validator("path")
    @classmethod
    def _stays_inside(cls, value: str) -> str:
        """A corpus may come from someone else: a shard path naming a file outside it
        (absolute, or climbing out with '..') would make forget rewrite that file and
        report show its faces, so it is damage, refused before anything is opened."""
        problem = confine.name_problem(value)
        if problem:
            raise ValueError(f"shard path must stay inside the corpus: {problem}")
        return value

    def file(self, root: Path) -> Path:
        """This shard's file under `root`, resolved; see `shard_file`."""
        return shard_file(root, self.path)


def shard_file(root: Path, rel: str) -> Path:
    """The file a shard path names, resolved, or an UnsafePathError when it (or a link on
    the way) leads out of the corpus at `root`.

    Every reader of shards (forget, report, cite, train, the PyTorch dataset) goes
    through this: the text of the path is checked (`confine.check_name`), then where it
    really ends, so `data/x.parquet -> /elsewhere/y.parquet` is refused as well.
    """
    confine.check_name(rel, f"shard path in {CORPUS_JSON}")
    real = confine.inside(Path(root), Path(root) / rel, f"shard {rel}")
    # A FIFO would hang the reader, a device never end: only a regular file (or
    # nothing, which the callers report as missing) is a shard.
    try:
        mode = os.stat(real).st_mode
    except OSError:
        return real
    if not stat.S_ISREG(mode):
        raise UnsafePathError(
            f"shard {rel} is {confine.kind_of(mode)}, not a file",
            hint="a corpus's shards are plain Parquet files; get a clean copy of the corpus",
        )
    return real


class Counts(_Open):
    """Rows as written, broken down the ways a reader asks first."""

    total: int | None = None
    read: int | None = Field(None, description="samples the readers yielded")
    splits: dict[str, int] = Field(default_factory=dict)
    smile: dict[str, dict[str, int]] = Field(
        default_factory=dict, description="split -> smile value ('0'/'1') -> rows"
    )
    expression: dict[str, dict[str, int]] = Field(
        default_factory=dict, description="split -> expression name -> rows"
    )
    datasets: dict[str, dict[str, int]] = Field(default_factory=dict)
    align_status: dict[str, int] = Field(default_factory=dict)
    flags: dict[str, int] = Field(
        default_factory=dict,
        description="rows carrying each reader flag: label_by_convention, landmarks_error, "
        "source_bbox, label_conflict, merged",
    )


class Head(_Open):
    """A label head as a trainer sees it."""

    names: list[str] = Field(description="class names; a row's label is an index into them")
    index: dict[str, int] = Field(default_factory=dict, description="name -> class index")
    missing: int = Field(-1, description="the index meaning 'this source does not say'")
    counts: dict[str, list[int]] = Field(
        default_factory=dict, description="split -> rows per class, in index order"
    )
    weights: list[float] = Field(
        default_factory=list, description="balanced class weights from the train split"
    )


class Dedup(_Open):
    """What duplicate detection did; labels are merged or voided, never silently lost."""

    kept: int = 0
    exact: int = Field(0, description="exact duplicates removed (their labels merged first)")
    near: int = Field(0, description="near duplicates removed (their labels merged first)")
    near_distance: int = 0
    same_subject_kept: int = Field(
        0, description="near duplicates of one subject kept: frames differing in expression"
    )
    other_subject_kept: int = Field(
        0, description="near-identical faces of two subjects the dataset tells apart, kept"
    )
    merged: dict[str, int] = Field(
        default_factory=dict, description="head -> rows that gained it from a duplicate"
    )
    conflicts: dict[str, int] = Field(
        default_factory=dict, description="head -> duplicates that disagreed on it"
    )
    conflict_policy: str | None = None
    examples: list[dict[str, Any]] = Field(default_factory=list)


class ImageSpec(_Open):
    mode: str = Field("RGB", description="every row's image mode: RGB or L")
    size: int | None = None
    format: str | None = None


class CorpusRecord(_Open):
    """Everything about a corpus except its rows."""

    format: str = CORPUS_FORMAT
    id: str | None = Field(
        None, description="stable corpus id (uuid4): kept by copies, moves and rebuilds"
    )
    tool: dict[str, Any] = Field(default_factory=dict)
    created: str | None = None
    command: list[str] | None = None
    recipe: dict[str, Any] | None = None
    purpose: str | None = None
    license: dict[str, Any] | None = None
    datasets: list[dict[str, Any]] = Field(default_factory=list)
    decisions: list[dict[str, Any]] = Field(default_factory=list)
    clearances: list[dict[str, Any]] = Field(default_factory=list)
    detector: dict[str, Any] | None = None
    labels: dict[str, dict[str, int]] = Field(default_factory=dict)
    consent: dict[str, Any] = Field(default_factory=dict)
    drops: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="'dataset: reason' -> {count, examples, stage}"
    )
    funnel: dict[str, Any] | None = Field(
        None,
        description="rows read to rows written: {read, stages: {stage: dropped}, written, "
        "duplicates_by_label}",
    )
    dedup: Dedup = Field(default_factory=Dedup)
    leaks: list[dict[str, Any]] = Field(default_factory=list)
    image_errors: list[dict[str, Any]] = Field(default_factory=list)
    image: ImageSpec | None = None
    heads: dict[str, Head] = Field(default_factory=dict)
    counts: Counts = Field(default_factory=Counts)
    shards: list[Shard] = Field(default_factory=list)
    forgotten: list[dict[str, Any]] = Field(default_factory=list)
    seconds: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON form, holding only what the record has (absent keys stay absent)."""
        return self.model_dump(mode="json", exclude_unset=True)

    def __getitem__(self, key: str) -> Any:
        """Read access in corpus.json's own shape (`record["counts"]["total"]`), so code
        and tests written against the JSON file read a returned record the same way."""
        data = self.to_dict()
        if key not in data:
            raise KeyError(key)
        return data[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.to_dict().get(key, default)

    def write(self, root: Path) -> None:
        atomic_write_text(
            Path(root) / CORPUS_JSON, json.dumps(self.to_dict(), indent=2, default=str)
        )

    def expression_names(self) -> list[str]:
        head = self.heads.get("expression")
        if head is not None:
            return list(head.names)
        from .row import default_expressions

        return list(default_expressions())


def json_schema() -> dict[str, Any]:
    schema = CorpusRecord.model_json_schema()
    schema["$id"] = f"https://facedata.invalid/schemas/{CORPUS_FORMAT}.json"
    schema["title"] = f"corpus.json ({CORPUS_FORMAT})"
    return schema


def json_schema_text() -> str:
    return json.dumps(json_schema(), indent=2, sort_keys=True) + "\n"


def _problem(exc: ValidationError) -> str:
    first = exc.errors(include_url=False)[0]
    where = ".".join(str(p) for p in first["loc"]) or "the record"
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return f"`{where}`: {first['msg']}{more}"


def parse_record(data: Any, where: str = "the corpus") -> CorpusRecord:
    """Check a corpus.json object (read from `where`) and type it."""
    if not isinstance(data, dict):
        raise CorpusError(
            f"{where} is a damaged corpus: {CORPUS_JSON} holds {type(data).__name__}, "
            "not an object",
            hint=REBUILD,
        )
    fmt = data.get("format")
    if fmt is not None and fmt not in READABLE_FORMATS:
        raise CorpusError(
            f"{where}: {CORPUS_JSON} is in format {fmt!r}, which this facedata does not read "
            f"(it reads {', '.join(READABLE_FORMATS)})",
            hint="upgrade facedata, or rebuild the corpus with this version",
        )
    try:
        return CorpusRecord.model_validate(data)
    except ValidationError as exc:
        raise CorpusError(
            f"{where} is a damaged corpus: {CORPUS_JSON} {_problem(exc)}", hint=REBUILD
        ) from None


def read_corpus(
    path: Path,
    *,
    require: tuple[str, ...] = (),
    missing_hint: str = "pass the folder `facedata build --out` wrote",
) -> CorpusRecord:
    """The record of the corpus at `path`; `require` names keys it must hold."""
    path = Path(path)
    record = path / CORPUS_JSON
    if not record.is_file():
        raise CorpusError(f"{path} is not a facedata corpus (no {CORPUS_JSON})", hint=missing_hint)
    try:
        # a received corpus: the record is a regular file inside it, of a bounded size
        raw = confine.read_regular(confine.inside(path, record, CORPUS_JSON), MAX_RECORD)
        if len(raw) > MAX_RECORD:
            raise ValueError(f"it is over {MAX_RECORD:,} bytes")
        data = jsontext.loads(raw.decode("utf-8"))
    except (OSError, ValueError, UnsafePathError) as exc:  # JSONDecodeError, UnicodeDecodeError
        why = exc.message if isinstance(exc, FacedataError) else exc
        raise CorpusError(
            f"{path} is a damaged corpus: cannot read {CORPUS_JSON}: {why}", hint=REBUILD
        ) from None
    for key in require if isinstance(data, dict) else ():
        if data.get(key) is None:
            raise CorpusError(
                f"{path} is a damaged corpus: {CORPUS_JSON} has no `{key}`", hint=REBUILD
            )
    return parse_record(data, str(path))
