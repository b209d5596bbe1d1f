"""Source kinds: where a dataset's bytes come from, one class per kind.

A manifest's `sources` entry is one of these, picked by its `kind` (a pydantic
discriminated union), so each kind carries what only it knows: its own fields and
their rules, what identifies the place its bytes come from (the license and erasure
checks compare these across datasets), and how it is obtained (downloaded through
`fetch.core.FETCHERS`, registered by a person with `--from`, or read in place).
Callers ask a source (`is_own_data`, `by_hand`, `identities()`, `address`) instead
of testing its kind.

Adding a kind: write its class here, add it to `KINDS` and its name to `SourceKind`,
and, when it can be downloaded, register its fetcher under the same name in
`fetch.core.FETCHERS`.

The parts every source shares (files, access, format, labels, faces) are defined in
`facedata.manifest`; the kinds name them lazily and `manifest` completes the kinds
once those parts exist (`complete_kinds`), so either module may be imported first.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal, Union, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

if TYPE_CHECKING:
    from facedata.manifest.schema import (
        AccessInfo,
        FaceSpec,
        FileSet,
        FileSpec,
        FormatSpec,
        LabelSpec,
        Slug,
    )

SourceKind = Literal["http", "kaggle", "huggingface", "manual", "local"]


def _open_access() -> AccessInfo:
    from facedata.manifest.schema import AccessInfo

    return AccessInfo(level="open")


def norm_url(url: str) -> str:
    """A URL as the twin check compares it: no scheme, no `www.`, no trailing slash, any case."""
    u = url.strip().lower().rstrip("/")
    for prefix in ("https://", "http://"):
        u = u.removeprefix(prefix)
    return u.removeprefix("www.")


class Source(BaseModel):
    """One place a dataset can come from; tried in manifest order, official first.

    The base of every kind: the fields all kinds share and the questions callers ask.
    Manifests never hold a bare `Source`; they hold one of the kinds below.
    """

    # built once `complete_kinds` has named the shared parts, not at class creation
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    # what a kind answers instead of callers testing its name
    is_own_data: ClassVar[bool] = False  # the team's own recordings, read where they lie
    by_hand: ClassVar[bool] = False  # a person obtains the files and registers them (--from)
    hub_layout: ClassVar[bool] = False  # a copy is a Hub snapshot: parquet shards, commit folder

    id: Slug
    kind: SourceKind
    official: bool
    # Where the bytes come from. Each kind requires its own (`check_kind`), and every
    # kind accepts them all, as manifests always could: a Kaggle source may name its page
    # `url`, a manual one the `repo_id` of a Hub copy. Each one given is an identity
    # (`identities`), so a copy under another kind or id is still found.
    url: str | None = None
    kaggle: str | None = Field(None, pattern=r"^[\w.-]+/[\w.-]+$", description="owner/dataset")
    kaggle_competition: str | None = None
    kaggle_version: int | None = None
    repo_id: str | None = None
    revision: str = "main"
    path: str | None = Field(None, description="local: folder of videos/images")
    consent: str | None = Field(None, description="local: consent register (CSV or YAML)")
    access: AccessInfo = Field(default_factory=_open_access)
    files: list[FileSpec] = Field(default_factory=list)
    file_sets: list[FileSet] = Field(
        default_factory=list,
        description="alternatives: at least one must be complete; their files need not be",
    )
    format: FormatSpec | None = None
    labels: LabelSpec | None = None
    faces: FaceSpec | None = None
    notes: str = ""

    @model_validator(mode="after")
    def _rules(self) -> Source:
        if type(self) is Source:
            raise ValueError(f"a source is one of the kinds: {', '.join(get_args(SourceKind))}")
        self.check_kind()
        names = {f.name for f in self.files}
        for fs in self.file_sets:
            unknown = [n for n in fs.files if n not in names]
            if unknown:
                raise ValueError(
                    f"file set {fs.id!r} names files the source does not list: {', '.join(unknown)}"
                )
        return self

    def check_kind(self) -> None:
        """The rules of this kind's fields; raise ValueError with what to write."""

    @property
    def address(self) -> str:
        """Where the source is, in one string (catalog listings, a lock's origin)."""
        return ""

    def page_urls(self) -> list[str]:
        """Web pages the source names itself (beside its files' URLs)."""
        return [self.url] if self.url else []

    def names(self) -> dict[str, str]:
        """Identities that are no URL (a Kaggle slug, a Hub repo): key -> words."""
        ids: dict[str, str] = {}
        if self.kaggle:
            ids[f"kaggle:{self.kaggle.lower()}"] = f"same Kaggle slug {self.kaggle}"
        if self.kaggle_competition:
            ids[f"kaggle-c:{self.kaggle_competition.lower()}"] = (
                f"same Kaggle competition {self.kaggle_competition}"
            )
        if self.repo_id:
            ids[f"hf:{self.repo_id.lower()}"] = f"same Hugging Face repo {self.repo_id}"
        return ids

    def identities(self) -> dict[str, str]:
        """What identifies the place this source's bytes come from: key -> words for a reason.

        Two datasets sharing one of these are copies of each other, whatever their ids.
        """
        ids: dict[str, str] = {}
        for u in [*self.page_urls(), *(f.url for f in self.files)]:
            if u:
                ids[f"url:{norm_url(u)}"] = f"same URL {u}"
        ids.update(self.names())
        return ids


