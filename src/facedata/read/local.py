"""The team's own recordings: images and videos plus one annotation CSV.

annotations.csv (one row per image, or per annotated time range of a video):

    file,subject_id,start,end,smile,expression
    videos/P001_a.mp4,P001,0.0,4.5,1,happy
    images/P002_0001.jpg,P002,,,0,

Video frames are sampled at `fps` (option, default 2) with at most
`max_frames_per_range` (default 50) per row, and cached as JPEG under
home()/frames/<dataset>/<subject_id>/ so `facedata forget` can delete them. A cached
frame is found by the recording's sha256, the extraction settings and the time, never
by the file's name: a corrected recording, or another folder registered under the same
id, never reuses frames of other bytes.

A video frame at time t belongs to everyone whose annotated [start, end] contains t,
not only to the rows whose sampled times happen to equal t: two people on screen at
once make a shared frame (`P101+P102`) even when their ranges start at different times.

Consent comes before pixels: a build passes `admit`, and a participant it may not
use is dropped (and counted) from the annotations, so none of their frames is ever
decoded or cached. Several rows annotating the same frame (two people in one
shot) make one sample that is admitted only when every one of them is.
"""

from __future__ import annotations

import csv
import io
import math
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import facedata.files.confine as confine
from facedata.consent.withdrawals import MULTI, admit_together
from facedata.corpus import file_sha256
from facedata.errors import ReaderError
from facedata.files.atomic import atomic_write_bytes
from facedata.manifest.options import LocalOptions, validated
from facedata.manifest.schema import Manifest, Source
from facedata.paths import home
from facedata.read._common import label_path, open_csv
from facedata.read.registry import register
from facedata.read.sample import Drop, FileImage, Sample
from facedata.read.video import frames_at, sample_times
from facedata.vocabulary import HEADS

VIDEO_EXTENSIONS = {".mp4", ".mov", ".mkv", ".avi", ".webm", ".m4v"}
JPEG_QUALITY = 95
EXTRACTION = f"jpeg-q{JPEG_QUALITY}"  # part of every cache key: new settings, new frames


def frame_cache(dataset: str, subject_id: str) -> Path:
    """Where a subject's frames live: grouped so `forget` reaches them, not looked up by."""
    return home() / "frames" / dataset / subject_id


def frame_name(recording_sha256: str, t: float) -> str:
    """The cache key of one frame: the recording's bytes, the settings, the time."""
    return f"{recording_sha256}-{EXTRACTION}-{int(round(t * 1000)):09d}.jpg"


def _float(value: str, what: str) -> float:
    try:
        return float(value)
    except ValueError:
        raise ValueError(f"{what} {value!r} is not a number of seconds") from None


Row = tuple[str, float, float, dict[str, str], str]  # file, start, end, codes, subject


