"""The license policy: for each source, may it enter a build with this purpose?

Commercial builds fail closed: only an official source whose tier is `commercial`
passes on its own; everything else (unknown tiers, unofficial re-uploads, sources
whose manifest claims a laxer tier than a catalog twin) needs an explicit, recorded,
unexpired clearance. A wrong "yes" here is a legal problem for whoever ships the
model, a wrong "no" costs a line in a clearance file, so every doubt resolves to "no".
The rules themselves, in the order they are asked, are `license_rules.RULES`.

Every date in here is the build's UTC date (`policy_today`): a clearance that expired
yesterday in UTC must not come back because the machine's zone is behind UTC.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from facedata.files.fielddict import field_dict
from facedata.files.yamlfile import describe_validation_error, load_yaml
from facedata.gate.rules import Case, judge
from facedata.manifest.schema import Manifest, Source
from facedata.vocabulary import UNKNOWN_TIER, Purpose, allows, most_restrictive, rank


def policy_now() -> dt.datetime:
    """The one instant a build decides by: its UTC date goes to every policy check."""
    return dt.datetime.now(dt.UTC)


def policy_today() -> dt.date:
    return policy_now().date()


class Clearance(BaseModel):
    """A person's recorded decision that a source (or a detector) may be used despite its terms.

    A clearance names a dataset (optionally one source) or a face detector; an
    unofficial re-upload is cleared only by a clearance naming that source.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    dataset: str | None = None
    source: str | None = Field(None, description="a source id; omitted = every official source")
    detector: str | None = Field(None, description="a face detector name, e.g. retinaface-r50")
    purpose: Purpose = "commercial"
    cleared_by: str = Field(min_length=1)
    evidence: str = Field(min_length=1, description="signed agreement, invoice, licence id ...")
    expires: dt.date
    notes: str = ""
    sha256: list[str] | None = Field(
        None,
        description="sha256 of the delivery's files this clearance covers; omitted: bound to "
        "the delivery it first admits (see facedata.gate.bindings)",
    )
    any_version: bool = Field(False, description="covers any delivery of the dataset")
    _where: str = PrivateAttr("")

    @field_validator("expires", mode="before")
    @classmethod
    def _a_written_date(cls, value: object) -> object:
        """YAML reads `20991231` as a number, which pydantic would take for seconds
        since 1970: say what to write instead of a confusing time-of-day error."""
        if isinstance(value, int | float) and not isinstance(value, bool):
            raise ValueError(f"{value!r} is a number, not a date: write it as YYYY-MM-DD")
        return value

    @field_validator("cleared_by", "evidence")
    @classmethod
    def _says_something(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("must name who cleared it / what proves it (blank is not a record)")
        return value

    @model_validator(mode="after")
    def _names_one_thing(self) -> Clearance:
        if (self.dataset is None) == (self.detector is None):
            raise ValueError("a clearance names either `dataset` or `detector` (exactly one)")
        if self.detector is not None and self.source is not None:
            raise ValueError("`source` belongs to a dataset clearance, not a detector's")
        return self

    @property
    def where(self) -> str:
        """file:line of this clearance, when it came from a file."""
        return self._where

    def covers(self, manifest: Manifest, source: Source, purpose: Purpose) -> bool:
        named = self.source == source.id or (self.source is None and source.official)
        return (
            self.dataset == manifest.id
            and named
            and (self.purpose == purpose or self.purpose == "commercial")
        )

    def covers_detector(self, name: str, purpose: Purpose) -> bool:
        return self.detector == name and (self.purpose == purpose or self.purpose == "commercial")


class ClearanceFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    clearances: list[Clearance] = Field(default_factory=list)


def load_clearances(path: Path | None) -> list[Clearance]:
    """Read a clearance file (YAML: `clearances: [...]`); errors name file and line."""
    if path is None:
        return []
    doc = load_yaml(path)
    try:
        found = ClearanceFile.model_validate(doc.data or {}).clearances
    except ValidationError as exc:
        raise describe_validation_error(doc, exc, "clearance file") from None
    for i, c in enumerate(found):
        c._where = doc.where(("clearances", i))
    return found


@dataclass(frozen=True)
class Twin:
    """Another catalog dataset this source is a copy of, by some shared identity."""

    dataset: str
    tier: str
    license_id: str
    why: str  # "same Kaggle slug owner/name", "same fetched bytes (sha256 ...)", ...
    in_catalog: bool = True  # False: a tree on the fetch cache this catalog has no manifest for


@dataclass(frozen=True)
class Decision:
    """Whether one source may enter a build, and why, in words a person can act on."""

    dataset: str
    source: str
    official: bool
    purpose: Purpose
    admitted: bool
    reason: str
    tier: str
    license_id: str
    terms_url: str | None
    clearance: Clearance | None = None
    flags: tuple[str, ...] = field(default_factory=tuple)
    declared_tier: str | None = None  # the manifest's own tier when a twin made it stricter
    twin: Twin | None = None

    def to_dict(self) -> dict:
        out = field_dict(self)
        twin = out.pop("twin")
        out["inherited_from"] = (
            {"dataset": twin.dataset, "tier": twin.tier, "why": twin.why} if twin else None
        )
        return out


def _flags(manifest: Manifest, source: Source, tier: str) -> tuple[str, ...]:
    lic = manifest.license
    flags = []
    if not source.official:
        flags.append("unofficial-mirror: the original license applies to this re-upload")
    if lic.derivatives != "allowed":
        flags.append(
            f"no-derivatives: an aligned, remapped copy may not be shared "
            f"(derivatives: {lic.derivatives})"
        )
    if lic.redistribution != "allowed":
        flags.append(
            f"no-redistribution: the corpus may not be shared outside your site "
            f"(redistribution: {lic.redistribution})"
        )
    if tier == "unknown":
        flags.append("license-unknown: no grant found; treat as all rights reserved")
    return tuple(flags)


def effective_tier(declared: str, twins: Iterable[Twin]) -> tuple[str, Twin | None]:
    """The most restrictive of the manifest's own tier and every twin's; and the twin that won."""
    tier, winner = declared, None
    for t in twins:
        if rank(t.tier) > rank(tier):
            tier, winner = t.tier, t
    return tier, winner


def decide(
    manifest: Manifest,
    source: Source,
    purpose: Purpose,
    clearances: list[Clearance] = (),  # type: ignore[assignment]
    *,
    today: dt.date | None = None,
    official_only: bool = False,
    twins: Iterable[Twin] = (),
) -> Decision:
    """The policy for one source. Pure: same inputs, same decision (tests rely on it).

    `twins` are other catalog datasets this source shares an identity with (see
    `find_twins`); the strictest of their tiers and its own applies. The rules, in
    order, are `license_rules.RULES`; the first with a verdict decides and says why.
    """
    lic = manifest.license
    tier, twin = effective_tier(lic.tier, twins)
    case = Case(
        manifest=manifest,
        source=source,
        purpose=purpose,
        clearances=tuple(clearances),
        today=today or policy_today(),
        official_only=official_only,
        tier=tier,
        twin=twin,
        allowed=allows(tier, purpose),
        own_data=source.is_own_data,
    )
    rule, verdict = judge(case)
    return Decision(
        dataset=manifest.id,
        source=source.id,
        official=source.official,
        purpose=purpose,
        admitted=verdict.admitted,
        reason=rule.words(case, verdict),
        tier=tier,
        license_id=lic.id,
        terms_url=lic.terms_url,
        clearance=verdict.clearance,
        flags=_flags(manifest, source, tier),
        declared_tier=lic.tier if twin else None,
        twin=twin,
    )


# Licenses that waive attribution; every other license (LicenseRef-* included) is
# taken to require credit: a credit nobody needed costs a line, a missing one is a breach.
_NO_ATTRIBUTION = re.compile(
    r"^(CC0-1\.0|PDDL-1\.0|Unlicense|0BSD|LicenseRef-Public-?Domain.*|public-domain)$",
    re.IGNORECASE,
)
# Copyleft for data and text: adapted material must be shared under the same terms.
_SHARE_ALIKE = re.compile(
    r"^(CC-BY(-NC)?-SA-\d.*|ODbL-\d.*|GFDL-.*|CDLA-Sharing-.*|[AL]?GPL-.*|"
    r"LicenseRef-.*-(SA|ShareAlike)(-.*)?)$",
    re.IGNORECASE,
)


def attribution_required(license_id: str) -> bool:
    """Whether a license asks for credit: false only for those that waive it (CC0, PD)."""
    return not _NO_ATTRIBUTION.match(license_id.strip())


def share_alike(license_id: str) -> bool:
    """Whether adapted material must be licensed alike (CC BY-SA §3(b), ODbL §4.4 ...)."""
    return bool(_SHARE_ALIKE.match(license_id.strip()))


def share_alike_sentence(licensed: Iterable[str]) -> str:
    """The statement's share-alike clause, naming each input and its license."""
    names = ", ".join(licensed)
    return (
        f"ShareAlike: {names} require(s) that adapted material (this aligned, remapped "
        "copy included) be shared only under the same license or one its licensor lists "
        "as compatible, with the same credit."
    )


def most_restrictive_tier(tiers: list[str]) -> str:
    """The corpus's own tier: its most restrictive input decides."""
    return most_restrictive(tiers)


@dataclass(frozen=True)
class CorpusTerms:
    """A corpus's own terms: the most restrictive of its inputs, in words a person can act on."""

    tier: str
    statement: str
    noncommercial: bool
    no_derivatives: bool
    no_redistribution: bool
    unknown: bool
    clearances: tuple[dict, ...] = ()
    share_alike: tuple[str, ...] = ()  # "dataset (license id)" of each share-alike input

    def to_dict(self) -> dict:
        return {
            "tier": self.tier,
            "statement": self.statement,
            # unknown counts as forbidden: nobody granted it
            "derivatives": "forbidden" if self.no_derivatives else "allowed",
            "redistribution": "forbidden" if self.no_redistribution else "allowed",
            "share_alike": list(self.share_alike),
            "clearances": list(self.clearances),
        }


def clearance_line(c: dict) -> str:
    """One clearance, as the card and the statement show it: what, who, evidence, until."""
    what = c.get("dataset") or f"detector {c.get('detector')}"
    if c.get("source"):
        what += f" [{c['source']}]"
    return (
        f"{what}: cleared for {c.get('purpose', 'commercial')} use by {c.get('cleared_by')} "
        f"(evidence: {c.get('evidence')}) until {c.get('expires')}"
    )


def corpus_terms(
    inputs: Iterable[tuple[str, str, str]],
    purpose: str,
    clearances: Iterable[dict] = (),
    *,
    share_alike: Iterable[str] = (),
) -> CorpusTerms:
    """Terms of a corpus from its inputs' (tier, derivatives, redistribution).

    An input admitted by a commercial clearance passes its tier as `commercial` (the
    caller decides that); the clearances are stated, since the corpus's commercial
    use lasts only as long as they do. Unknown derivatives or redistribution count
    as forbidden. `share_alike` names the inputs ("id (license)") whose license is
    share-alike: the corpus may be shared only on their terms.
    """
    inputs = list(inputs)
    alike = tuple(dict.fromkeys(share_alike))
    cleared = tuple(dict(c) for c in clearances)
    tier = most_restrictive_tier([t for t, _, _ in inputs])
    no_deriv = any(d != "allowed" for _, d, _ in inputs)
    no_redist = any(r != "allowed" for _, _, r in inputs)
    noncommercial = purpose != "commercial" or tier != "commercial"
    parts = []
    if noncommercial:
        parts.append("For non-commercial research only.")
    elif cleared:
        parts.append(
            "Commercial use is allowed only under these clearances, and only until each "
            "expires: " + "; ".join(clearance_line(c) for c in cleared) + "."
        )
    else:
        parts.append("Commercial use is allowed by every input's license.")
    if no_redist:
        parts.append(
            "Not for redistribution: at least one input forbids it or does not say it is allowed."
        )
    if no_deriv:
        parts.append(
            "Derivatives (this aligned, remapped copy included) may not be shared: at least "
            "one input forbids it or does not say it is allowed."
        )
    if alike:
        parts.append(share_alike_sentence(alike))
    if tier == "unknown":
        parts.append("At least one input has no known license grant.")
    parts.append("Each input's own terms apply; see LICENSES/.")
    return CorpusTerms(
        tier, " ".join(parts), noncommercial, no_deriv, no_redist, tier == "unknown", cleared, alike
    )


def source_identities(
    manifest: Manifest, source: Source, sha256s: Iterable[str] = ()
) -> dict[str, str]:
    """What identifies where a source's bytes come from: key -> words for a reason.

    SPDX ids (CC-BY-4.0 ...) are shared by unrelated datasets, so only dataset-specific
    `LicenseRef-*` ids count as an identity.
    """
    ids = source.identities()
    if manifest.license.id.startswith("LicenseRef-"):
        ids[f"license:{manifest.license.id.lower()}"] = f"same license id {manifest.license.id}"
    for f in source.files:
        if f.sha256:
            ids[f"sha256:{f.sha256}"] = f"same file content (sha256 {f.sha256[:12]}...)"
    for h in sha256s:
        ids[f"sha256:{h}"] = f"same fetched bytes (sha256 {h[:12]}...)"
    return ids


class TwinIndex:
    """Every catalog dataset's identities, so a copy under a new id is recognised.

    `fetched` maps dataset id -> sha256s of what was fetched for it (the lock file),
    so identical bytes are recognised even where a manifest pins no hash. `strangers`
    maps the id of a dataset this catalog has no manifest for -> {where its tree is:
    its sha256s} (a fetch cache holds trees other homes pushed): a source sharing one
    is a copy of terms nobody here can read, so it takes the tier `unknown` (fail
    closed) and that id is one more name for withdrawals to follow.
    """

    def __init__(
        self,
        manifests: Iterable[Manifest],
        fetched: dict[str, set[str]],
        strangers: Mapping[str, Mapping[str, set[str]]] | None = None,
    ) -> None:
        self._by_key: dict[str, list[Manifest]] = {}
        for m in manifests:
            keys: set[str] = set()
            for s in m.sources:
                keys |= set(source_identities(m, s))
            keys |= {f"sha256:{h}" for h in fetched.get(m.id, set())}
            for k in keys:
                self._by_key.setdefault(k, []).append(m)
        self._strangers: dict[str, list[tuple[str, str]]] = {}
        for dataset, trees in (strangers or {}).items():
            for where, hashes in sorted(trees.items()):
                for h in hashes:
                    self._strangers.setdefault(f"sha256:{h}", []).append((dataset, where))

    def copies(self, manifest: Manifest, source: Source, sha256s: Iterable[str] = ()) -> set[str]:
        """Every other dataset sharing an identity with `source`, whatever its tier.

        The same bytes under another id show the same people: a withdrawal recorded for
        one of them must hold for the others too.
        """
        keys = source_identities(manifest, source, sha256s)
        known = {other.id for key in keys for other in self._by_key.get(key, [])}
        strange = {ds for key in keys for ds, _ in self._strangers.get(key, [])}
        return (known | strange) - {manifest.id}

    def twins(self, manifest: Manifest, source: Source, sha256s: Iterable[str] = ()) -> list[Twin]:
        """Other datasets sharing an identity with `source` whose tier is stricter."""
        own = rank(manifest.license.tier)
        out: dict[str, Twin] = {}
        for key, words in source_identities(manifest, source, sha256s).items():
            for other in self._by_key.get(key, []):
                if other.id == manifest.id or other.id in out:
                    continue
                if rank(other.license.tier) > own:
                    out[other.id] = Twin(other.id, other.license.tier, other.license.id, words)
            for dataset, where in self._strangers.get(key, []):
                if dataset == manifest.id or dataset in out or rank(UNKNOWN_TIER) <= own:
                    continue
                why = f"{words} with the tree {where}, whose terms are unknown to this catalog"
                out[dataset] = Twin(dataset, UNKNOWN_TIER, "unknown", why, in_catalog=False)
        return sorted(out.values(), key=lambda t: -rank(t.tier))