class HttpSource(Source):
    """Files downloaded from web addresses, each listed with its URL."""

    kind: Literal["http"]

    def check_kind(self) -> None:
        if not all(f.url for f in self.files):
            raise ValueError("an http source needs files, each with a url")
        if not self.files:
            raise ValueError("an http source needs at least one file")

    @property
    def address(self) -> str:
        return self.url or (self.files[0].url if self.files else "") or ""


class KaggleSource(Source):
    """A Kaggle dataset (`owner/dataset`) or competition, fetched through Kaggle's API."""

    kind: Literal["kaggle"]

    def check_kind(self) -> None:
        if not (self.kaggle or self.kaggle_competition):
            raise ValueError(
                "a kaggle source needs `kaggle: owner/dataset` or `kaggle_competition`"
            )

    @property
    def address(self) -> str:
        return self.kaggle or self.kaggle_competition or ""


class HuggingFaceSource(Source):
    """A Hugging Face Hub dataset repository; the first fetch pins the commit."""

    hub_layout: ClassVar[bool] = True

    kind: Literal["huggingface"]

    def check_kind(self) -> None:
        if not self.repo_id:
            raise ValueError("a huggingface source needs `repo_id`")

    @property
    def address(self) -> str:
        return self.repo_id or ""


class ManualSource(Source):
    """Gated data a person requests and downloads; `fetch --from` registers the copy."""

    by_hand: ClassVar[bool] = True

    kind: Literal["manual"]

    def check_kind(self) -> None:
        if not self.access.instructions:
            raise ValueError(
                "a manual source needs access.instructions telling a person what to do"
            )

    @property
    def address(self) -> str:
        return self.url or ""


class LocalSource(Source):
    """The team's own recordings: read in place, each person admitted by the consent register."""

    is_own_data: ClassVar[bool] = True

    kind: Literal["local"]

    def check_kind(self) -> None:
        if not (self.path and self.consent):
            raise ValueError(
                "a local source needs `path` (its folder) and `consent` (its consent register)"
            )

    @property
    def address(self) -> str:
        return self.path or ""


KINDS: tuple[type[Source], ...] = (
    HttpSource,
    KaggleSource,
    HuggingFaceSource,
    ManualSource,
    LocalSource,
)

# what a manifest's `sources` entry is: the kind its `kind` names
AnySource = Annotated[Union[KINDS], Field(discriminator="kind")]  # noqa: UP007 (built from KINDS)


def own_data_kind(kind: object) -> bool:
    """Is `kind` (a kind's name, as a corpus record keeps it) the team's own recordings?"""
    return any(k.is_own_data and kind in get_args(k.model_fields["kind"].annotation) for k in KINDS)


def of_kind(sources: list[Source], kind: str) -> list[Source]:
    """The sources of one kind (`fetch --source huggingface`), in manifest order."""
    return [s for s in sources if s.kind == kind]


def complete_kinds(namespace: dict[str, Any]) -> None:
    """Resolve the shared parts' names (called by `manifest` once it defines them)."""
    for cls in (Source, *KINDS):
        cls.model_rebuild(_types_namespace=namespace)


def plain_errors(exc: ValidationError) -> ValidationError:
    """Pydantic's report as if a source were one model: file:line and messages as always.

    A tagged union puts the tag into each location (`sources.0.http.files`) and words a
    bad `kind` its own way; manifests point at YAML keys, so the tag goes and a bad or
    missing `kind` reads like any other field's error.
    """
    tags = set(get_args(SourceKind))
    expected = ", ".join(repr(k) for k in get_args(SourceKind)[:-1])
    expected += f" or {get_args(SourceKind)[-1]!r}"
    out: list[Any] = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        if len(loc) >= 3 and loc[0] == "sources" and loc[2] in tags:
            loc = loc[:2] + loc[3:]
        kind = err.get("input", {}).get("kind") if isinstance(err.get("input"), dict) else None
        if err["type"] == "union_tag_invalid":
            err = {"type": "literal_error", "input": kind, "ctx": {"expected": expected}}
            loc = (*loc, "kind")
        elif err["type"] == "union_tag_not_found":
            err = {"type": "missing", "input": err.get("input")}
            loc = (*loc, "kind")
        out.append({**err, "loc": loc})
    try:
        return ValidationError.from_exception_data(exc.title, out)
    except (KeyError, TypeError, ValueError):  # an error type pydantic cannot rebuild
        return exc


import facedata.manifest.schema as _schema  # noqa: E402,F401  (completes the kinds when imported first)
