"""One view of a corpus for every bundle file: its record first, manifests second.

The bundle is rewritten long after a build (`facedata cite`, `facedata forget`),
when the catalog may have changed or be absent, so `corpus.json` is the authority:
it says what was actually used. Manifests only fill what an older record lacks.
`corpus_from_manifests` makes the same shape for datasets not built yet.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from facedata import __version__
from facedata.bundle.obligations import Credit, credit, modifications
from facedata.corpus import CORPUS_FORMAT, default_expressions, hf_features, read_corpus
from facedata.corpus.record import CorpusError
from facedata.files.sanitize import UnsafeTextError, bibtex
from facedata.gate.licensing import CorpusTerms as Terms
from facedata.gate.licensing import corpus_terms, share_alike, share_alike_sentence
from facedata.manifest.schema import Manifest
from facedata.vocabulary import PERMISSIONS, TIERS

_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{0,99}$")  # a file name under LICENSES/


@dataclass(frozen=True)
class DatasetInfo:
    """What the bundle says about one input dataset."""

    id: str
    name: str
    source: str | None
    official: bool
    license_id: str
    tier: str
    derivatives: str
    redistribution: str
    terms_url: str | None
    license_notes: str
    license_text: str | None
    attribution: str | None
    citation: str
    homepage: str | None
    version: str | None
    clearance: dict[str, Any] | None = None  # the clearance that admitted it, if one did
    citation_withheld: str | None = None  # why a citation was left out (unsafe BibTeX)

    @property
    def share_alike(self) -> bool:
        """Whether its license makes adaptations share alike (CC BY-SA, ODbL ...)."""
        return share_alike(self.license_id)

    @property
    def credit(self) -> Credit:
        """The credit owed: the manifest's string, or one composed where the license asks."""
        return credit(
            self.name,
            self.license_id,
            self.attribution,
            self.citation,
            self.homepage,
            self.terms_url,
        )


@dataclass(frozen=True)
class CorpusView:
    """A corpus record with its datasets resolved; what every renderer reads."""

    name: str
    purpose: str
    created: str
    tool: dict[str, Any]
    datasets: list[DatasetInfo]
    terms: Terms
    counts: dict[str, Any]
    shards: list[dict[str, Any]]
    detector: dict[str, Any] | None
    built: bool
    features: dict[str, Any] = field(default_factory=dict)  # the rows' HF features
    detector_decision: dict[str, Any] | None = None
    modifications: list[str] = field(default_factory=list)  # what the build did to inputs
    consent: dict[str, Any] = field(default_factory=dict)  # own data: register per dataset

    @property
    def date(self) -> str:
        """The creation date as YYYY-MM-DD (CFF and Croissant want a date)."""
        return self.created[:10]


def load_corpus(path: Path) -> dict[str, Any]:
    """Read `PATH/corpus.json`; a folder without one is not a corpus."""
    return read_corpus(
        path,
        require=("datasets",),
        missing_hint="pass the folder `facedata build --out` wrote, or use "
        "`facedata cite --datasets ID,... --out DIR` before a build",
    ).to_dict()


def _text_or_none(value: Any) -> str | None:
    """A text field of a record someone may have edited: scalars as text, the rest as absent."""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


