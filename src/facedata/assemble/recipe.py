"""A build recipe: everything needed to rebuild a corpus exactly.

The CLI flags and `facedata build RECIPE.yaml` both produce a Recipe; the corpus
stores the one it was built from, so `facedata build output/x/recipe.yaml` repeats it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from facedata.assemble.recipe_fields import FIELDS
from facedata.files.yamlfile import describe_validation_error, load_yaml
from facedata.gate.licensing import Purpose


def _field(name: str, **constraints: Any) -> Any:
    """A Recipe field with its default and description from the one table
    (recipe_fields.FIELDS), which the `facedata build` flags are made from too."""
    f = FIELDS[name]
    if f.factory is not None:
        return Field(default_factory=f.factory, description=f.help, **constraints)
    return Field(f.default, description=f.help, **constraints)


class Recipe(BaseModel):
    """What to build: datasets, policy and every setting that shapes the corpus.

    Defaults and descriptions live in recipe_fields.FIELDS; the types and limits here.
    """

    model_config = ConfigDict(extra="forbid")

    datasets: list[str] = _field("datasets", min_length=1)
    purpose: Purpose = _field("purpose")
    out: Path = _field("out")
    size: int = _field("size", ge=32, le=1024)
    workers: int = _field("workers", ge=1, le=64)
    batch_size: int = _field("batch_size", ge=1, le=100_000)
    engine: Literal["local", "ray"] = _field("engine")
    cache: str | None = _field("cache")
    derive_smile: bool = _field("derive_smile")
    official_only: bool = _field("official_only")
    clearances: Path | None = _field("clearances")
    manifests: list[Path] = _field("manifests")
    split_ratios: tuple[float, float, float] = _field("split_ratios")
    seed: int = _field("seed")
    near_dup_distance: int = _field("near_dup_distance", ge=0, le=16)
    image_format: Literal["jpeg", "png"] = _field("image_format")
    image_mode: Literal["RGB", "L"] = _field("image_mode")
    keep_unaligned: bool = _field("keep_unaligned")
    label_conflicts: Literal["void", "first"] = _field("label_conflicts")
    detector: str = _field("detector")
    detect_side: int | None = _field("detect_side", ge=64, le=4096)
    decode_side: int | None = _field("decode_side", ge=128, le=16384)
    shard_rows: int = _field("shard_rows", ge=1)

    @model_validator(mode="before")
    @classmethod
    def _legacy(cls, data: object) -> object:
        """Recipes written before one declared image mode said `keep_gray` (mixed modes)."""
        if isinstance(data, dict) and "keep_gray" in data:
            data = dict(data)
            data.pop("keep_gray")
        return data

    @field_validator("split_ratios")
    @classmethod
    def _ratios(cls, value: tuple[float, float, float]) -> tuple[float, float, float]:
        if any(v < 0 for v in value) or abs(sum(value) - 1.0) > 1e-6:
            raise ValueError("train, validation, test ratios must be >= 0 and sum to 1")
        return value

    @field_validator("cache")
    @classmethod
    def _cache_url(cls, value: str | None) -> str | None:
        """A URL without credentials, kept as its address (endpoint, never a key)."""
        if not value:
            return None
        from facedata.storage.location import cache_location

        loc = cache_location(value)
        return loc.address if loc else None

    @field_validator("detector")
    @classmethod
    def _known_detector(cls, value: str) -> str:
        from facedata.faces.detect import DetectorError
        from facedata.faces.registry import spec

        try:
            return spec(value).name
        except DetectorError as exc:
            raise ValueError(f"{exc.message} ({exc.hint})") from None

    def pinned(self) -> list[tuple[str, str | None]]:
        """(dataset, source or None) pairs from the `id[:source]` entries."""
        out = []
        for entry in self.datasets:
            ds, _, src = entry.partition(":")
            out.append((ds.strip(), src.strip() or None))
        return out

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.model_dump(mode="json"), sort_keys=False)


def load_recipe(path: Path) -> Recipe:
    doc = load_yaml(path)
    try:
        return Recipe.model_validate(doc.data or {})
    except ValidationError as exc:
        raise describe_validation_error(doc, exc, "recipe") from None
