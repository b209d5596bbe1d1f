"""The manifest schema: everything facedata knows about one dataset.

A manifest is the single place where a dataset's facts live (where to get it, what
it may be used for, how to cite it, how its labels map). Code never hard-codes
these facts, so adding or correcting a dataset is a YAML change, and the license
policy can reason about every source before any byte is downloaded.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from facedata.errors import ManifestError
from facedata.files.confine import name_problem
from facedata.files.yamlfile import YamlDoc, describe_validation_error, load_yaml
from facedata.label.taxonomy import Taxonomy
from facedata.manifest.sources import AnySource, Source, complete_kinds, plain_errors
from facedata.manifest.sources import (
    SourceKind as SourceKind,  # the kinds, named where manifests are read
)
from facedata.vocabulary import Head, Permission, Tier

AccessLevel = Literal["open", "account", "agreement"]
Task = Head  # a label head a dataset provides
AlignMode = Literal["detect", "landmarks", "precropped"]

Sha256 = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$", description="64 lowercase hex digits")]
Md5 = Annotated[str, Field(pattern=r"^[0-9a-f]{32}$", description="32 lowercase hex digits")]
Slug = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9._-]*$")]

_LICENSE_ID = re.compile(r"^(LicenseRef-[A-Za-z0-9.-]+|[A-Za-z0-9][A-Za-z0-9.+-]*)$")
LICENSE_ID = _LICENSE_ID  # what an SPDX id or LicenseRef-* looks like (the bundle checks records)


def check_url(value: str) -> str:
    """An http(s) URL with a host and a valid port: what the downloader can follow."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(value)
        port = parts.port  # raises ValueError when out of range
    except ValueError as exc:
        raise ValueError(f"url is malformed: {exc}") from None
    if parts.scheme not in ("http", "https"):
        raise ValueError("url must start with http:// or https://")
    if not parts.hostname or any(c.isspace() for c in value):
        raise ValueError("url needs a host name and no spaces")
    del port
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LicenseInfo(_Strict):
    """A dataset's terms. Mirrors have no license of their own: a re-upload cannot relicense."""

    id: str = Field(description="SPDX id or LicenseRef-*")
    tier: Tier
    derivatives: Permission = "unknown"
    redistribution: Permission = "unknown"
    terms_url: str | None = None
    notes: str = ""
    text: str | None = Field(None, description="verbatim excerpt of the terms")

    @field_validator("terms_url")
    @classmethod
    def _web_url(cls, value: str | None) -> str | None:
        return value if value is None else check_url(value)

    @field_validator("id")
    @classmethod
    def _spdx_like(cls, value: str) -> str:
        if not _LICENSE_ID.match(value):
            raise ValueError("expected an SPDX id (e.g. CC-BY-4.0) or LicenseRef-<name>")
        return value


class FileSpec(_Strict):
    """One file a source provides. Unknown hashes are pinned on first fetch."""

    name: str = Field(description="path of the file inside the source's download folder")
    url: str | None = None
    size: int | None = Field(None, ge=0)
    sha256: Sha256 | None = None
    md5: Md5 | None = None
    verified: bool = Field(
        True,
        description="false when size/hash are expected but unconfirmed: a mismatch warns "
        "and records the observed value instead of failing",
    )
    unpack: bool | None = Field(None, description="unpack after download (default: by extension)")
    optional: bool = Field(
        False,
        description="a delivery may lack it; readers degrade (and say so) when it is absent",
    )
    unpacks_to: str | list[str] | None = Field(
        None,
        description="archives: a path its contents include (e.g. Emotion/); an already "
        "extracted copy counts as this file. A list: any one of them (the layouts of one "
        "dataset's copies)",
    )

    @field_validator("name")
    @classmethod
    def _relative(cls, value: str) -> str:
        if value.startswith("/") or ".." in Path(value).parts:
            raise ValueError("must be a relative path without '..'")
        problem = name_problem(value)
        if problem:
            raise ValueError(f"file name: {problem}")
        return value

    @field_validator("url")
    @classmethod
    def _web_url(cls, value: str | None) -> str | None:
        return value if value is None else check_url(value)


class FileSet(_Strict):
    """One complete alternative among a source's files (FER2013: the tar's CSV, or
    icml_face_data.csv, or train.csv + test.csv). Deliveries differ in which of them
    they carry; fetch accepts any complete set, the reader uses the first one present
    and the corpus records which.
    """

    id: str = Field(min_length=1, description="how provenance names this set")
    files: list[str] = Field(min_length=1, description="names from the source's files")
    options: dict[str, Any] = Field(
        default_factory=dict, description="reader options for this set (format.options)"
    )
    notes: str = ""


