"""Each recipe field's default and wording, and the `facedata build` flag that sets it.

One table for both readers of a field: `Recipe` (assemble/recipe.py) takes its
defaults and descriptions from here, and `facedata build` makes one flag per entry
that has one, with the same wording and the same default in its help. A new
recipe field is one entry here and one typed line in `Recipe`; the command line
follows.

Plain Python only: `facedata --help` builds every command's flags from this table,
and must not load pydantic or YAML to do it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REQUIRED: Any = ...  # a field the recipe must give (pydantic's marker for "no default")


class _Unset:
    """A flag left at its resting value (an absent --derive-smile): the recipe file or
    the field's default decides, not the flag."""

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()


@dataclass(frozen=True)
class RecipeField:
    """One recipe field: its default and description, and how a flag sets it."""

    help: str  # a sentence: the field's description and the flag's help
    default: Any = REQUIRED
    factory: Callable[[], Any] | None = None  # for a mutable default (a list)
    flag: str | None = None  # "--size", or "--on/--off"; None: set in a recipe file only
    short: str | None = None
    metavar: str | None = None
    flag_type: type = str  # what the flag reads: str, int, bool, Path, list[Path]
    # the flag's value -> the recipe's value (UNSET: leave the field alone)
    from_flag: Callable[[Any], Any] | None = None
    flag_help: str | None = None  # where the flag is not the field itself (--commercial)
    shown: str | None = None  # how --help shows the default, where str() would not do
    file_okay: bool = True  # False: the flag refuses a file (a folder of manifests)

    @property
    def switch(self) -> bool:
        """A bare on-switch (--derive-smile), as opposed to a pair (--keep/--drop)."""
        return self.flag_type is bool and "/" not in (self.flag or "")

    @property
    def required(self) -> bool:
        return self.default is REQUIRED and self.factory is None

    def default_text(self) -> str | None:
        """The default as a person would type it, or None where --help shows none."""
        if self.shown is not None:
            return self.shown
        if self.required or self.factory is not None or self.default is None:
            return None
        if self.switch:
            return None  # off unless given
        if isinstance(self.default, tuple):
            return ",".join(str(v) for v in self.default)
        return str(self.default)

    def help_text(self) -> str:
        """The flag's help: its sentence, then its default."""
        text = self.flag_help or self.help
        shown = self.default_text()
        return text if shown is None else f"{text} [default: {shown}]"

    def value(self, raw: Any) -> Any:
        """The recipe value of a flag given as `raw`; UNSET where it was not given."""
        if raw is None:
            return UNSET
        return self.from_flag(raw) if self.from_flag else raw


def _ids(text: str) -> list[str]:
    return [d.strip() for d in text.split(",") if d.strip()]


def _commercial(on: bool) -> str:
    return "commercial" if on else UNSET


def _switch(on: bool) -> bool:
    return True if on else UNSET


def _ratios(text: str) -> list[str]:
    return [r.strip() for r in text.split(",")]


def _side(px: int) -> int | None:
    return px or None  # 0: full size


