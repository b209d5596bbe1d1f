"""Ctrl-C: the command stops, removes what it half-wrote, says "interrupted", exits 130.

SIGINT goes to a real `facedata` child process once it is provably in the middle of
its work (a build's first progress line, a download's first bytes), so the tests
exercise the cleanup on the way out, not a process killed before it began.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from facedata.demo import TAR_NAME
from tests.cli.conftest import World, snapshot
from tests.helpers.servers import serve_files, throttle


def _wait_for_line(proc: subprocess.Popen, prefix: str) -> str:
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith(prefix):
            return line
    raise AssertionError(f"no line starting {prefix!r}; stderr: {proc.stderr.read()}")


def _interrupt(proc: subprocess.Popen, group: bool = False) -> tuple[int, str]:
    if group:  # Ctrl-C in a terminal: the whole foreground group, pool workers included
        os.killpg(proc.pid, signal.SIGINT)
    else:
        proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    return proc.returncode, err


@pytest.mark.parametrize(("workers", "group"), [(1, False), (2, False), (2, True)])
def test_sigint_during_build_keeps_the_earlier_corpus(
    world: World, tmp_path: Path, workers: int, group: bool
):
    out = tmp_path / "corpus"
    shutil.copytree(world.demo.corpus, out)  # an earlier corpus, as the demo built it
    before = snapshot(out)

    # a different build over it, slowed to one image per batch so it is mid-way when hit
    recipe = world.recipe(tmp_path / "b.yaml", out, seed=7, size=256, batch_size=1, workers=workers)
    proc = world.spawn(
        "build", str(recipe), "--overwrite", group=group, FACEDATA_PROGRESS_SECONDS="0"
    )
    _wait_for_line(proc, "build: read")
    code, err = _interrupt(proc, group)

    assert code == 130, err
    assert "interrupted" in err
    assert "Traceback" not in err
    assert snapshot(out) == before  # the earlier corpus, byte for byte
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.yaml", "corpus"]


def test_sigint_during_fetch_leaves_nothing_half_written(world: World, tmp_path: Path):
    """A download cut by Ctrl-C: no tree, no lock entry; only the resumable .part stays."""
    tar = world.demo.tar.read_bytes()
    home = tmp_path / "home"
    with serve_files({TAR_NAME: tar}) as base:
        base.fault(TAR_NAME, throttle(40_000))  # ~14 s for the whole tar
        manifests = world.http_manifests(tmp_path / "m", f"{base}/{TAR_NAME}", "slow-demo")
        proc = world.spawn(
            "fetch", "slow-demo", "--manifests", str(manifests), FACEDATA_HOME=str(home)
        )
        deadline = time.monotonic() + 60
        while base.bytes_sent(TAR_NAME) < 50_000:
            assert proc.poll() is None, proc.stderr.read()
            assert time.monotonic() < deadline
            time.sleep(0.05)
        code, err = _interrupt(proc)

    assert code == 130, err
    assert "interrupted" in err and "Traceback" not in err
    assert not (home / "datasets" / "slow-demo").exists()
    lock = home / "facedata.lock"
    assert not lock.exists() or "slow-demo" not in json.loads(lock.read_text())["datasets"]
    leftovers = [
        p
        for p in home.rglob("*")
        if p.is_file() and "partial" not in p.parts and p.suffix not in (".guard", ".lock")
    ]
    assert leftovers == [], leftovers


def test_sigint_during_demo_removes_the_demo_folder(world: World, tmp_path: Path):
    out = tmp_path / "demo"
    proc = world.spawn("demo", "--out", str(out), FACEDATA_PROGRESS_SECONDS="0")
    _wait_for_line(proc, "demo build: read")
    code, err = _interrupt(proc)
    assert code == 130, err
    assert "interrupted" in err
    assert not out.exists()
