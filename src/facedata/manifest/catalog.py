"""Find and index manifests: the built-in ones plus any folders the user adds.

User folders come from `--manifests DIR` and `FACEDATA_MANIFESTS` (os.pathsep
separated), so a team can describe its own data without forking facedata.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator
from pathlib import Path

from facedata import settings
from facedata.errors import ManifestError, UnknownDatasetError
from facedata.label.taxonomy import Taxonomy, load_taxonomy
from facedata.manifest.schema import Manifest, load_manifest
from facedata.paths import builtin_manifest_dir

TAXONOMY_FILE = "taxonomy.yaml"


def manifest_dirs(extra: Iterable[Path] = ()) -> list[Path]:
    """Built-in first, then `FACEDATA_MANIFESTS`, then explicit folders."""
    dirs = [builtin_manifest_dir()]
    dirs += settings.folders("FACEDATA_MANIFESTS")
    dirs += [Path(p) for p in extra]
    for d in dirs[1:]:
        if not d.is_dir():
            raise ManifestError(
                f"manifest folder {d} does not exist",
                hint="pass an existing folder to --manifests or fix FACEDATA_MANIFESTS",
            )
    # One folder named twice (a recipe's absolute path and the project marker's
    # relative one) is read once: its manifests are not duplicates of themselves.
    seen: set[Path] = set()
    unique: list[Path] = []
    for d in dirs:
        key = d.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(d)
    return unique


def manifest_files(directory: Path) -> list[Path]:
    """The manifests in a folder: *.yaml / *.yml at top level, the taxonomy excluded."""
    files = sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")])
    return [f for f in files if f.name != TAXONOMY_FILE]


class Catalog:
    """Every known dataset, by id."""

    def __init__(self, manifests: Iterable[Manifest], taxonomy: Taxonomy) -> None:
        self.taxonomy = taxonomy
        self._by_id: dict[str, Manifest] = {}
        for m in manifests:
            if m.id in self._by_id:
                raise ManifestError(
                    f"duplicate dataset id {m.id!r}: {self._by_id[m.id].path} and {m.path}",
                    hint="ids must be unique across all manifest folders; rename one",
                )
            self._by_id[m.id] = m

    @classmethod
    def load(cls, extra_dirs: Iterable[Path] = ()) -> Catalog:
        taxonomy = load_taxonomy()
        files = [f for d in manifest_dirs(extra_dirs) for f in manifest_files(d)]
        return cls((load_manifest(f, taxonomy) for f in files), taxonomy)

    def __iter__(self) -> Iterator[Manifest]:
        return iter(sorted(self._by_id.values(), key=lambda m: m.id))

    def __len__(self) -> int:
        return len(self._by_id)

    def __contains__(self, dataset_id: str) -> bool:
        return dataset_id in self._by_id

    @property
    def ids(self) -> list[str]:
        return sorted(self._by_id)

    @property
    def own_data(self) -> set[str]:
        """Ids of the team's own recordings (a local source with a consent register)."""
        return {m.id for m in self._by_id.values() if any(s.is_own_data for s in m.sources)}

    def get(self, dataset_id: str) -> Manifest:
        try:
            return self._by_id[dataset_id]
        except KeyError:
            near = difflib.get_close_matches(dataset_id, self.ids, n=3, cutoff=0.5)
            hint = (
                f"did you mean {', '.join(near)}?"
                if near
                else "run `facedata list` to see every dataset id"
            )
            raise UnknownDatasetError(f"unknown dataset {dataset_id!r}", hint=hint) from None


def own_data_ids() -> set[str]:
    """Ids this home's catalog knows as the team's own recordings; none when the
    catalog cannot load (a caller then treats every dataset as not re-grantable)."""
    from facedata.errors import FacedataError

    try:
        return Catalog.load().own_data
    except (FacedataError, OSError, ValueError):
        return set()