FIELDS: dict[str, RecipeField] = {
    "datasets": RecipeField(
        "Comma-separated ids (id or id:source).",
        flag="--datasets",
        short="-d",
        metavar="IDS",
        from_flag=_ids,
    ),
    "purpose": RecipeField(
        "The use every license decision is made for: research or commercial.",
        default="research",
        flag="--commercial",
        flag_type=bool,
        from_flag=_commercial,
        flag_help="Refuse every source not cleared for commercial use.",
    ),
    "out": RecipeField(
        "Corpus folder.",
        default=Path("output/corpus"),
        flag="--out",
        metavar="DIR",
        flag_type=Path,
    ),
    "size": RecipeField(
        "Aligned face size in pixels.", default=112, flag="--size", metavar="PX", flag_type=int
    ),
    "workers": RecipeField("Worker processes.", default=1, flag="--workers", flag_type=int),
    "batch_size": RecipeField("Samples per task (one partial shard each).", default=256),
    "engine": RecipeField(
        "Where tasks run: local (this machine's cores) or ray (RAY_ADDRESS, or a local Ray "
        "instance). The corpus is the same.",
        default="local",
        flag="--engine",
        metavar="local|ray",
    ),
    "cache": RecipeField(
        "Fetch cache on object storage (s3://BUCKET/PREFIX) the inputs are read from, by "
        "the workers wherever they run; FACEDATA_CACHE_URL works too. The corpus is the same.",
        default=None,
        flag="--cache",
        metavar="URL",
    ),
    "derive_smile": RecipeField(
        "Fill smile from expression (rows flagged).",
        default=False,
        flag="--derive-smile",
        flag_type=bool,
        from_flag=_switch,
    ),
    "official_only": RecipeField(
        "Refuse unofficial mirrors.",
        default=False,
        flag="--official-only",
        flag_type=bool,
        from_flag=_switch,
    ),
    "clearances": RecipeField(
        "Clearance file admitting refused sources.",
        default=None,
        flag="--clearances",
        metavar="FILE",
        flag_type=Path,
    ),
    "manifests": RecipeField(
        "Extra manifest folder (repeatable); FACEDATA_MANIFESTS works too.",
        factory=list,
        flag="--manifests",
        metavar="DIR",
        flag_type=list[Path],
        from_flag=lambda dirs: dirs or UNSET,
        file_okay=False,
    ),
    "split_ratios": RecipeField(
        "train,validation,test for sources without their own split.",
        default=(0.8, 0.1, 0.1),
        flag="--split-ratios",
        metavar="T,V,T",
        from_flag=_ratios,
    ),
    "seed": RecipeField(
        "Seed of the hash split for sources without their own.",
        default=0,
        flag="--seed",
        flag_type=int,
    ),
    "near_dup_distance": RecipeField(
        "Perceptual-hash Hamming distance that counts as a near duplicate (0 turns near "
        "dedup off).",
        default=4,
        flag="--near-dup-distance",
        metavar="BITS",
        flag_type=int,
    ),
    "image_format": RecipeField(
        "Encoding of the aligned faces.",
        default="jpeg",
        flag="--image-format",
        metavar="jpeg|png",
    ),
    "image_mode": RecipeField(
        "One mode for every face: RGB (grey sources replicated) or L (grey).",
        default="RGB",
        flag="--image-mode",
        metavar="RGB|L",
        from_flag=str.upper,
    ),
    "keep_unaligned": RecipeField(
        "Keep rows where no face was found (status whole_frame) or drop them.",
        default=False,
        flag="--keep-unaligned/--drop-unaligned",
        flag_type=bool,
        shown="drop",
    ),
    "label_conflicts": RecipeField(
        "Duplicates that disagree on a label: void (neither copy trusted) or first (the "
        "first copy's label stands).",
        default="void",
        flag="--label-conflicts",
        metavar="void|first",
    ),
    "detector": RecipeField(
        "Face detector (see `facedata doctor`).",
        default="retinaface-mnet025",
        flag="--detector",
        metavar="NAME",
    ),
    "detect_side": RecipeField(
        "Detect faces on a copy this long on its longest side (0, or null in a recipe: full size). "
        "Boxes and points are mapped back; faces missed are retried at full size.",
        default=320,
        flag="--detect-side",
        metavar="PX",
        flag_type=int,
        from_flag=_side,
    ),
    "decode_side": RecipeField(
        "Decode JPEGs over twice this long at 1/2..1/8 scale where faces are detected "
        "(0, or null in a recipe: always full size).",
        default=1024,
        flag="--decode-side",
        metavar="PX",
        flag_type=int,
        from_flag=_side,
    ),
    "shard_rows": RecipeField("Rows per Parquet shard.", default=50_000),
}


def flags_given(raw: dict[str, Any]) -> dict[str, Any]:
    """The recipe fields the flags set: {field: value} for each flag given."""
    given = {name: FIELDS[name].value(value) for name, value in raw.items() if name in FIELDS}
    return {name: value for name, value in given.items() if value is not UNSET}
