"""What a build may do to an existing corpus at its output folder.

A corpus can take hours to build and may be what a training run is reading, so the
command line never replaces one silently: the same build over it is a no-op ("up to
date"), a different one needs --overwrite. "The same build" means the same recipe
(minus settings that cannot change a row: workers, batch size, where the
pinned inputs are read from), the same tool
version, the same license decisions and the same input bytes, as recorded in its
corpus.json.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from facedata import __version__
from facedata.assemble.recipe import Recipe
from facedata.corpus import CorpusRecord
from facedata.errors import BuildError
from facedata.manifest.sources import own_data_kind

# Recipe fields that change how fast a build runs, not what it writes.
NOT_CONTENT = ("out", "workers", "batch_size", "engine", "cache")


def _recipe_key(recipe: dict[str, Any]) -> dict[str, Any]:
    key = {k: v for k, v in recipe.items() if k not in NOT_CONTENT}
    for name in ("manifests",):
        key[name] = sorted(str(Path(p).absolute()) for p in key.get(name) or [])
    if key.get("clearances"):
        key["clearances"] = str(Path(key["clearances"]).absolute())
    if isinstance(key.get("split_ratios"), list | tuple):
        key["split_ratios"] = [float(r) for r in key["split_ratios"]]
    return key


def _inputs(datasets: list[dict[str, Any]]) -> list[tuple]:
    return sorted(
        (
            str(d.get("id")),
            str(d.get("source")),
            tuple(sorted((str(i.get("name")), str(i.get("sha256"))) for i in d.get("inputs", []))),
        )
        for d in datasets
        if isinstance(d, dict)
    )


def _verdicts(decisions: list[dict[str, Any]]) -> list[tuple]:
    return sorted(
        (str(d.get("dataset")), str(d.get("source")), bool(d.get("admitted")), d.get("clearance"))
        for d in decisions
        if isinstance(d, dict)
    )


def same_build(
    record: CorpusRecord,
    recipe: Recipe,
    datasets: list[dict[str, Any]],
    decisions: list[dict[str, Any]],
) -> bool:
    """Would building `recipe` now write what `record` describes?

    Not when rows were erased since (`forgotten`), nor for own data, whose inputs (media,
    annotations, consent register) are known only once read.
    """
    if record.forgotten or any(own_data_kind(d.get("source_kind")) for d in datasets):
        return False
    if record.tool.get("version") != __version__:
        return False
    if _recipe_key(record.recipe or {}) != _recipe_key(recipe.model_dump(mode="json")):
        return False
    if _inputs(record.datasets) != _inputs(datasets):
        return False
    return _verdicts(record.decisions) == _verdicts(decisions)


def refuse_overwrite(out: Path) -> BuildError:
    return BuildError(
        f"--out {out} already holds a corpus built from a different recipe or different inputs",
        hint="pass --overwrite to replace it (it is replaced only once the new one is "
        "complete), or pick a new folder with --out",
    )
