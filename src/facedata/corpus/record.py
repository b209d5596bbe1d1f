"""`corpus.json`, the provenance record of a built corpus, as a typed, versioned model.

This module is the record's only representation and its only door to disk. `build`
makes it once from typed parts (`DatasetEntry` per admitted input); `forget` changes
it through methods that return a new record (`with_shards`, `with_counts`,
`without_subject`); `write_corpus` is the one writer and `read_corpus` the one reader
(`existing_corpus` the lenient look a rebuild and the registry take), so every path
checks the same things with the same messages, and a damaged or crafted corpus reads
the same everywhere. Its JSON Schema is published in docs/corpus-schema.json
(`python -m facedata.corpus` regenerates it).

Every field has a default and unknown keys are kept: a record written by an older
facedata still reads, and `forget` rewriting a record never loses what it does not
know about. Types are checked: a key holding the wrong kind of value is damage.
"""

from __future__ import annotations

import json
import os
import re
import stat
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

import facedata.files.confine as confine
import facedata.files.jsontext as jsontext
from facedata.corpus.heads import heads_record
from facedata.corpus.shards import CORPUS_JSON
from facedata.errors import FacedataError, UnsafePathError
from facedata.files.atomic import atomic_write_bytes

if TYPE_CHECKING:
    from facedata.gate.licensing import Clearance
    from facedata.manifest.schema import Manifest, Source

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