class AccessInfo(_Strict):
    """How a person gets a source: needed for gated sets, shown by `facedata info`."""

    level: AccessLevel
    instructions: str = ""
    request_url: str | None = None
    contact: str | None = None

    @field_validator("request_url")
    @classmethod
    def _web_url(cls, value: str | None) -> str | None:
        return value if value is None else check_url(value)


class FormatSpec(_Strict):
    """Which reader understands the unpacked files, and where they sit."""

    reader: str
    root: str = Field(".", description="path (globs allowed) inside the unpacked source")
    options: dict[str, Any] = Field(default_factory=dict)

    @field_validator("root")
    @classmethod
    def _inside(cls, value: str) -> str:
        if value in ("", "."):
            return value
        problem = name_problem(value)
        if problem or "**" in value:
            raise ValueError(
                f"{problem or 'a recursive glob (**) is not allowed'}: format.root names a "
                "folder inside the unpacked source"
            )
        return value


class HeadMap(_Strict):
    """Source codes to one label head. Codes are strings: that is how they appear on disk."""

    codes: dict[str, int | str]
    drop: dict[str, str] = Field(default_factory=dict, description="code -> reason it is dropped")
    derived: bool = Field(
        False, description="smile only: the codes name an emotion, so smile is inferred"
    )

    @field_validator("codes", "drop", mode="before")
    @classmethod
    def _string_keys(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {str(k): v for k, v in value.items()}
        return value


class LabelSpec(_Strict):
    smile: HeadMap | None = None
    expression: HeadMap | None = None


class FaceSpec(_Strict):
    """How to find the face: detect it, use the dataset's landmarks, or trust a crop."""

    align: AlignMode = "detect"
    landmarks: Literal[5, 68] | None = None
    precropped: bool = Field(False, description="tiny pre-cropped faces: pad and upscale first")


# The source kinds (sources.py) name the parts above; resolve them now that they exist.
complete_kinds(vars())


class Manifest(_Strict):
    """A dataset: identity, terms, citation, sources, layout, labels, face hints."""

    id: Slug
    name: str
    version: str | None = None
    homepage: str | None = None
    description: str = ""
    tasks: list[Task] = Field(min_length=1)
    images: int | None = Field(None, ge=0, description="approximate image count, for the catalog")
    license: LicenseInfo
    attribution: str | None = Field(None, description="required attribution, verbatim")
    citation: str = Field(description="BibTeX, one or more entries")
    sources: list[AnySource] = Field(min_length=1)
    format: FormatSpec | None = None
    labels: LabelSpec = LabelSpec()
    faces: FaceSpec = FaceSpec()

    path: Path | None = Field(None, exclude=True, description="set by the loader")

    @field_validator("citation")
    @classmethod
    def _bibtex(cls, value: str) -> str:
        from facedata.files.sanitize import UnsafeTextError, bibtex

        if not re.search(r"@\w+\s*\{", value):
            raise ValueError("expected BibTeX (e.g. @article{key, ...})")
        if value.count("{") != value.count("}"):
            raise ValueError("unbalanced braces in BibTeX")
        try:
            bibtex(value, "")
        except UnsafeTextError as exc:
            raise ValueError(f"{exc.message.removeprefix(': ')} ({exc.hint})") from None
        return value

    @field_validator("homepage")
    @classmethod
    def _web_url(cls, value: str | None) -> str | None:
        return value if value is None else check_url(value)

    @model_validator(mode="after")
    def _consistent(self) -> Manifest:
        ids = [s.id for s in self.sources]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"source ids must be unique, repeated: {', '.join(dupes)}")
        for src in self.sources:
            if self.format is None and src.format is None:
                raise ValueError(f"source {src.id!r} has no format and the dataset sets none")
        return self

    # -- per-source views: a source may override the dataset's layout, labels, faces

    def source(self, source_id: str) -> Source:
        for src in self.sources:
            if src.id == source_id:
                return src
        known = ", ".join(s.id for s in self.sources)
        raise ManifestError(f"{self.id} has no source {source_id!r}", hint=f"sources: {known}")

    def required_files(self, src: Source) -> list[FileSpec]:
        """Files every delivery must carry: not optional and in no file set."""
        in_sets = {n for fs in src.file_sets for n in fs.files}
        return [f for f in src.files if not f.optional and f.name not in in_sets]

    def format_for(self, src: Source) -> FormatSpec:
        fmt = src.format or self.format
        assert fmt is not None  # guaranteed by _consistent
        return fmt

    def labels_for(self, src: Source) -> LabelSpec:
        return src.labels or self.labels

    def faces_for(self, src: Source) -> FaceSpec:
        return src.faces or self.faces

    def resolve(self, relative: str) -> Path:
        """A path written in the manifest, relative to the manifest's own folder."""
        p = Path(relative).expanduser()
        if p.is_absolute() or self.path is None:
            return p
        return self.path.parent / p

    @property
    def access(self) -> AccessLevel:
        """The easiest legitimate way in: the most open official source.

        Unofficial copies are often easier to reach, but they do not change what the
        rights holder asks of you, so they count only when no official source exists.
        """
        order = ["open", "account", "agreement"]
        official = [s for s in self.sources if s.official] or self.sources
        return min((s.access.level for s in official), key=order.index)

    @property
    def citation_keys(self) -> list[str]:
        return re.findall(r"@\w+\s*\{\s*([^,\s]+)\s*,", self.citation)


