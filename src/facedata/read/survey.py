"""`facedata inspect`: read one source end to end and count what the build would get.

It runs the same reader and remap as a build, without decoding images, so a
person can check a fetched dataset (classes, splits, drops and why) in seconds
before spending an hour on alignment.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from facedata.consent.withdrawals import Admit, WithdrawalIndex, admission
from facedata.errors import FacedataError
from facedata.label.remap import DropCounter, remap
from facedata.label.taxonomy import Taxonomy
from facedata.manifest.schema import Manifest, Source
from facedata.read import read_source
from facedata.read.sample import Drop, Note
from facedata.vocabulary import HEADS

NO_SPLIT = "(none)"


@dataclass
class InspectReport:
    dataset: str
    source: str
    root: str
    derive_smile: bool = False
    read: int = 0  # samples the reader produced
    kept: int = 0  # samples with at least one head after the remap
    heads: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    splits: Counter = field(default_factory=Counter)
    by_split: dict[str, dict[str, Counter]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(Counter))
    )
    smile_derived: int = 0
    subjects: set[str] = field(default_factory=set)
    drops: DropCounter = field(default_factory=DropCounter)
    file_set: str = ""  # which alternative set of files was read
    notes: list[str] = field(default_factory=list)  # what the delivery's gaps cost

    def to_dict(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "source": self.source,
            "root": self.root,
            "derive_smile": self.derive_smile,
            "read": self.read,
            "kept": self.kept,
            "dropped": self.drops.total,
            "heads": {h: dict(sorted(c.items())) for h, c in self.heads.items()},
            "splits": dict(sorted(self.splits.items())),
            "by_split": {
                s: {h: dict(sorted(c.items())) for h, c in heads.items()}
                for s, heads in sorted(self.by_split.items())
            },
            "smile_derived": self.smile_derived,
            "subjects": len(self.subjects),
            "drops": self.drops.to_dict(),
            "file_set": self.file_set or None,
            "notes": list(self.notes),
        }


def source_root(manifest: Manifest, source_id: str | None) -> tuple[Source, Path]:
    """Where a source's files are: own data in place, otherwise what fetch unpacked."""
    src = manifest.source(source_id) if source_id else manifest.sources[0]
    if src.is_own_data:
        return src, manifest.resolve(src.path or ".")
    hint = f"run `facedata fetch {manifest.id}` first, or pass the unpacked folder with --root"
    try:
        from facedata.fetch import fetched  # type: ignore[attr-defined]
    except ImportError:
        raise FacedataError(f"{manifest.id} is not fetched", hint=hint) from None
    result = fetched(manifest, source_id)
    if result is None:
        raise FacedataError(f"{manifest.id} is not fetched", hint=hint)
    return result.source, Path(result.root)


def _admit_local(manifest: Manifest, src: Source) -> Admit | None:
    """Own data: inspecting decodes video frames, so only consented people's (research scope)."""
    if not src.is_own_data:
        return None
    from facedata.consent.register import load_register
    from facedata.consent.withdrawals import read_beside
    from facedata.gate.licensing import policy_today
    from facedata.read.local import recordings_of

    path = manifest.resolve(src.consent or "")
    register = load_register(path)
    # as a build does: the withdrawals file that travels with the recordings, and
    # withdrawals this home recorded for the same bytes under another id
    root = manifest.resolve(src.path or ".")
    beside = [replace(w, dataset=manifest.id) for w in read_beside(path, root)]
    ledger = WithdrawalIndex.load()
    copies = ledger.same_bytes(recordings_of(root, manifest.format_for(src).options))
    return admission(
        manifest.id,
        register,
        ledger.plus(beside),
        "research",
        policy_today(),
        copies=sorted(copies - {manifest.id}),
    )


def inspect_source(
    manifest: Manifest,
    taxonomy: Taxonomy,
    *,
    source_id: str | None = None,
    root: Path | None = None,
    derive_smile: bool = False,
) -> InspectReport:
    """Count samples per head/class and split, and every drop with its reason."""
    if root is None:
        src, root = source_root(manifest, source_id)
    else:
        src = manifest.source(source_id) if source_id else manifest.sources[0]
    spec = manifest.labels_for(src)
    report = InspectReport(manifest.id, src.id, str(root), derive_smile)
    for item in read_source(manifest, src, Path(root), _admit_local(manifest, src)):
        if isinstance(item, Note):
            if item.kind == "count":  # progress only
                continue
            if item.kind == "file_set":
                report.file_set = item.text
            elif item.text not in report.notes:
                report.notes.append(item.text)
            continue
        if isinstance(item, Drop):
            report.drops.add(item)
            continue
        report.read += 1
        labelled = remap(item, spec, taxonomy, derive_smile=derive_smile)
        if isinstance(labelled, Drop):
            report.drops.add(labelled)
            continue
        report.kept += 1
        split = item.split or NO_SPLIT
        report.splits[split] += 1
        if item.subject_id:
            report.subjects.add(item.subject_id)
        if labelled.smile_derived:
            report.smile_derived += 1
        for head in HEADS:
            value = getattr(labelled, head)
            if value is not None:
                report.heads[head][str(value)] += 1
                report.by_split[split][head][str(value)] += 1
    return report
