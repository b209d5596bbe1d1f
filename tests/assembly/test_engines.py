"""Engines started ahead of a build: the build takes the same instance, and a Ray
engine's workers are set up for build work before the first chunk reaches them."""

from __future__ import annotations

import pytest

from facedata.assemble import engines
from facedata.assemble.engines import LocalEngine, get_engine, start_early
from tests.helpers.extras import needs


def test_only_a_running_ray_is_joined_early(monkeypatch: pytest.MonkeyPatch) -> None:
    """A local pool starts in milliseconds, and a Ray instance of the build's own in
    seconds that a refused or up-to-date build would waste: neither starts early."""
    monkeypatch.setattr(engines, "_EARLY", {})
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    start_early("local", 2)
    start_early("ray", 2)
    assert not engines._EARLY
    engine = get_engine("local", 2)
    assert isinstance(engine, LocalEngine) and engine.workers == 2
    engine.close()


@needs("ray")
def test_the_build_takes_the_ray_engine_started_early(monkeypatch: pytest.MonkeyPatch) -> None:
    import ray

    monkeypatch.setattr(engines, "_EARLY", {})
    # a Ray already running, as on a cluster; its workers import this checkout
    monkeypatch.setenv("PYTHONPATH", engines._import_path())
    ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR", log_to_driver=False)
    monkeypatch.setenv("RAY_ADDRESS", "auto")
    try:
        start_early("ray", 2)
        early = engines._EARLY[("ray", 2)]
        start_early("ray", 2)  # once per engine and size
        assert engines._EARLY[("ray", 2)] is early
        assert get_engine("ray", 2) is early
        assert not engines._EARLY  # taken: a second build connects by itself
        # one warm-up task per CPU ran in a worker, with facedata's imports and settings
        assert len(early._warming) == early.workers == 2
        assert ray.get(early._warming, timeout=120) == [None, None]
        assert list(early.map(abs, [-1, -2, 3])) == [1, 2, 3]
        early.close()
        assert ray.is_initialized()  # joined, not started: left running
    finally:
        ray.shutdown()
