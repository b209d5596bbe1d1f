"""Own recordings, a consent register and manifests for the cross-command compliance tests.

Everything runs through the real `facedata` entry point; the fixture only lays out
what a team would have on disk: videos and photos of pseudonymous participants, an
annotation CSV, a consent register, and a manifest written by `manifest new --local`.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml

from facedata.consent.owndata import new_local_manifest
from tests.helpers.cli import CliResult, run_cli
from tests.helpers.media import write_video as _write_video
from tests.helpers.photos import face_variant

REPO = Path(__file__).resolve().parents[2]
UTC_TODAY = dt.datetime.now(dt.UTC).date()
LONG_AGO = "2026-01-10"

DETECTOR_CLEARANCE = """\
  - detector: retinaface-mnet025
    cleared_by: Legal team
    evidence: WIDER FACE weights review WF-2026-2
    expires: 2099-12-31
"""


def write_video(path: Path, first: int, seconds: float = 2.0, fps: int = 10) -> None:
    _write_video(path, first, seconds, fps)


@dataclass
class Team:
    """A team's recordings and the commands they run."""

    root: Path
    capsys: pytest.CaptureFixture[str]

    @property
    def rec(self) -> Path:
        return self.root / "recordings"

    @property
    def home(self) -> Path:
        return self.root / "home"

    @property
    def manifest(self) -> Path:
        return self.root / "manifests" / "own-data.yaml"

    def out(self, name: str) -> Path:
        return self.root / "out" / name

    def cli(self, *args: str) -> CliResult:
        return run_cli(self.capsys, *args)

    def build(self, name: str, *extra: str, datasets: str = "own-data") -> CliResult:
        return self.cli("build", "--datasets", datasets, "--out", str(self.out(name)), *extra)

    def clearances(self, body: str, name: str = "clearances.yaml") -> Path:
        path = self.root / name
        path.write_text("clearances:\n" + body)
        return path

    def consent(self, text: str) -> None:
        (self.rec / "consent.csv").write_text("subject_id,scopes,signed,withdrawn\n" + text)

    def annotate(self, text: str) -> None:
        (self.rec / "annotations.csv").write_text(
            "file,subject_id,start,end,smile,expression\n" + text
        )

    def edit_manifest(self, **license_fields: str) -> None:
        data = yaml.safe_load(self.manifest.read_text())
        data["license"].update(license_fields)
        self.manifest.write_text(yaml.safe_dump(data, sort_keys=False))

    def frames(self) -> set[str]:
        """Subject folders of cached frames (what was decoded and written)."""
        root = self.home / "frames" / "own-data"
        return {p.name for p in root.iterdir()} if root.is_dir() else set()

    def ledger(self) -> list[dict]:
        path = self.home / "erasure-log.jsonl"
        if not path.is_file():
            return []
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def rows(out: Path, cols: tuple[str, ...] = ("subject_id", "key")) -> list[dict]:
    return [
        r
        for f in sorted((out / "data").glob("*.parquet"))
        for r in pq.read_table(f, columns=list(cols)).to_pylist()
    ]


def subjects(out: Path) -> set[str]:
    return {r["subject_id"] for r in rows(out)}


def corpus(out: Path) -> dict:
    return json.loads((out / "corpus.json").read_text())


def drops(out: Path) -> dict[str, int]:
    return {k: v["count"] for k, v in corpus(out)["drops"].items()}


@pytest.fixture
def team(tmp_path, monkeypatch, capsys) -> Team:
    """P001: video, research+commercial. P002: photo, research only. P003: photo, both."""
    monkeypatch.setenv("FACEDATA_HOME", str(tmp_path / "home"))
    t = Team(tmp_path, capsys)
    write_video(t.rec / "videos" / "P001_a.mp4", 0)
    for sid, base in (("P002", 300), ("P003", 310)):
        img = t.rec / "images" / f"{sid}_0001.jpg"
        img.parent.mkdir(parents=True, exist_ok=True)
        face_variant(base, (200, 240)).save(img)
    t.annotate(
        "videos/P001_a.mp4,P001,0.0,1.0,1,happy\n"
        "images/P002_0001.jpg,P002,,,1,happy\n"
        "images/P003_0001.jpg,P003,,,0,neutral\n"
    )
    t.consent(
        f"P001,research;commercial,{LONG_AGO},\n"
        f"P002,research,{LONG_AGO},\n"
        f"P003,research;commercial,{LONG_AGO},\n"
    )
    (tmp_path / "manifests").mkdir()
    new_local_manifest(t.rec, "own-data", out=t.manifest)
    monkeypatch.setenv("FACEDATA_MANIFESTS", str(tmp_path / "manifests"))
    return t


def run_in_zone(tz: str, args: list[str], env_extra: dict[str, str]) -> subprocess.CompletedProcess:
    """`facedata ARGS` in a child process whose local zone is `tz`."""
    env = {
        **os.environ,
        **env_extra,
        "TZ": tz,
        "PYTHONPATH": str(REPO / "src"),
        "COLUMNS": "200",
    }
    return subprocess.run(
        [sys.executable, "-m", "facedata", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
    )
