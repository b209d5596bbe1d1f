"""Faces followed between detections, so the detector need not run on every frame.

How: the detector runs on every `every`-th frame (on a reduced copy). Its boxes are
matched to the tracks alive by IoU, greedily, best overlap first (IoU >= `min_iou`,
else by centre distance under half the box width, for a face that moved fast). A
matched track takes the new box and five points and remembers how far they moved
per frame; on the frames in between each track's box and points are carried forward
at that velocity (constant motion over a fifth of a second is close enough for an
aligned 112 px crop). A detection that matches no track is a face that entered: it
gets a new id. A track unmatched by `max_misses` detections in a row has left.

The first track alive (the lowest id) is the primary face: the readout shows it and
keeps showing it when a second face enters; the JSON lines list every face.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from facedata.faces.detect import Detection


def iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


@dataclass
class Track:
    id: int
    box: np.ndarray  # x1, y1, x2, y2
    landmarks: np.ndarray  # (5, 2)
    score: float
    velocity: np.ndarray = field(default_factory=lambda: np.zeros(2))  # pixels per frame
    misses: int = 0
    age: int = 0  # frames since the last detection that matched it

    @property
    def centre(self) -> np.ndarray:
        return (self.box[:2] + self.box[2:]) / 2

    def predicted(self, frames: int) -> tuple[np.ndarray, np.ndarray]:
        shift = self.velocity * frames
        return self.box + np.tile(shift, 2), self.landmarks + shift


class Tracker:
    """Boxes and five points per face, between detections (see the module docstring)."""

    def __init__(self, min_iou: float = 0.3, max_misses: int = 2) -> None:
        self.min_iou, self.max_misses = min_iou, max_misses
        self.tracks: list[Track] = []
        self._next = 1

    def update(self, detections: list[Detection]) -> list[Track]:
        """A detection frame: match, move, create and retire tracks."""
        seen = {id(t): t.centre - t.velocity * t.age for t in self.tracks}
        self.step()  # compare against where each track should be now
        pairs = []
        for ti, t in enumerate(self.tracks):
            for di, d in enumerate(detections):
                overlap = iou(tuple(t.box), d.box)
                if overlap < self.min_iou:
                    cx, cy = (t.box[0] + t.box[2]) / 2, (t.box[1] + t.box[3]) / 2
                    dx, dy = d.centre
                    if np.hypot(cx - dx, cy - dy) < (t.box[2] - t.box[0]) / 2:
                        overlap = self.min_iou * 0.5  # a fast move: match after true overlaps
                    else:
                        continue
                pairs.append((overlap, ti, di))
        used_t, used_d = set(), set()
        for _, ti, di in sorted(pairs, reverse=True):
            if ti in used_t or di in used_d:
                continue
            used_t.add(ti)
            used_d.add(di)
            t, d = self.tracks[ti], detections[di]
            box = np.asarray(d.box, dtype=np.float64)
            new = (box[:2] + box[2:]) / 2
            t.velocity = (new - seen[id(t)]) / max(1, t.age)
            t.box, t.landmarks = box, np.asarray(d.landmarks, dtype=np.float64)
            t.score, t.misses, t.age = d.score, 0, 0
        for ti, t in enumerate(self.tracks):
            if ti not in used_t:
                t.misses += 1
                t.velocity = np.zeros(2)
        self.tracks = [t for t in self.tracks if t.misses < self.max_misses]
        for di, d in enumerate(detections):
            if di not in used_d:
                self.tracks.append(
                    Track(
                        self._next,
                        np.asarray(d.box, dtype=np.float64),
                        np.asarray(d.landmarks, dtype=np.float64),
                        d.score,
                    )
                )
                self._next += 1
        return self.tracks

    def step(self) -> list[Track]:
        """A frame without detection: carry every track forward one frame."""
        for t in self.tracks:
            t.box, t.landmarks = t.predicted(1)
            t.age += 1
        return self.tracks
