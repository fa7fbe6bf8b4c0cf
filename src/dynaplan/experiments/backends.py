"""Where tasks run: in this process, a local process pool, or Ray tasks on a cluster.

A backend maps a module-level function over tasks and yields ``(task, result)`` pairs as they
finish, in any order; the runner puts results back in plan order, so tables never depend on the
backend. ``ray`` is imported only when the Ray backend is chosen (``pip install dynaplan[ray]``).
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Protocol, TypeVar

T = TypeVar("T")
R = TypeVar("R")

BACKENDS = ("local", "ray")


class Backend(Protocol):
    """Runs ``fn`` on every task; yields ``(task, fn(task))`` as each finishes."""

    name: str

    def map_unordered(self, fn: Callable[[T], R], tasks: Sequence[T]) -> Iterator[tuple[T, R]]: ...

    def close(self) -> None: ...


class SerialBackend:
    """Every task in this process, in order (no start-up cost: the default for small jobs)."""

    name = "serial"

    def map_unordered(self, fn: Callable[[T], R], tasks: Sequence[T]) -> Iterator[tuple[T, R]]:
        for task in tasks:
            yield task, fn(task)

    def close(self) -> None:
        pass


def _ignore_sigint() -> None:
    # Ctrl-C goes to the whole process group: the parent handles it (records what is done and
    # stops the workers); a worker must not die half-way through a batch on its own.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class AdaptiveLocalBackend:
    """This process first, a pool when it pays: runs tasks here until one *warm* task (the first
    one loads the compiled kernels) has been timed; if the remaining tasks would take more than
    ``min_pool_seconds`` here, forks a ``LocalPoolBackend`` for them (the forked workers inherit
    the loaded kernels). Small sweeps (``dynaplan reproduce dyna-maze``) pay no pool start-up.
    """

    name = "local"

    def __init__(self, workers: int, max_retries: int = 3, min_pool_seconds: float = 1.0) -> None:
        self.workers = workers
        self.max_retries = max_retries
        self.min_pool_seconds = min_pool_seconds
        self._pool: LocalPoolBackend | None = None

    def map_unordered(self, fn: Callable[[T], R], tasks: Sequence[T]) -> Iterator[tuple[T, R]]:
        import time

        i = 0
        while i < len(tasks):
            t0 = time.perf_counter()
            result = fn(tasks[i])
            dt = time.perf_counter() - t0
            i += 1
            yield tasks[i - 1], result
            if i >= 2 and dt * (len(tasks) - i) > self.min_pool_seconds:
                break
        if i < len(tasks):
            self._pool = LocalPoolBackend(min(self.workers, len(tasks) - i), self.max_retries)
            yield from self._pool.map_unordered(fn, tasks[i:])

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool = None


class LocalPoolBackend:
    """A pool of ``workers`` local processes (fork on POSIX: no re-import, kernels cached on disk).

    When a worker dies (``BrokenProcessPool``), the unfinished tasks are resubmitted to a fresh
    pool; the sweep gives up after ``max_retries`` pool breaks in a row with no task finished.
    """

    name = "local"

    def __init__(self, workers: int, max_retries: int = 3) -> None:
        self.workers = max(1, int(workers))
        self.max_retries = max_retries
        self._pool: ProcessPoolExecutor | None = None

    def _new_pool(self) -> ProcessPoolExecutor:
        method = "fork" if sys.platform.startswith("linux") else "spawn"
        return ProcessPoolExecutor(self.workers, mp_context=mp.get_context(method), initializer=_ignore_sigint)

    def map_unordered(self, fn: Callable[[T], R], tasks: Sequence[T]) -> Iterator[tuple[T, R]]:
        retries = 0
        todo = list(tasks)
        while todo:
            self._pool = self._pool or self._new_pool()
            futures: dict[Future[R], T] = {self._pool.submit(fn, t): t for t in todo}
            todo = []
            finished_any = False
            try:
                while futures:
                    finished, _ = wait(futures, return_when=FIRST_COMPLETED)
                    for f in finished:
                        task = futures.pop(f)
                        try:
                            result = f.result()
                        except BrokenProcessPool:
                            todo.append(task)
                            continue
                        finished_any = True
                        yield task, result
            except BaseException:
                self.close(kill=True)
                raise
            if todo:
                retries = 1 if finished_any else retries + 1
                self.close(kill=True)
                if retries > self.max_retries:
                    raise RuntimeError(f"a worker process died {retries} times; giving up ({len(todo)} tasks left)")

    def close(self, kill: bool = False) -> None:
        pool, self._pool = self._pool, None
        if pool is None:
            return
        if kill:
            for p in list(getattr(pool, "_processes", {}).values()):
                if p.is_alive():
                    p.kill()
        pool.shutdown(wait=True, cancel_futures=True)


class RayBackend:
    """Ray tasks on a local instance or a cluster (``address``); ``max_retries`` re-runs a task
    whose worker process died. Connects to a running Ray if one is initialized in this process,
    else starts (and at ``close`` stops) one, or joins ``address`` (e.g. ``auto`` or
    ``ray://head:10001``)."""

    name = "ray"

    def __init__(self, address: str | None = None, max_retries: int = 3) -> None:
        try:
            import ray
        except ImportError:
            raise ValueError("the ray backend needs Ray: pip install 'dynaplan[ray]'") from None
        self._ray = ray
        self.max_retries = max_retries
        self._started = False
        if not ray.is_initialized():
            import logging

            kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False,
                                      "logging_level": logging.ERROR}
            if address:
                kwargs["address"] = address
            ray.init(**kwargs)
            self._started = True

    def map_unordered(self, fn: Callable[[T], R], tasks: Sequence[T]) -> Iterator[tuple[T, R]]:
        ray = self._ray
        remote = ray.remote(max_retries=self.max_retries, num_cpus=1)(fn)
        refs = {remote.remote(t): t for t in tasks}
        try:
            while refs:
                ready, _ = ray.wait(list(refs), num_returns=1)
                for ref in ready:
                    task = refs.pop(ref)
                    yield task, ray.get(ref)
        except BaseException:
            for ref in refs:
                ray.cancel(ref, force=True)
            raise

    def close(self) -> None:
        if self._started:
            self._ray.shutdown()
            self._started = False