def _dataset(record: dict[str, Any], manifest: Manifest | None) -> DatasetInfo:
    text_keys = {
        "name",
        "source",
        "license_id",
        "terms_url",
        "license_notes",
        "license_text",
        "attribution",
        "citation",
        "homepage",
        "version",
    }

    def pick(key: str, fallback: Any) -> Any:
        value = record.get(key)
        if key in text_keys:
            value = _text_or_none(value)
        elif key == "tier" and value is not None and value not in TIERS:
            value = "unknown"  # a tier nobody defined grants nothing
        elif key in ("derivatives", "redistribution") and value is not None:
            value = value if value in PERMISSIONS else "unknown"
        return fallback if value is None else value

    lic = manifest.license if manifest else None
    return DatasetInfo(
        id=str(record["id"]),
        name=pick("name", manifest.name if manifest else record["id"]),
        source=record.get("source"),
        official=bool(pick("official", True)),
        license_id=pick("license_id", lic.id if lic else "unknown"),
        tier=pick("tier", lic.tier if lic else "unknown"),
        derivatives=pick("derivatives", lic.derivatives if lic else "unknown"),
        redistribution=pick("redistribution", lic.redistribution if lic else "unknown"),
        terms_url=pick("terms_url", lic.terms_url if lic else None),
        license_notes=pick("license_notes", lic.notes if lic else ""),
        license_text=pick("license_text", lic.text if lic else None),
        attribution=pick("attribution", manifest.attribution if manifest else None),
        citation=pick("citation", manifest.citation if manifest else ""),
        homepage=pick("homepage", manifest.homepage if manifest else None),
        version=pick("version", manifest.version if manifest else None),
        clearance=record.get("clearance") if isinstance(record.get("clearance"), dict) else None,
    )


def derive_terms(datasets: Iterable[DatasetInfo], purpose: str) -> Terms:
    """The most restrictive terms of the inputs, with a statement a person can act on.

    An input a commercial clearance admitted counts as commercial in a commercial corpus.
    """
    datasets = list(datasets)
    cleared = [d.clearance for d in datasets if d.clearance and purpose == "commercial"]
    return corpus_terms(
        (
            (
                "commercial" if d.clearance and purpose == "commercial" else d.tier,
                d.derivatives,
                d.redistribution,
            )
            for d in datasets
        ),
        purpose,
        cleared,
        share_alike=[f"{d.id} ({d.license_id})" for d in datasets if d.share_alike],
    )


def _terms(record: dict[str, Any] | None, datasets: list[DatasetInfo], purpose: str) -> Terms:
    """The record's own statement, never weaker than what the inputs say.

    A record written by an older tool may word things differently; its statement is
    kept, but a restriction any input states is always reported.
    """
    derived = derive_terms(datasets, purpose)
    if not record:
        return derived
    recorded = record.get("clearances")
    statement = str(record.get("statement") or derived.statement)
    if derived.share_alike and "sharealike" not in statement.lower().replace("-", ""):
        # an older record, or one edited: the share-alike duty is stated all the same
        statement = statement + " " + share_alike_sentence(derived.share_alike)
    return Terms(
        tier=record.get("tier") or derived.tier,
        statement=statement,
        noncommercial=derived.noncommercial or record.get("tier") not in (None, "commercial"),
        no_derivatives=derived.no_derivatives or record.get("derivatives") == "forbidden",
        no_redistribution=derived.no_redistribution or record.get("redistribution") == "forbidden",
        unknown=derived.unknown or record.get("tier") == "unknown",
        clearances=tuple(recorded) if isinstance(recorded, list) else derived.clearances,
        share_alike=derived.share_alike,
    )


def _name(corpus: dict[str, Any], out_dir: Path) -> str:
    recipe = corpus.get("recipe") or {}
    raw = Path(str(recipe["out"])).name if recipe.get("out") else ""
    raw = raw or corpus.get("name") or Path(out_dir).name
    # Build writes into `.NAME.xxxx.partial` before renaming: name it after NAME.
    m = re.fullmatch(r"\.(.+?)\.[^.]+\.partial", raw)
    return m.group(1) if m else raw


