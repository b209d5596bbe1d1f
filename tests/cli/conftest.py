"""A demo world shared by the command-line tests: the sample registered in a private
cache, its manifest, and a built corpus, made once by the library API."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from facedata.demo import DATASET_ID, TAR_NAME, DemoResult, run_demo

REPO = Path(__file__).resolve().parents[2]


@dataclass
class World:
    demo: DemoResult

    @property
    def home(self) -> Path:
        return self.demo.home

    @property
    def manifests(self) -> Path:
        return self.demo.manifests

    def recipe(self, path: Path, out: Path, **extra: object) -> Path:
        """A recipe file for the demo dataset into `out`."""
        lines = [
            f"datasets: [{DATASET_ID}]",
            f"out: {out}",
            f"manifests: [{self.manifests}]",
            *(f"{k}: {v}" for k, v in extra.items()),
        ]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return path

    def http_manifests(self, folder: Path, url: str, dataset: str = "web-demo") -> Path:
        """A manifest folder describing the demo sample as an http download from `url`."""
        folder.mkdir(parents=True, exist_ok=True)
        head, _, _ = (self.manifests / f"{DATASET_ID}.yaml").read_text().partition("sources:")
        (folder / f"{dataset}.yaml").write_text(
            head.replace(f"id: {DATASET_ID}", f"id: {dataset}")
            + "sources:\n  - id: web\n    kind: http\n    official: true\n"
            + f"    files:\n      - name: {TAR_NAME}\n        url: {url}\n"
            + "format:\n  reader: genki\n  root: '*'\nlabels:\n  smile:\n"
            + "    codes: {'1': 1, '0': 0}\n"
        )
        return folder

    def env(self, **extra: str) -> dict[str, str]:
        """The environment of a `facedata` child process run against this checkout."""
        env = dict(os.environ)
        env.pop("FACEDATA_MANIFESTS", None)
        env.update(
            PYTHONPATH=str(REPO / "src"),
            FACEDATA_HOME=str(self.home),
            PYTHONUNBUFFERED="1",
            COLUMNS="200",
        )
        env.update(extra)
        return env

    def spawn(
        self, *args: str, stdout: object = subprocess.PIPE, group: bool = False, **env: str
    ) -> subprocess.Popen:
        """`facedata ARGS` in a child; `group`: in its own process group, as a terminal
        runs a foreground job (Ctrl-C then reaches every process of the group).

        The child starts with Ctrl-C's default action, as from a terminal, whatever this
        run inherited: a test runner started in the background ignores SIGINT, and a
        command rightly keeps ignoring it then."""
        return subprocess.Popen(
            [sys.executable, "-m", "facedata", *args],
            stdout=stdout,
            stderr=subprocess.PIPE,
            text=True,
            env=self.env(**env),
            cwd=REPO,
            start_new_session=group,
            preexec_fn=_default_sigint,
        )


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    return World(run_demo(tmp_path_factory.mktemp("world") / "demo"))


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under `folder` with its bytes, hidden names included."""
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }
