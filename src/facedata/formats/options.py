"""Each reader's `format.options`, as a schema checked when the manifest loads.

A wrong type (`size: abc`, `usage: [..]`, `extensions: 3`) used to surface as a
traceback deep inside a build; checked here it is a ManifestError naming the file
and line. Two rules hold for every reader, known option or not: no path-like string
may be absolute or climb out with `..` (options name files *inside* the dataset),
and a reader whose schema is listed gets its known options type-checked. Unknown
options are allowed, so a reader can grow one without touching this table first.

The table is the extension point: a new reader adds its model under its name.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from ..confine import name_problem
from ..vocabulary import Head


def _relative(value: str) -> str:
    problem = name_problem(value)
    if problem:
        raise ValueError(f"{problem}: options name paths inside the dataset")
    return value


RelPath = Annotated[str, AfterValidator(_relative)]
Split = Annotated[str, Field(min_length=1)]


def _pattern(value: str) -> str:
    _relative(value.replace("{", "").replace("}", ""))
    if "{n" not in value:
        raise ValueError("pattern needs the placeholder {n} (e.g. file{n:04d}.jpg)")
    try:
        value.format(n=1)
    except (ValueError, KeyError, IndexError) as exc:
        raise ValueError(f"pattern cannot be filled in: {exc}") from None
    return value


class _Options(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)


class GenkiOptions(_Options):
    labels: RelPath | None = None
    images: RelPath | None = None
    pattern: Annotated[str, AfterValidator(_pattern)] | None = None


class PixelsCsvOptions(_Options):
    file: RelPath | None = None
    size: Annotated[int, Field(ge=1, le=4096)] = 48
    mode: Literal["L", "RGB"] = "L"
    head: Head = "expression"
    split: Split | None = None
    usage: dict[str, Split] = Field(default_factory=dict)


class ImageFolderOptions(_Options):
    splits: dict[RelPath, Split] | None = None
    head: Head = "expression"
    extensions: list[str] | None = None
    unlabeled: list[RelPath] = Field(default_factory=list)


class CelebaOptions(_Options):
    attributes: RelPath | None = None
    images: RelPath | None = None
    partition: RelPath | None = None
    identity: RelPath | None = None
    landmarks: RelPath | None = None


class CkplusOptions(_Options):
    images: RelPath | None = None
    emotions: RelPath | None = None
    landmarks: RelPath | None = None
    first_frame_neutral: bool = False
    peak_frames: Annotated[int, Field(ge=1, le=1000)] = 1


class LfwcropOptions(_Options):
    faces: RelPath | None = None
    extension: str = ".ppm"
    list_0: RelPath | None = None
    list_1: RelPath | None = None


class AffectnetCsvOptions(_Options):
    images: RelPath | None = None
    lists_dir: RelPath | None = None
    lists: dict[RelPath, Split] | None = None


class AffectnetNpyOptions(_Options):
    sets: dict[RelPath, Split] | None = None


class RafdbOptions(_Options):
    images: Literal["original", "aligned"] = "original"


class SmilesmiledOptions(_Options):
    classes: list[RelPath] | None = None


class TrainingDataProOptions(_Options):
    emotions: list[str] | None = None


class YoloOptions(_Options):
    splits: dict[RelPath, Split] | None = None
    head: Head = "expression"
    names_file: RelPath | None = None


class LocalOptions(_Options):
    fps: Annotated[float, Field(gt=0, le=1000)] = 2.0
    max_frames_per_range: Annotated[int, Field(ge=1)] = 50
    annotations: RelPath | None = None


SCHEMAS: dict[str, type[_Options]] = {
    "genki": GenkiOptions,
    "pixels_csv": PixelsCsvOptions,
    "imagefolder": ImageFolderOptions,
    "celeba": CelebaOptions,
    "celeba_csv": CelebaOptions,
    "ckplus": CkplusOptions,
    "lfwcrop_lists": LfwcropOptions,
    "affectnet_csv": AffectnetCsvOptions,
    "affectnet_npy": AffectnetNpyOptions,
    "rafdb": RafdbOptions,
    "smilesmiled": SmilesmiledOptions,
    "trainingdatapro": TrainingDataProOptions,
    "local": LocalOptions,
    "yolo": YoloOptions,
}


def path_strings(value: Any, loc: tuple = ()) -> list[tuple[tuple, str]]:
    """(location, problem) for every string in `value` that is absolute or climbs out."""
    out: list[tuple[tuple, str]] = []
    if isinstance(value, str):
        norm = value.replace("\\", "/")
        if norm.startswith("/") or (len(norm) > 1 and norm[1] == ":") or ".." in norm.split("/"):
            out.append(
                (loc, f"{value!r}: options name paths inside the dataset (no '..', not absolute)")
            )
    elif isinstance(value, dict):
        for k, v in value.items():
            out += path_strings(k, (*loc, k)) + path_strings(v, (*loc, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += path_strings(v, (*loc, i))
    return out


def option_problems(reader: str, options: dict[str, Any]) -> list[tuple[tuple, str]]:
    """(location inside options, message) for everything wrong with `options`."""
    from pydantic import ValidationError

    problems = path_strings(options)
    schema = SCHEMAS.get(reader)
    if schema is not None:
        try:
            schema.model_validate(options)
        except ValidationError as exc:
            seen = {loc for loc, _ in problems}
            for err in exc.errors(include_url=False):
                loc = tuple(err.get("loc", ()))
                if loc not in seen:
                    problems.append((loc, err.get("msg", "invalid")))
    return problems
