"""Where a build's tasks run: this machine's cores, or a Ray cluster.

A build is a sequence of independent tasks (a chunk of samples to decode, align,
hash, encode and write as a partial shard; later, a final shard to assemble from
partial ones). An engine runs a function over them and yields the results in task
order, with a bounded number in flight, so memory stays flat and the merge that
follows sees the same order whatever ran the tasks. The corpus is therefore the same
for any engine and any number of workers.

An engine with an object store shared by its nodes (Ray) keeps the partial shards
there (`map_split`): a cluster then needs no folder that every node mounts.

Add an engine by implementing `Engine` and listing it in `ENGINES`.
"""

from __future__ import annotations

import multiprocessing as mp
import os
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import Any, Protocol, TypeVar

from facedata.errors import BuildError

T = TypeVar("T")
R = TypeVar("R")


class Engine(Protocol):
    """Runs `fn` over tasks; results come back in task order."""

    name: str
    workers: int
    # True: partial shards stay in the engine's object store (`map_split`), not in files
    parts_in_memory: bool

    def map(self, fn: Callable[[T], R], tasks: Iterable[T]) -> Iterator[R]: ...

    def close(self) -> None:
        """Release processes or cluster connections (idempotent)."""
        ...


class LocalEngine:
    """This machine: in-process for one worker, else a fork-started process pool.

    Fork: workers start in milliseconds instead of re-importing everything; the
    initializer drops state that must not cross a fork (detector sessions). At most
    two tasks per worker are in flight.
    """

    name = "local"
    parts_in_memory = False

    def __init__(self, workers: int = 1, initializer: Callable[[], None] | None = None) -> None:
        self.workers = max(1, int(workers))
        self._initializer = initializer
        self._pool: ProcessPoolExecutor | None = None

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=mp.get_context("fork"),
                initializer=self._initializer,
            )
        return self._pool

    def map(self, fn: Callable[[T], R], tasks: Iterable[T]) -> Iterator[R]:
        if self.workers <= 1:
            for task in tasks:
                yield fn(task)
            return
        pool = self._executor()
        pending: deque[Future] = deque()
        try:
            for task in tasks:
                pending.append(pool.submit(fn, task))
                if len(pending) >= 2 * self.workers:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        except BaseException:  # Ctrl-C or an error: queued tasks are not started
            self.close()
            raise

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


class RayEngine:
    """Ray tasks: `ray.init()` starts a local instance, or joins `RAY_ADDRESS`.

    Task arguments and results travel through Ray's object store, and so do partial
    shards (`map_split`): only the cache's images are read from storage by the
    workers (see docs/scale.md). Results are collected in submission order with at
    most two tasks per worker CPU in flight.
    """

    name = "ray"
    parts_in_memory = True
    # set to "1": ship this process's facedata package to the cluster's workers
    # (runtime_env py_modules) instead of needing it installed on every node
    SHIP_CODE = "FACEDATA_RAY_SHIP_CODE"

    def __init__(self, workers: int = 1, initializer: Callable[[], None] | None = None) -> None:
        try:
            import ray
        except ImportError as exc:
            raise BuildError(
                "--engine ray needs Ray, which is not installed",
                hint='pip install "facedata[ray]"',
            ) from exc
        self._ray = ray
        self._started = False
        address = os.environ.get("RAY_ADDRESS")
        if not ray.is_initialized():
            options: dict[str, Any] = {
                "ignore_reinit_error": True,
                "include_dashboard": False,
                "logging_level": "ERROR",
                "log_to_driver": False,
                "configure_logging": False,
            }
            if address:
                options["address"] = address
            else:
                options["num_cpus"] = max(1, int(workers))
            if os.environ.get(self.SHIP_CODE) == "1":
                options["runtime_env"] = {"py_modules": [_package_dir()]}
            # local workers import the same facedata as this process (a checkout or an
            # install): the Ray processes started here inherit PYTHONPATH, set for the
            # start only (a runtime_env would do it too, but starts every worker
            # through Ray's env agent: 0.5 s more before the first task). Nodes of a
            # cluster must have facedata installed.
            saved = os.environ.get("PYTHONPATH")
            if not address:
                os.environ["PYTHONPATH"] = _import_path()
            try:
                ray.init(**options)
            except Exception as exc:  # Ray raises many untyped errors on connect
                raise BuildError(
                    f"cannot start or reach Ray ({address or 'local'}): {exc}",
                    hint="check RAY_ADDRESS (ray://host:10001 or host:6379), or unset it "
                    "to run a local instance",
                ) from exc
            finally:
                if saved is None:
                    os.environ.pop("PYTHONPATH", None)
                else:
                    os.environ["PYTHONPATH"] = saved
            self._started = True
        cpus = int(ray.cluster_resources().get("CPU", workers) or 1)
        self.workers = max(1, cpus)
        self._remote: Any = None  # _in_ray_worker as a Ray task, made on first use
        self.nodes: Counter[str] = Counter()  # tasks run, by Ray node id
        self._warming = self._warm()

    def _warm(self) -> list[Any]:
        """One no-op task per CPU, submitted now and never waited for: each of this
        job's workers starts its Python, Ray and the chunk path's imports (about a
        second on a loaded core) while the driver is still reading the recipe, gating
        licenses and reading the first labels, instead of after the first chunk is
        submitted. The references are kept so the tasks are not cancelled."""
        warm = self._ray.remote(num_cpus=1, max_retries=0, scheduling_strategy="SPREAD")
        task = warm(_warm_worker)
        return [task.remote() for _ in range(self.workers)]

    def _task(self) -> Any:
        if self._remote is None:
            # SPREAD: a cluster's nodes share the chunks from the start (the default
            # policy fills the driver's node first, and short tasks never leave it)
            self._remote = self._ray.remote(
                num_cpus=1, max_retries=2, scheduling_strategy="SPREAD"
            )(_in_ray_worker)
        return self._remote

    def map(self, fn: Callable[[T], R], tasks: Iterable[T]) -> Iterator[R]:
        for value, _ in self._run(fn, tasks, split=False):
            yield value

    def map_split(
        self, fn: Callable[[T], tuple[R, Any]], tasks: Iterable[T]
    ) -> Iterator[tuple[R, Any]]:
        """Like `map` for a function returning a pair: the first value comes back, the
        second stays in the object store and comes back as its reference (owned by
        this process, so it lives as long as the build needs it; Ray re-runs the task
        if the node holding it is lost)."""
        return self._run(fn, tasks, split=True)

    def _run(self, fn: Callable, tasks: Iterable, *, split: bool) -> Iterator[tuple[Any, Any]]:
        ray = self._ray
        remote = self._task().options(num_returns=3 if split else 2)
        pending: deque[Any] = deque()

        def collect() -> tuple[Any, Any]:
            refs = pending.popleft()
            node, value = ray.get(refs[:2])  # one round trip; a split's second stays
            self.nodes[node] += 1
            return value, (refs[2] if split else None)

        for task in tasks:
            pending.append(remote.remote(fn, task, split))
            if len(pending) >= 2 * self.workers:
                yield collect()
        while pending:
            yield collect()

    def close(self) -> None:
        if self._started and self._ray.is_initialized():
            self._ray.shutdown()
            self._started = False