def default_workers() -> int:
    """The number of cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def check_backend(name: str, workers: int | None = None, address: str | None = None, max_retries: int = 3) -> None:
    """ValueError (one line) for backend options that cannot work; imports nothing."""
    if name not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, got {name!r}")
    if workers is not None and (isinstance(workers, bool) or workers < 1):
        raise ValueError(f"workers must be a positive integer, got {workers}")
    if max_retries < 0:
        raise ValueError(f"max_retries must be >= 0, got {max_retries}")
    if address and name != "ray":
        raise ValueError("an address is for the ray backend (add --backend ray)")
    if name == "ray":
        import importlib.util

        if importlib.util.find_spec("ray") is None:
            raise ValueError("the ray backend needs Ray: pip install 'dynaplan[ray]'")


def make_backend(name: str = "local", *, workers: int | None = None, address: str | None = None,
                 n_tasks: int = 2, max_retries: int = 3) -> Backend:
    """The backend to use. ``local``: this process when ``workers`` is 1 or there is one task;
    a pool of ``workers`` processes when ``workers`` is given; by default (``workers=None``)
    this process until a timed task shows that a pool over the cores pays. ``ray``: Ray tasks."""
    check_backend(name, workers, address, max_retries)
    if name == "ray":
        return RayBackend(address, max_retries=max_retries)
    n = default_workers() if workers is None else workers
    n = min(n, n_tasks)
    if n <= 1:
        return SerialBackend()
    if workers is None:  # the default: decide from the cost of a warm task
        return AdaptiveLocalBackend(n, max_retries=max_retries)
    return LocalPoolBackend(n, max_retries=max_retries)
