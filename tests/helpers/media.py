"""Short videos of distinct real faces, as a team's own recordings would be."""

from __future__ import annotations

from pathlib import Path

import av

from tests.helpers.photos import face_variant


def write_video(path: Path, first: int, seconds: float = 3.0, fps: int = 10) -> None:
    """One face per frame, `first` onward, so sampled frames are distinct people's faces."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as c:
        stream = c.add_stream("libx264" if "libx264" in av.codecs_available else "mpeg4", rate=fps)
        stream.width = stream.height = 192
        stream.pix_fmt = "yuv420p"
        for i in range(int(seconds * fps)):
            frame = av.VideoFrame.from_image(face_variant(first + i, (192, 192)))
            for packet in stream.encode(frame):
                c.mux(packet)
        for packet in stream.encode():
            c.mux(packet)