def view(
    corpus: dict[str, Any],
    out_dir: Path,
    manifests: dict[str, Manifest] | None = None,
    *,
    withhold_unsafe: bool = False,
) -> CorpusView:
    """Resolve a corpus record (and, optionally, manifests) into what the bundle states.

    A citation that fails the BibTeX policy is refused (UnsafeTextError), or, with
    `withhold_unsafe` (an erasure must not be blocked by a damaged record), left out
    and the reason kept in `citation_withheld`.
    """
    manifests = manifests or {}
    datasets: list[DatasetInfo] = []
    seen: set[str] = set()
    for record in corpus.get("datasets") or []:
        if not isinstance(record, dict) or not _ID.match(str(record.get("id") or "")):
            bad = record.get("id") if isinstance(record, dict) else record
            raise CorpusError(
                f"corpus.json names a dataset {str(bad)[:80]!r} that is not a dataset id "
                "(lowercase letters, digits, '.', '_', '-')",
                hint="the record was edited or damaged: rebuild the corpus, or restore its "
                "corpus.json from the build",
            )
        if record.get("id") in seen:
            continue
        seen.add(record["id"])
        info = _dataset(record, manifests.get(record["id"]))
        if str(info.citation).strip():
            # one BibTeX policy for every format: applied here, before any file is written
            try:
                safe = bibtex(str(info.citation), f"corpus.json: dataset {info.id}: citation")
            except UnsafeTextError as exc:
                if not withhold_unsafe:
                    raise
                info = replace(info, citation="", citation_withheld=exc.message)
            else:
                info = replace(info, citation=safe)
        datasets.append(info)
    purpose = corpus.get("purpose") or "research"
    shards = list(corpus.get("shards") or [])
    return CorpusView(
        name=_name(corpus, out_dir),
        purpose=purpose,
        created=str(corpus.get("created") or dt.datetime.now(dt.UTC).isoformat()),
        tool=corpus.get("tool") or {"name": "facedata", "version": __version__},
        datasets=datasets,
        terms=_terms(corpus.get("license"), datasets, purpose),
        counts=corpus.get("counts") or {},
        shards=shards,
        detector=corpus.get("detector"),
        built=bool(shards),
        features=_features(corpus),
        detector_decision=corpus.get("detector_decision"),
        modifications=modifications(corpus),
        consent=corpus.get("consent") if isinstance(corpus.get("consent"), dict) else {},
    )


def _features(corpus: dict[str, Any]) -> dict[str, Any]:
    """The rows' features: the corpus's own label names and image mode where it says."""
    heads = corpus.get("heads") or {}
    names = (heads.get("expression") or {}).get("names") or default_expressions()
    mode = (corpus.get("image") or {}).get("mode") or "RGB"
    return hf_features(names, mode)


def _source(manifest: Manifest) -> tuple[str, bool]:
    """The source a build would try first: official ones come first."""
    official = [s for s in manifest.sources if s.official]
    src = (official or manifest.sources)[0]
    return src.id, src.official


def corpus_from_manifests(manifests: Iterable[Manifest], purpose: str = "research") -> dict:
    """A corpus-shaped record for datasets not built yet: no shards, no counts.

    Lets people cite (and read the terms of) a selection before spending hours on a
    build, with the same files a build would write.
    """
    records = []
    for m in manifests:
        source, official = _source(m)
        lic = m.license
        records.append(
            {
                "id": m.id,
                "name": m.name,
                "version": m.version,
                "homepage": m.homepage,
                "source": source,
                "official": official,
                "license_id": lic.id,
                "tier": lic.tier,
                "derivatives": lic.derivatives,
                "redistribution": lic.redistribution,
                "terms_url": lic.terms_url,
                "license_notes": lic.notes,
                "license_text": lic.text,
                "attribution": m.attribution,
                "citation": m.citation,
                "inputs": [],
            }
        )
    infos = [_dataset(r, None) for r in records]
    terms = derive_terms(infos, purpose)
    return {
        "format": CORPUS_FORMAT,
        "tool": {"name": "facedata", "version": __version__},
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "command": None,
        "recipe": None,
        "purpose": purpose,
        "license": {
            "tier": terms.tier,
            "statement": terms.statement,
            "derivatives": "forbidden" if terms.no_derivatives else "see inputs",
            "redistribution": "forbidden" if terms.no_redistribution else "see inputs",
        },
        "datasets": records,
        "decisions": [],
        "clearances": [],
        "detector": None,
        "counts": {},
        "shards": [],
    }