@register(LocalOptions)
def read_local(
    manifest: Manifest, source: Source, root: Path, options: LocalOptions
) -> Iterator[Sample | Drop]:
    fps = options.fps
    cap = options.max_frames_per_range
    admit = options.admit
    ann_path = root / options.annotations
    if not ann_path.is_file():
        raise ReaderError(
            f"{manifest.id}: annotation file {ann_path} not found",
            hint="write annotations.csv (file,subject_id,start,end,smile,expression) in the folder",
        )
    ranges: dict[Path, list[Row]] = defaultdict(list)
    images: dict[Path, list[tuple[str, dict[str, str], str]]] = defaultdict(list)
    with open_csv(ann_path) as fh:
        reader = csv.DictReader(fh)
        missing = {"file", "subject_id"} - set(reader.fieldnames or [])
        if missing:
            raise ReaderError(
                f"{ann_path}: missing column(s) {sorted(missing)}",
                hint="the header must be file,subject_id,start,end,smile,expression",
            )
        _check_header(ann_path, list(reader.fieldnames or []))
        for line, row in enumerate(reader, start=2):
            where = f"{ann_path.name}:{line}"
            if row.get(None):  # type: ignore[call-overload]  # values past the header
                raise ReaderError(
                    f"{ann_path}:{line}: more values than the header has columns",
                    hint="quote values that contain commas; a second person on the same "
                    "recording gets a row of their own",
                )
            rel = (row.get("file") or "").strip()
            subject = (row.get("subject_id") or "").strip()
            codes = {h: (row.get(h) or "").strip() for h in HEADS if (row.get(h) or "").strip()}
            if not rel:
                yield Drop(manifest.id, "annotation without file", where)
                continue
            if not subject:
                yield Drop(manifest.id, "no subject id", where)
                continue
            path = label_path(root, rel)
            if isinstance(path, str):  # absolute or '..': never read outside the folder
                yield Drop(manifest.id, path, where, rel)
                continue
            if path.is_file() and not confine.is_inside(root, path):
                yield Drop(manifest.id, "unsafe image path: a link out of the folder", where, rel)
                continue
            if not path.is_file():
                yield Drop(manifest.id, "missing image", where, rel)
                continue
            if path.suffix.lower() not in VIDEO_EXTENSIONS:
                images[path].append((rel, codes, subject))
                continue
            try:
                start = _float(row.get("start") or "", "start")
                end = _float(row.get("end") or "", "end")
            except ValueError as exc:
                yield Drop(manifest.id, "bad time range", where, str(exc))
                # when this person is on screen is unknown: on every frame (fail closed)
                ranges[path].append((rel, math.nan, math.nan, codes, subject))
                continue
            ranges[path].append((rel, start, end, codes, subject))
    images, ranges = _by_content(images), _by_content(ranges)
    for path, annotated in images.items():
        rel, codes, _ = annotated[0]
        subject, why = _participants(admit, annotated)
        if subject is None:
            yield Drop(manifest.id, why, rel)
            continue
        yield Sample(manifest.id, rel, FileImage(path), codes, subject_id=subject)
    for path, rows in ranges.items():
        yield from _video_samples(manifest.id, path, rows, fps, cap, admit)


ANNOTATION_COLUMNS = frozenset({"file", "subject_id", "start", "end", *HEADS, "notes"})


def _check_header(path: Path, names: list[str]) -> None:
    """Every annotation column is one the reader reads (or a free `x-...` / `notes`):
    a column nobody reads (`also_on_screen`, `subject_2`) could name a person who is in
    the recording, and a column named twice keeps only its last value."""
    unknown = [n for n in names if n not in ANNOTATION_COLUMNS and not n.lower().startswith("x-")]
    twice = sorted({n for n in names if names.count(n) > 1})
    if unknown or twice:
        problem = (
            f"unknown column(s) {', '.join(map(repr, unknown))}"
            if unknown
            else f"column(s) {', '.join(twice)} appear more than once"
        )
        raise ReaderError(
            f"{path}:1: {problem}",
            hint="the columns are file,subject_id,start,end,smile,expression (free notes: "
            "`notes` or `x-...`); a second person on a recording gets a row of their own",
        )


def _by_content(groups: dict[Path, list[Any]]) -> dict[Path, list[Any]]:
    """Files with the same bytes (a copy under another name, a link) are one recording:
    everyone annotated on any of them is in it, so their rows are decided together."""
    merged: dict[str, tuple[Path, list[Any]]] = {}
    for path, rows in groups.items():
        digest = recording_sha256(path)
        if digest in merged:
            merged[digest][1].extend(rows)
        else:
            merged[digest] = (path, list(rows))
    return dict(merged.values())


def _participants(
    admit: Callable[[str | None], tuple[bool, str]] | None,
    annotated: list[tuple[str, dict[str, str], str]],
) -> tuple[str | None, str]:
    """(subject id, "") if every participant in it is admitted, else (None, why).

    A frame or image showing several people is theirs together: it enters only when
    each of them may, and carries all their ids (joined by '+') so forgetting any of
    them removes it. Their labels must agree: one aligned face cannot carry two.
    """
    people = sorted(set(s for _, _, s in annotated))  # one id for the same people
    if admit is not None:
        ok, why = admit_together(people, admit)
        if not ok:
            return None, why
    if len(people) > 1 and any(codes != annotated[0][1] for _, codes, _ in annotated):
        return None, "several participants with different labels"
    return MULTI.join(people), ""


