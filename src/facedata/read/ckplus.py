"""CK+ official release: cohn-kanade-images/ + Emotion/ + Landmarks/ (FACS/ unused).

Per sequence SNNN/MMM, the emotion file sits next to the peak (last) frame only,
and holds one float (`   3.0000000e+00`) in the CK+ native order (1 anger ... 7
surprise). Only 327 of 593 sequences have one. The reader yields:
  - the last `peak_frames` frames (default 1) of each labelled sequence with its code;
  - with `first_frame_neutral: true`, the first frame of every sequence as code "0"
    (neutral by convention; no file says so, hence extra["neutral_by_convention"]);
  - one "no emotion label" drop per sequence that contributes nothing.
Frames between onset and peak are not samples of either kind and are not counted.
Subject ids are the S-numbers, so splits can be subject-disjoint. The 68 landmarks
are kept as they are (original image coordinates).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from facedata.manifest.options import CkplusOptions
from facedata.manifest.schema import Manifest, Source
from facedata.read._common import find_one, floats, is_image, rel, text_lines
from facedata.read.registry import register
from facedata.read.sample import Drop, FileImage, Note, Sample


def _emotion(path: Path) -> str:
    values = [line.strip() for _, line in text_lines(path) if line.strip()]
    if len(values) != 1:
        raise ValueError(f"expected one number, found {len(values)} lines")
    number = float(values[0])
    if not number.is_integer():
        raise ValueError(f"emotion {values[0]!r} is not a whole number")
    return str(int(number))


def _landmarks(path: Path) -> list[float]:
    points: list[float] = []
    for n, line in text_lines(path):
        tokens = line.split()
        if not tokens:
            continue
        if len(tokens) != 2:
            raise ValueError(f"{path.name}:{n}: expected 'x y'")
        points += floats(tokens)
    if len(points) != 136:
        raise ValueError(f"{path.name}: expected 68 points, got {len(points) // 2}")
    return points


def _sequences(images: Path) -> Iterator[tuple[str, Path]]:
    for subject in sorted(p for p in images.iterdir() if p.is_dir()):
        for seq in sorted(p for p in subject.iterdir() if p.is_dir()):
            yield subject.name, seq


@register(CkplusOptions)
def read_ckplus(
    manifest: Manifest, source: Source, root: Path, options: CkplusOptions
) -> Iterator[Sample | Drop]:
    ds = manifest.id
    images = (
        find_one(root, options.images, dirs=True)
        if options.images
        else find_one(root, "cohn-kanade-images", dirs=True, required=False)
        or find_one(root, "extended-cohn-kanade-images", dirs=True)
    )
    emotions = find_one(root, options.emotions, dirs=True)
    marks = find_one(root, options.landmarks, dirs=True, required=False)
    assert images is not None and emotions is not None
    if marks is None:
        yield Note(
            ds,
            "degraded",
            "no Landmarks/ (Landmarks.zip) in this delivery: faces are found by the detector "
            "instead of aligned by the 68 AAM landmarks",
        )
    neutral = options.first_frame_neutral
    peaks = options.peak_frames
    for subject, seq in _sequences(images):
        frames = sorted(p for p in seq.iterdir() if is_image(p))
        if not frames:
            continue
        seq_rel = f"{subject}/{seq.name}"
        labelled = (
            sorted((emotions / seq_rel).glob("*_emotion.txt"))
            if (emotions / seq_rel).is_dir()
            else []
        )
        picks: list[tuple[Path, str, str, bool]] = []  # frame, code, where, by convention
        if labelled:
            efile = labelled[-1]
            where = f"{rel(efile, root)}:1"
            try:
                code = _emotion(efile)
            except ValueError as exc:
                yield Drop(ds, "bad label", where, str(exc))
                code = ""
            if code:
                peak_name = efile.name.replace("_emotion.txt", "")
                peak_idx = next((i for i, f in enumerate(frames) if f.stem == peak_name), None)
                if peak_idx is None:
                    yield Drop(ds, "missing image", where, f"{seq_rel}/{peak_name}.png")
                else:
                    for f in frames[max(0, peak_idx - peaks + 1) : peak_idx + 1]:
                        picks.append((f, code, where, False))
        if neutral and not (picks and picks[0][0] == frames[0]):
            picks.insert(0, (frames[0], "0", rel(frames[0], root), True))
        if not picks and not labelled:
            yield Drop(ds, "no emotion label", rel(seq, root), "sequence without an Emotion file")
            continue
        for frame, code, where, conventional in picks:
            landmarks = None
            extra: dict[str, Any] = {"sequence": seq_rel}
            if conventional:
                extra["neutral_by_convention"] = True
            lfile = marks / seq_rel / f"{frame.stem}_landmarks.txt" if marks else None
            if lfile is not None and lfile.is_file():
                try:
                    landmarks = _landmarks(lfile)
                except ValueError as exc:
                    extra["landmarks_error"] = str(exc)
            yield Sample(
                ds,
                rel(frame, images),
                FileImage(frame),
                {"expression": code},
                subject_id=subject,
                landmarks=landmarks,
                extra=extra,
                where=where,
            )