def check_labels(manifest: Manifest, taxonomy: Taxonomy) -> list[tuple[tuple, str]]:
    """Label rules pydantic cannot know: the taxonomy, and smile is not happy.

    Returns (location, message) pairs so the loader can point at the line.
    """
    problems: list[tuple[tuple, str]] = []
    specs: list[tuple[tuple, LabelSpec]] = [(("labels",), manifest.labels)]
    specs += [
        (("sources", i, "labels"), s.labels) for i, s in enumerate(manifest.sources) if s.labels
    ]
    for base, spec in specs:
        if spec.smile is not None:
            if "smile" not in manifest.tasks:
                problems.append(((*base, "smile"), "smile labels given but tasks lacks 'smile'"))
            for code, value in spec.smile.codes.items():
                loc = (*base, "smile", "codes", code)
                if value not in (0, 1) or isinstance(value, bool):
                    problems.append((loc, f"smile value must be 0 or 1, got {value!r}"))
                if taxonomy.names_emotion(code) and not spec.smile.derived:
                    problems.append(
                        (
                            loc,
                            f"code {code!r} names an emotion, not a visible smile; "
                            "set `derived: true` on this smile map if smile is inferred from it",
                        )
                    )
        if spec.expression is not None:
            if "expression" not in manifest.tasks:
                problems.append(
                    ((*base, "expression"), "expression labels given but tasks lacks 'expression'")
                )
            if spec.expression.derived:
                problems.append(
                    ((*base, "expression", "derived"), "`derived` applies to smile maps only")
                )
            for code, value in spec.expression.codes.items():
                if value not in taxonomy.expressions:
                    problems.append(
                        (
                            (*base, "expression", "codes", code),
                            f"{value!r} is not in the taxonomy; expected one of "
                            f"{', '.join(taxonomy.expressions)}",
                        )
                    )
    return problems


def check_options(manifest: Manifest) -> list[tuple[tuple, str]]:
    """Each reader's options against its own model (reader_options.py)."""
    from facedata.manifest.options import option_problems

    specs: list[tuple[tuple, FormatSpec]] = []
    if manifest.format is not None:
        specs.append((("format", "options"), manifest.format))
    specs += [
        (("sources", i, "format", "options"), s.format)
        for i, s in enumerate(manifest.sources)
        if s.format is not None
    ]
    out = [
        ((*base, *loc), msg)
        for base, spec in specs
        for loc, msg in option_problems(spec.reader, spec.options)
    ]
    for i, src in enumerate(manifest.sources):  # a file set's options override the format's
        fmt = src.format or manifest.format
        for j, fs in enumerate(getattr(src, "file_sets", None) or []):
            base = ("sources", i, "file_sets", j, "options")
            merged = {**(fmt.options if fmt else {}), **fs.options}
            out += [
                ((*base, *loc), msg)
                for loc, msg in option_problems(fmt.reader if fmt else "", merged)
                if loc and loc[0] in fs.options
            ]
    return out


def load_manifest(path: Path, taxonomy: Taxonomy) -> Manifest:
    """Load and fully validate one manifest; errors name file, line, field, expectation."""
    doc = load_yaml(path)
    if not isinstance(doc.data, dict):
        raise ManifestError(f"{path}: expected a mapping of manifest fields at the top level")
    return validate_manifest_doc(doc, taxonomy)


def validate_manifest_doc(doc: YamlDoc, taxonomy: Taxonomy) -> Manifest:
    try:
        manifest = Manifest.model_validate({**doc.data, "path": doc.path})
    except ValidationError as exc:
        raise describe_validation_error(doc, plain_errors(exc), "manifest") from None
    problems = check_labels(manifest, taxonomy) + check_options(manifest)
    if problems:
        lines = [f"{doc.where(loc)}: {'.'.join(map(str, loc))}: {msg}" for loc, msg in problems]
        raise ManifestError("invalid manifest: " + "\n".join(lines))
    return manifest
