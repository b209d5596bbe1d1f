"""A build recipe: everything needed to rebuild a corpus exactly.

The CLI flags and `facedata build RECIPE.yaml` both produce a Recipe; the corpus
stores the one it was built from, so `facedata build output/x/recipe.yaml` repeats it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ..licensing import Purpose
from ..yamlfile import describe_validation_error, load_yaml


class Recipe(BaseModel):
    model_config = ConfigDict(extra="forbid")

    datasets: list[str] = Field(
        min_length=1, description="dataset ids, optionally `id:source` to pin a source"
    )
    purpose: Purpose = "research"
    out: Path = Path("output/corpus")
    size: int = Field(112, ge=32, le=1024, description="aligned face size in pixels")
    workers: int = Field(1, ge=1, le=64)
    batch_size: int = Field(
        256, ge=1, le=100_000, description="samples per task (one partial shard each)"
    )
    engine: Literal["local", "ray"] = Field(
        "local", description="where tasks run: this machine's cores, or Ray (RAY_ADDRESS)"
    )
    derive_smile: bool = Field(False, description="fill smile from expression, flagged")
    official_only: bool = False
    clearances: Path | None = None
    manifests: list[Path] = Field(default_factory=list)
    split_ratios: tuple[float, float, float] = (0.8, 0.1, 0.1)
    seed: int = 0
    near_dup_distance: int = Field(4, ge=0, le=16, description="phash Hamming distance")
    image_format: Literal["jpeg", "png"] = "jpeg"
    image_mode: Literal["RGB", "L"] = Field(
        "RGB", description="every row's image mode: RGB (grey sources replicated) or L (grey)"
    )
    keep_unaligned: bool = Field(
        False, description="keep rows where no face was found (status whole_frame)"
    )
    label_conflicts: Literal["void", "first"] = Field(
        "void",
        description="duplicates disagreeing on a head: void (neither trusted) or first (kept)",
    )
    detector: str = "retinaface-mnet025"
    detect_side: int | None = Field(
        320,
        ge=64,
        le=4096,
        description="detect on a copy this long (longest side); null: full size",
    )
    decode_side: int | None = Field(
        1024,
        ge=128,
        le=16384,
        description="decode JPEGs over twice this long at 1/2..1/8 scale (detected sources only)",
    )
    shard_rows: int = Field(50_000, ge=1)

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

    @field_validator("detector")
    @classmethod
    def _known_detector(cls, value: str) -> str:
        from ..faces.detect import DetectorError
        from ..faces.registry import spec

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