def _on_screen(rows: list[Row], t: float) -> list[tuple[str, dict[str, str], str]]:
    """Everyone whose annotated [start, end] contains t, whichever row sampled it.

    Ends are inclusive for other people (fail closed: someone whose range ends at t is
    still on screen). A person's own label at t comes from the range that starts there
    when two of their ranges meet at t. A range that cannot be read (NaN, end before
    start) puts its person on screen at every time of the recording: fail closed.
    """
    eps = 1e-9
    found: dict[str, list[tuple[str, dict[str, str], str]]] = {}
    inside: dict[str, list[tuple[str, dict[str, str], str]]] = {}
    for rel, start, end, codes, subject in rows:
        unknown = not start <= end  # NaN or reversed: they may be on screen at any time
        if unknown or start - eps <= t <= end + eps:
            found.setdefault(subject, []).append((rel, codes, subject))
            if not unknown and t < end - eps:
                inside.setdefault(subject, []).append((rel, codes, subject))
    return [a for s, rs in found.items() for a in inside.get(s, rs)]


def _video_samples(
    dataset: str,
    path: Path,
    rows: list[Row],
    fps: float,
    cap: int | None,
    admit: Callable[[str | None], tuple[bool, str]] | None = None,
) -> Iterator[Sample | Drop]:
    """Decode only the frames whose every participant is admitted; count the rest."""
    wanted: dict[float, str] = {}
    for rel, start, end, _codes, _subject in rows:
        for t in sample_times(start, end, fps, cap):
            wanted.setdefault(t, rel)
    keep: dict[float, tuple[str, dict[str, str], str]] = {}
    for t, rel in sorted(wanted.items()):
        annotated = _on_screen(rows, t)
        subject, why = _participants(admit, annotated)
        if subject is None:
            yield Drop(dataset, why, f"{rel}@{t:.3f}")
            continue
        keep[t] = (rel, annotated[0][1], subject)
    if not keep:
        return
    digest = recording_sha256(path)  # before decoding: the rows describe these bytes
    for t, image in frames_at(path, list(keep)):
        rel, codes, subject = keep[t]
        key = f"{rel}@{t:.3f}"
        out = frame_cache(dataset, subject) / frame_name(digest, t)
        if not out.is_file():
            buf = io.BytesIO()
            image.convert("RGB").save(buf, format="JPEG", quality=JPEG_QUALITY)
            atomic_write_bytes(out, buf.getvalue())
        yield Sample(
            dataset,
            key,
            FileImage(out),
            dict(codes),
            subject_id=subject,
            extra={"video": rel, "time": t, "sha256": digest},
        )


_DIGESTS: dict[tuple, str] = {}


def recording_sha256(path: Path) -> str:
    """sha256 of a recording, remembered per (path, size, mtime, inode) within a run."""
    st = path.stat()
    key = (str(path), st.st_size, st.st_mtime_ns, st.st_ino)
    if key not in _DIGESTS:
        _DIGESTS[key] = file_sha256(path)
    return _DIGESTS[key]


def recordings_of(
    root: Path, options: Mapping[str, Any] | LocalOptions, subject: str | None = None
) -> set[str]:
    """sha256 of the media files the annotations name (only `subject`'s, if given).

    What identifies "the same recordings" across copies: their bytes, not their names.
    Unreadable or unsafe rows are skipped here; the reader counts them as drops.
    """
    if not isinstance(options, LocalOptions):
        options = validated(LocalOptions, options)
    ann_path = Path(root) / options.annotations
    if not ann_path.is_file():
        return set()
    found: set[str] = set()
    with open_csv(ann_path) as fh:
        for row in csv.DictReader(fh):
            rel = (row.get("file") or "").strip()
            who = [s for s in (row.get("subject_id") or "").strip().split(MULTI) if s]
            if not rel or (subject is not None and subject not in who):
                continue
            path = label_path(Path(root), rel)
            if isinstance(path, str) or not path.is_file() or not confine.is_inside(root, path):
                continue
            found.add(recording_sha256(path))
    return found
