"""Each reader's `format.options`: one model per reader, its defaults, its checks.

A reader is registered once, with its model (`read.registry.register(Model)`), and
receives the validated model, never a raw dict, so a default lives here and only
here. The models sit below the readers, beside the manifest: a manifest's options are
checked when it loads (a wrong type, `size: abc`, is a ManifestError naming the file
and line instead of a traceback deep inside a build) without importing the readers
and their libraries. A model names its reader with a class keyword
(`class GenkiOptions(ReaderOptions, reader="genki")`), which is what registers it.

Two rules hold for every reader, known option or not: no path-like string may be
absolute or climb out with `..` (options name files *inside* the dataset), and a
reader's known options are type-checked. Unknown options are allowed, so a reader
can grow one before its model does.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Annotated, Any, ClassVar, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from facedata.errors import ReaderError
from facedata.files.confine import name_problem
from facedata.vocabulary import Head


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


# A build's consent check for one person (subject id -> (admitted, why not)).
Admit = Callable[[str | None], tuple[bool, str]]

MODELS: dict[str, type[ReaderOptions]] = {}
OptionsT = TypeVar("OptionsT", bound="ReaderOptions")


class ReaderOptions(BaseModel):
    """What every reader receives; a subclass per reader adds that reader's options.

    `admit` and `defer_pixels` are set by the build for one read (see
    `read.read_source`), not by manifests: `admit` lets a reader that decodes pixels
    itself skip people the build may not use, `defer_pixels` lets a pixels-in-CSV
    reader hand the pixel text to the build's workers unparsed.
    """

    model_config = ConfigDict(extra="allow", strict=True, frozen=True, defer_build=True)

    reader: ClassVar[str] = ""
    admit: Admit | None = Field(default=None, exclude=True, repr=False)
    defer_pixels: bool = Field(default=False, exclude=True)

    def __init_subclass__(cls, reader: str = "", **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if reader:
            if reader in MODELS:
                raise ValueError(f"reader {reader!r} has two options models")
            cls.reader = reader
            MODELS[reader] = cls


class GenkiOptions(ReaderOptions, reader="genki"):
    labels: RelPath = "labels.txt"
    images: RelPath = "files"
    pattern: Annotated[str, AfterValidator(_pattern)] = "file{n:04d}.jpg"


class PixelsCsvOptions(ReaderOptions, reader="pixels_csv"):
    file: RelPath | None = None
    files: list[RelPath] | None = None
    size: Annotated[int, Field(ge=1, le=4096)] = 48
    mode: Literal["L", "RGB"] = "L"
    head: Head = "expression"
    split: Split | None = None
    usage: dict[str, Split] = Field(default_factory=dict)


class ImageFolderOptions(ReaderOptions, reader="imagefolder"):
    splits: dict[RelPath, Split] | None = None
    head: Head = "expression"
    extensions: list[str] | None = None  # None: every image extension facedata reads
    unlabeled: list[RelPath] = Field(default_factory=list)
    subject: str | None = None  # a regex whose first group is the person id


class _CelebaFiles(ReaderOptions):
    attributes: RelPath | None = None  # None: found by its file name at any depth
    images: RelPath | None = None  # None: the innermost img_align_celeba/


class CelebaOptions(_CelebaFiles, reader="celeba"):
    partition: RelPath = "list_eval_partition.txt"
    identity: RelPath = "identity_CelebA.txt"
    landmarks: RelPath = "list_landmarks_align_celeba.txt"


class CelebaCsvOptions(_CelebaFiles, reader="celeba_csv"):
    partition: RelPath = "list_eval_partition.csv"
    landmarks: RelPath = "list_landmarks_align_celeba.csv"


class CkplusOptions(ReaderOptions, reader="ckplus"):
    images: RelPath | None = None
    emotions: RelPath = "Emotion"
    landmarks: RelPath = "Landmarks"
    first_frame_neutral: bool = False
    peak_frames: Annotated[int, Field(ge=1, le=1000)] = 1


class LfwcropOptions(ReaderOptions, reader="lfwcrop_lists"):
    faces: RelPath | None = None
    extension: str = ".ppm"
    list_0: RelPath | None = None
    list_1: RelPath | None = None


class AffectnetCsvOptions(ReaderOptions, reader="affectnet_csv"):
    images: RelPath | None = None
    lists_dir: RelPath | None = None
    lists: dict[RelPath, Split] = Field(
        default_factory=lambda: {"training.csv": "train", "validation.csv": "validation"}
    )


class AffectnetNpyOptions(ReaderOptions, reader="affectnet_npy"):
    sets: dict[RelPath, Split] = Field(
        default_factory=lambda: {"train_set": "train", "val_set": "validation"}
    )


class RafdbOptions(ReaderOptions, reader="rafdb"):
    images: Literal["original", "aligned"] = "original"


class SmilesmiledOptions(ReaderOptions, reader="smilesmiled"):
    classes: list[RelPath] = Field(
        default_factory=lambda: ["positives/positives7", "negatives/negatives7"]
    )


class TrainingDataProOptions(ReaderOptions, reader="trainingdatapro"):
    emotions: list[str] = Field(
        default_factory=lambda: [
            *("neutral", "anger", "contempt", "disgust"),
            *("fear", "happy", "sad", "surprised"),
        ]
    )


# microsoft/FERPlus's folders and the splits they hold
FERPLUS_FOLDERS = {"FER2013Train": "train", "FER2013Valid": "validation", "FER2013Test": "test"}


class FerplusOptions(ReaderOptions, reader="ferplus"):
    folders: dict[RelPath, Split] = Field(default_factory=lambda: dict(FERPLUS_FOLDERS))
    labels_csv: RelPath | None = None  # fer2013new.csv, read beside fer2013.csv
    pixels_csv: RelPath = "fer2013.csv"


class HfparquetOptions(ReaderOptions, reader="hfparquet"):
    config: RelPath | None = None  # the repository's config folder
    image: str = "image"
    labels: dict[str, str] | None = None  # {head: column}
    names: dict[str, list[Any]] | None = None  # {column: [class names]}
    subject: str | None = None
    splits: dict[Any, Any] | None = None  # {file word: split}


class TableOptions(ReaderOptions, reader="table"):
    file: RelPath | None = None
    delimiter: Literal[",", "\t", ";", " ", "|"] | None = None  # None: from the suffix
    header: bool = True
    columns: dict[str, str | int] | None = None  # {path|label|split|subject: column}
    images: RelPath | None = None  # None: beside the table
    head: Head = "expression"
    splits: dict[str | int, Split] | None = None


class YoloOptions(ReaderOptions, reader="yolo"):
    splits: dict[RelPath, Split] | None = None  # None: the export's own folders
    head: Head = "expression"
    names_file: RelPath = "data.yaml"


class LocalOptions(ReaderOptions, reader="local"):
    fps: Annotated[float, Field(gt=0, le=1000)] = 2.0
    max_frames_per_range: Annotated[int, Field(ge=1)] = 50
    annotations: RelPath = "annotations.csv"


def validated(model: type[OptionsT], options: Mapping[str, Any], dataset: str = "") -> OptionsT:
    """`options` as `model`; a problem is a ReaderError naming each option, not a traceback.

    A manifest's options were checked when it loaded; this catches options put
    together elsewhere (a file set's override, a manifest built in code).
    """
    from pydantic import ValidationError

    try:
        return model.model_validate(dict(options))
    except ValidationError as exc:
        label = f"{dataset}: " if dataset else ""
        problems = "; ".join(
            f"format.options.{'.'.join(map(str, e.get('loc', ())))}: {e.get('msg')}"
            for e in exc.errors(include_url=False)
        )
        raise ReaderError(
            f"{label}{problems}",
            hint=f"fix the {model.reader} reader's options (docs/manifests.md lists them)",
        ) from None


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
    schema = MODELS.get(reader)
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