def _in_ray_worker(fn: Callable[[T], Any], task: T, split: bool) -> tuple[Any, ...]:
    """A task in one of this job's Ray workers, which only ever run build tasks: they
    are set up like the local engine's workers (see `assemble.process`; once per
    process, a no-op after). Returns the node it ran on, then fn's value (`split`:
    fn's two values, as two results)."""
    import ray

    from facedata.assemble.process import for_build_work

    for_build_work()
    node = ray.get_runtime_context().get_node_id()
    value = fn(task)
    return (node, *value) if split else (node, value)


def _warm_worker() -> None:
    """What a Ray worker imports and sets up before its first chunk (see `_warm`)."""
    import facedata.assemble.tasks  # noqa: F401  (the chunk and shard tasks)
    import facedata.faces.pipeline  # noqa: F401  (imported by the first sample)
    from facedata.assemble.process import for_build_work
    from facedata.faces.decode import _jpeg_opencv

    for_build_work()
    _jpeg_opencv()  # OpenCV loaded, and its JPEG decoder checked against Pillow's


def _package_dir() -> str:
    import facedata

    return str(Path(facedata.__file__).resolve().parent)


def _import_path() -> str:
    import facedata

    here = str(Path(facedata.__file__).resolve().parents[1])
    rest = os.environ.get("PYTHONPATH", "")
    return os.pathsep.join(p for p in (here, rest) if p)


ENGINES: dict[str, type[LocalEngine] | type[RayEngine]] = {
    "local": LocalEngine,
    "ray": RayEngine,
}


# engines started ahead of a build (`start_early`), by (name, workers), until taken
_EARLY: dict[tuple[str, int], Engine] = {}


def start_early(name: str, workers: int = 1) -> None:
    """Start an engine whose start is slow before the build's own start-up, which then
    overlaps it; the build's `get_engine` takes this instance.

    Ray's is, joining a running cluster (RAY_ADDRESS): connecting takes up to a
    second, and each of the job's workers a second more (its Python, Ray and facedata
    imports, see `RayEngine._warm`), while the driver spends most of a second on its
    own imports, the license gate and the first labels. A Ray instance the build
    starts itself is not started early: it takes seconds to start and to stop, which a
    build that ends early (refused by the license gate, or already up to date) would
    pay for nothing. A local pool forks in milliseconds. For a process that ends with
    its build (the CLI): an engine no build takes is closed at exit.
    """
    if name != "ray" or not os.environ.get("RAY_ADDRESS") or (name, workers) in _EARLY:
        return
    import atexit

    engine = RayEngine(workers)
    _EARLY[(name, workers)] = engine
    atexit.register(engine.close)


def get_engine(
    name: str, workers: int = 1, initializer: Callable[[], None] | None = None
) -> Engine:
    if name not in ENGINES:
        raise BuildError(f"unknown engine {name!r}", hint=f"one of: {', '.join(ENGINES)}")
    early = _EARLY.pop((name, workers), None)
    if early is not None:
        return early
    return ENGINES[name](workers, initializer)
