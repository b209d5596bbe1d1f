"""Processes: one writer per corpus, and pool workers that die with their build."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from facedata.errors import BusyError
from facedata.files.locking import exclusive, lock_path
from tests.helpers.cli import run_cli
from tests.helpers.corpus import make_corpus

SRC = str(Path(__file__).resolve().parents[2] / "src")
ENV = {**os.environ, "PYTHONPATH": SRC + os.pathsep + str(Path(SRC).parent)}

HOLD = """
import sys, time
from facedata.files.locking import exclusive
with exclusive(sys.argv[1]):
    print("held", flush=True)
    time.sleep(60)
"""


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@pytest.fixture
def holder(tmp_path):
    """A second process holding the lock on tmp/corpus until the test kills it (-9)."""
    corpus = tmp_path / "corpus"
    make_corpus(corpus, n=12)
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(corpus)], env=ENV, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    yield corpus, proc
    proc.kill()
    proc.wait()


def test_forget_beside_a_running_writer_refuses_cleanly(holder, capsys, monkeypatch, tmp_path):
    corpus, proc = holder
    monkeypatch.setenv("FACEDATA_HOME", str(tmp_path / "cache"))
    before = _snapshot(corpus)
    res = run_cli(capsys, "forget", "--subject", "smiles-s1", str(corpus))
    assert res.code == 1 and "Traceback" not in res.err, res.err
    assert "being changed by another facedata process" in res.err
    assert f"process {proc.pid}" in res.err
    assert _snapshot(corpus) == before
    proc.send_signal(signal.SIGKILL)  # the OS drops the lock of a killed holder
    proc.wait()
    with exclusive(corpus):
        pass
    assert not lock_path(corpus).exists()  # released locks leave no file behind


def test_a_second_build_into_a_locked_out_refuses_before_touching_it(holder, tmp_path):
    from facedata.assemble.pipeline import build
    from facedata.assemble.recipe import Recipe

    corpus, _ = holder
    before = _snapshot(corpus)
    with pytest.raises(BusyError):
        build(Recipe(datasets=["genki4k"], out=corpus))
    assert _snapshot(corpus) == before
    assert not list(corpus.parent.glob(f".{corpus.name}.*.partial"))


def test_the_lock_is_reentrant_in_one_process(tmp_path):
    target = tmp_path / "t"
    with exclusive(target), exclusive(target):
        assert lock_path(target).exists()
    assert not lock_path(target).exists()


POOL = """
import os, sys, time
from functools import partial
from facedata.assemble.engines import LocalEngine
from facedata.assemble.merge import worker_start

def slow(task):
    time.sleep(60)
    return task

print("start", flush=True)
engine = LocalEngine(2, partial(worker_start, os.getpid()))  # as a sharded build starts it
for _ in engine.map(slow, [1, 2, 3, 4]):
    pass
"""


def test_pool_workers_die_with_a_killed_build():
    proc = subprocess.Popen([sys.executable, "-c", POOL], env=ENV, stdout=subprocess.PIPE)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == b"start"
        parent = psutil.Process(proc.pid)
        deadline = time.monotonic() + 10
        while len(parent.children()) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        workers = parent.children()
        assert len(workers) >= 2
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        gone, alive = psutil.wait_procs(workers, timeout=5)
        assert not alive, f"workers outlived their build: {[p.pid for p in alive]}"
    finally:
        proc.kill()
        proc.wait()