class DatasetEntry(_Open):
    """One admitted input as corpus.json lists it: what it is, under which terms it
    entered, and the bytes it was read from. Made from the manifest and source by
    `of`, so the record never restates a manifest field by hand."""

    id: str
    name: str | None = None
    version: str | None = None
    homepage: str | None = None
    source: str | None = None
    source_kind: str | None = None
    official: bool | None = None
    license_id: str | None = None
    tier: str | None = Field(None, description="the tier the build decided for this input")
    declared_tier: str | None = Field(None, description="the manifest's own tier")
    derivatives: str | None = None
    redistribution: str | None = None
    terms_url: str | None = None
    license_notes: str | None = None
    license_text: str | None = None
    attribution: str | None = None
    citation: str | None = None
    clearance: dict[str, Any] | None = None
    inputs: list[dict[str, Any]] = Field(
        default_factory=list, description="files read: name, origin, size, sha256"
    )
    file_set: str | None = Field(None, description="the file set of the source that was read")
    notes: list[str] = Field(default_factory=list, description="what the readers noted")

    @classmethod
    def of(
        cls,
        manifest: Manifest,
        source: Source,
        *,
        tier: str,
        clearance: Clearance | None = None,
        inputs: Iterable[Mapping[str, Any]] = (),
        file_set: str | None = None,
        notes: Iterable[str] = (),
    ) -> DatasetEntry:
        """The entry of `source` of `manifest`, admitted at `tier` (under `clearance`)."""
        lic = manifest.license
        return cls(
            id=manifest.id,
            name=manifest.name,
            version=manifest.version,
            homepage=manifest.homepage,
            source=source.id,
            source_kind=source.kind,
            official=source.official,
            license_id=lic.id,
            tier=tier,
            declared_tier=lic.tier,
            derivatives=lic.derivatives,
            redistribution=lic.redistribution,
            terms_url=lic.terms_url,
            license_notes=lic.notes,
            license_text=lic.text,
            attribution=manifest.attribution,
            citation=manifest.citation,
            clearance=clearance.model_dump(mode="json") if clearance is not None else None,
            inputs=[dict(i) for i in inputs],
            file_set=file_set,
            notes=list(notes),
        )

    def to_json(self) -> dict[str, Any]:
        """The entry as corpus.json holds it, every key present."""
        return self.model_dump(mode="json")


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
    policy_date: str | None = Field(
        None, description="the UTC date every license, clearance and consent decision used"
    )
    detector_decision: dict[str, Any] | None = Field(
        None, description="whether the face detector's weights may serve the purpose, and why"
    )
    warnings: list[str] = Field(
        default_factory=list, description="what the build found wrong but not fatal"
    )
    withdrawals_applied: list[dict[str, Any]] = Field(
        default_factory=list, description="logged withdrawals that left rows out of this build"
    )

    def to_json(self) -> dict[str, Any]:
        """The JSON form, holding only what the record has (absent keys stay absent).

        What the bundle, the report and the registry are given: they never read the
        file a second time."""
        return self.model_dump(mode="json", exclude_unset=True)

    def to_dict(self) -> dict[str, Any]:
        """Same as `to_json` (the name older callers use)."""
        return self.to_json()

    def __getitem__(self, key: str) -> Any:
        """Read access in corpus.json's own shape (`record["counts"]["total"]`), so code
        and tests written against the JSON file read a returned record the same way."""
        data = self.to_json()
        if key not in data:
            raise KeyError(key)
        return data[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.to_json().get(key, default)

    def write(self, root: Path) -> None:
        """Write this record as `root`/corpus.json; see `write_corpus`."""
        write_corpus(root, self)

    def _changed(self, **fields: Any) -> CorpusRecord:
        """A new record with `fields` replaced, checked like one read from disk (a shard
        path set here is confined as one read from a file would be)."""
        return parse_record({**self.to_json(), **fields})

    def with_shards(self, shards: Iterable[Mapping[str, Any]]) -> CorpusRecord:
        """The record listing `shards` (path, split, rows, sha256, bytes) instead."""
        return self._changed(shards=[dict(s) for s in shards])

    def with_counts(self, counts: Mapping[str, Any]) -> CorpusRecord:
        """The record with row counts taken from the shards as they are now.

        `read` (samples the readers yielded) stays: rows erased later were still read.
        Head statistics follow the counts; a record from before head statistics gets
        none invented."""
        data = self.to_json()
        changed: dict[str, Any] = {
            "counts": {**counts, "read": (data.get("counts") or {}).get("read")}
        }
        names = ((data.get("heads") or {}).get("expression") or {}).get("names")
        if data.get("heads") and names:
            changed["heads"] = heads_record(names, changed["counts"])
        return self._changed(**changed)

    def without_subject(
        self, subject_id: str, scope: frozenset[str] | None, mark: Mapping[str, Any]
    ) -> CorpusRecord:
        """The record after `subject_id` was erased from the datasets in `scope` (None:
        every dataset): the erasure `mark` is appended to `forgotten`, and mentions of the
        subject go from drop examples, image errors and the media inputs that were theirs
        alone. Everything else (licenses, decisions, provenance of other inputs) stays."""
        data = self.to_json()
        token = re.compile(rf"(?<![A-Za-z0-9]){re.escape(subject_id)}(?![A-Za-z0-9])")
        changed: dict[str, Any] = {"forgotten": [*(data.get("forgotten") or []), dict(mark)]}
        drops = data.get("drops") or {}
        if drops:
            changed["drops"] = {
                key: {**d, "examples": [e for e in d["examples"] if not token.search(str(e))]}
                if isinstance(d.get("examples"), list)
                else d
                for key, d in drops.items()
            }
        if data.get("datasets"):
            changed["datasets"] = [
                _without_inputs_of(d, subject_id, scope) for d in data["datasets"]
            ]
        if data.get("image_errors"):
            changed["image_errors"] = [
                e for e in data["image_errors"] if not token.search(json.dumps(e, default=str))
            ]
        return self._changed(**changed)

    def as_up_to_date(self) -> CorpusRecord:
        """The record a build returns when it found this corpus already built as asked."""
        return self._changed(up_to_date=True)

    def expression_names(self) -> list[str]:
        head = self.heads.get("expression")
        if head is not None:
            return list(head.names)
        from facedata.corpus.row import default_expressions

        return list(default_expressions())


def _without_inputs_of(
    entry: dict[str, Any], subject_id: str, scope: frozenset[str] | None
) -> dict[str, Any]:
    """A dataset entry without the media only `subject_id` was seen in (when in scope)."""
    inputs = entry.get("inputs")
    if not isinstance(inputs, list) or (scope is not None and entry.get("id") not in scope):
        return entry
    kept = []
    for item in inputs:
        who = item.get("subjects") if isinstance(item, dict) else None
        if isinstance(who, list) and subject_id in who:
            who = [w for w in who if w != subject_id]
            if not who:
                continue  # media of the withdrawn subject alone
            item = {**item, "subjects": who}
        kept.append(item)
    return {**entry, "inputs": kept}


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


def _load(path: Path) -> Any:
    """The JSON value in `path`/corpus.json: a regular file inside the folder, of a
    bounded size, nested to a bounded depth (a received corpus may be anything)."""
    record = path / CORPUS_JSON
    try:
        raw = confine.read_regular(confine.inside(path, record, CORPUS_JSON), MAX_RECORD)
    except (OSError, UnsafePathError) as exc:
        why = exc.message if isinstance(exc, FacedataError) else exc
        raise CorpusError(
            f"{path} is a damaged corpus: cannot read {CORPUS_JSON}: {why}", hint=REBUILD
        ) from None
    return _parse(raw, str(path))


def _parse(raw: bytes, where: str) -> Any:
    """The JSON value in a record's bytes, bounded in size and nesting depth."""
    try:
        if len(raw) > MAX_RECORD:
            raise ValueError(f"it is over {MAX_RECORD:,} bytes")
        return jsontext.loads(raw.decode("utf-8"))
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError
        raise CorpusError(
            f"{where} is a damaged corpus: cannot read {CORPUS_JSON}: {exc}", hint=REBUILD
        ) from None


def read_corpus(
    path: Path,
    *,
    require: tuple[str, ...] = (),
    missing_hint: str = "pass the folder `facedata build --out` wrote",
) -> CorpusRecord:
    """The record of the corpus at `path`; `require` names keys it must hold."""
    path = Path(path)
    if not (path / CORPUS_JSON).is_file():
        raise CorpusError(f"{path} is not a facedata corpus (no {CORPUS_JSON})", hint=missing_hint)
    data = _load(path)
    for key in require if isinstance(data, dict) else ():
        if data.get(key) is None:
            raise CorpusError(
                f"{path} is a damaged corpus: {CORPUS_JSON} has no `{key}`", hint=REBUILD
            )
    return parse_record(data, str(path))


def write_corpus(root: Path, record: CorpusRecord) -> Path:
    """Write `record` as `root`/corpus.json, atomically (temp file, then rename); the
    one writer of corpus.json.

    The record is checked again first, as `read_corpus` would check it, and every shard
    it lists must lie inside `root`: a record changed in memory cannot write what a
    reader would refuse."""
    root = Path(root)
    checked = parse_record(record.to_json(), str(root))
    for shard in checked.shards:
        shard_file(root, shard.path)
    target = root / CORPUS_JSON
    atomic_write_bytes(target, encode_record(checked.to_json()))
    return target


def encode_record(data: Mapping[str, Any]) -> bytes:
    """A record's bytes, written one way wherever a record is kept (a folder, a bucket)."""
    return json.dumps(data, indent=2, default=str).encode("utf-8")


def decode_record(raw: bytes, where: str) -> dict[str, Any]:
    """The JSON object in a record's bytes: bounded in size and nesting, since a record
    received from a bucket or a copy may be anything; otherwise a CorpusError."""
    data = _parse(raw, where)
    if not isinstance(data, dict):
        raise CorpusError(f"{where} is a damaged corpus: its record is no object", hint=REBUILD)
    return data


def place_record(root: Path, data: Mapping[str, Any]) -> bytes:
    """Put a record copied from elsewhere (a published corpus being staged or rebuilt)
    into `root` as it is, atomically; return its bytes. Readers check it as they check
    any record: this writes, it vouches for nothing."""
    body = encode_record(data)
    Path(root).mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(Path(root) / CORPUS_JSON, body)
    return body


def record_bytes(root: Path) -> bytes | None:
    """The bytes of the record a folder holds now (None: none), bounded: enough to tell
    whether a build rewrote it since `place_record`."""
    target = Path(root) / CORPUS_JSON
    if not target.is_file():
        return None
    return confine.read_regular(confine.inside(Path(root), target, CORPUS_JSON), MAX_RECORD)


class RecordStore(Protocol):
    """Where a published corpus keeps its objects (see facedata.storage): keys are
    relative to the corpus's prefix."""

    def read_bytes(self, rel: str, limit: int) -> bytes | None: ...

    def write_bytes(self, rel: str, data: bytes) -> None: ...

    def replace_bytes(self, rel: str, data: bytes, base: str, limit: int) -> None: ...

    def create_bytes(self, rel: str, data: bytes) -> None: ...


NEW = "new"  # the base of a publish that must find no record in place (never a digest)


def read_stored(store: RecordStore, where: str) -> tuple[bytes, dict[str, Any]] | None:
    """A published record's bytes and object, or None where the store holds none."""
    raw = store.read_bytes(CORPUS_JSON, MAX_RECORD)
    return None if raw is None else (raw, decode_record(raw, where))


def write_stored(store: RecordStore, data: Mapping[str, Any], base: str | None = None) -> None:
    """Publish a record: one write, the commit point of a corpus on object storage;
    with `base`, only over the version it names, or with NEW only where none is yet
    (the store raises its conflict)."""
    if base is None:
        store.write_bytes(CORPUS_JSON, encode_record(data))
    elif base == NEW:
        store.create_bytes(CORPUS_JSON, encode_record(data))
    else:
        store.replace_bytes(CORPUS_JSON, encode_record(data), base, MAX_RECORD)


@dataclass(frozen=True)
class ExistingCorpus:
    """What a folder's corpus.json says, read without trusting it whole.

    A build replacing a corpus keeps its id and its `forgotten` marks even when the rest
    of the record is damaged (a withdrawal must hold through a rebuild); the registry
    matches corpora by id without checking the whole record. `record` is the checked
    record, or None when it does not validate."""

    data: dict[str, Any] = field(repr=False)
    where: str = ""

    @property
    def id(self) -> str | None:
        value = self.data.get("id")
        return value if isinstance(value, str) else None

    @property
    def created(self) -> str:
        """When the corpus was built, as text ('' when unknown)."""
        return str(self.data.get("created") or "")

    @property
    def marks(self) -> list[dict[str, Any]]:
        """Its `forgotten` entries: erasures a rebuild must keep honouring."""
        marks = self.data.get("forgotten")
        return [m for m in marks if isinstance(m, dict)] if isinstance(marks, list) else []

    @cached_property
    def record(self) -> CorpusRecord | None:
        try:
            return parse_record(self.data, self.where)
        except CorpusError:
            return None


def existing_corpus(root: Path) -> ExistingCorpus | None:
    """The corpus.json in `root`, or None when there is none or it is not a JSON object."""
    root = Path(root)
    if not (root / CORPUS_JSON).is_file():
        return None
    try:
        data = _load(root)
    except CorpusError:
        return None
    return ExistingCorpus(data, str(root)) if isinstance(data, dict) else None
