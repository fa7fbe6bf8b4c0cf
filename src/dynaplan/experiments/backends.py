"""Where tasks run: in this process, a local process pool, Ray tasks, or SLURM jobs.

A backend maps a module-level function over tasks and yields ``(task, result)`` pairs as they
finish, in any order; the runner puts results back in plan order, so tables never depend on the
backend. ``ray`` is imported only when the Ray backend is chosen (``pip install dynaplan[ray]``),
``submitit`` only for the SLURM backend (``pip install dynaplan[slurm]``).

Workers never outlive the run: local pool workers ignore SIGINT, SIGTERM and SIGHUP (the parent
handles them, see ``interrupts.signals_interrupt``, and kills its workers), die with their parent
(``PR_SET_PDEATHSIG`` on Linux), and close the store lock they inherit by forking. Ray tasks and
SLURM jobs still running when a run is interrupted are cancelled.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import pickle
import signal
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Protocol, TypeVar

T = TypeVar("T")
R = TypeVar("R")

BACKENDS = ("local", "ray", "slurm")
START_METHODS = ("fork", "spawn", "forkserver")


class BackendError(ValueError):
    """A backend that cannot start (one line: no cluster at an address, a bad option...)."""


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


def _die_with_parent() -> None:
    """Ask Linux to SIGKILL this process when its parent ends (a no-op elsewhere)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG = 1
    except (OSError, AttributeError):  # pragma: no cover - no libc prctl
        pass


def _worker_init(parent: int) -> None:
    # Ctrl-C, kill and a closed terminal go to the whole process group: the parent handles them
    # (records what is done and kills the workers); a worker must not die half-way through a
    # batch on its own, nor outlive its parent (which would keep working and hold the lock).
    for sig in (signal.SIGINT, signal.SIGTERM, getattr(signal, "SIGHUP", None)):
        if sig is not None:
            signal.signal(sig, signal.SIG_IGN)
    _die_with_parent()
    if os.getppid() != parent:  # the parent ended before PR_SET_PDEATHSIG was set
        os._exit(1)
    from dynaplan.experiments.store import release_inherited_locks

    release_inherited_locks()


def start_method(method: str | None = None) -> str:
    """The multiprocessing start method of local pools: ``method``, else ``$DYNAPLAN_START_METHOD``,
    else ``fork`` on Linux (workers inherit the loaded kernels) and ``spawn`` elsewhere, and
    ``spawn`` whenever JAX is loaded in this process (JAX's threads do not survive a fork)."""
    fork_ok = sys.platform.startswith("linux") and "jax" not in sys.modules
    method = method or os.environ.get("DYNAPLAN_START_METHOD") or ("fork" if fork_ok else "spawn")
    if method not in START_METHODS:
        raise BackendError(f"start method must be one of {', '.join(START_METHODS)}, got {method!r} "
                           "(DYNAPLAN_START_METHOD)")
    return method


def _user_paths() -> list[str]:
    """The submitting process's own ``sys.path`` entries (not site-packages), absolute: ``""``
    (the directory the user ran in) included, as a worker may start in another directory."""
    paths = [os.path.abspath(p or os.curdir) for p in sys.path if "site-packages" not in p and "dist-packages" not in p]
    return list(dict.fromkeys(paths))


def _load_in_path(paths: Sequence[str], payload: bytes) -> Any:
    """``payload`` unpickled once ``paths`` (``_user_paths`` of the submitting process) are on
    ``sys.path``: a fresh worker (a Ray worker, a SLURM job) then imports the user's modules as
    the submitting process did, those named by ``module`` and those the pickle itself names (the
    class of a user's agent travels in a task's checked cell). Arguments of a remote call are
    unpickled before the call runs, so tasks travel to fresh workers as bytes made by ``_pack``."""
    for p in paths:
        if p not in sys.path and os.path.isdir(p):
            sys.path.append(p)
    return pickle.loads(payload)


def _pack(fn: Callable[[T], R], tasks: Any) -> bytes:
    """``(fn, tasks)`` pickled by ``cloudpickle`` (as Ray and submitit pickle: a function or class of
    a user's ``__main__`` travels by value). Ray ships its own copy; submitit requires the package."""
    try:
        import cloudpickle
    except ImportError:  # pragma: no cover - Ray alone
        from ray import cloudpickle
    return bytes(cloudpickle.dumps((fn, tasks)))


def _call_in_path(paths: Sequence[str], payload: bytes) -> Any:
    """One task in a fresh worker: ``fn(task)`` for ``payload = _pack(fn, task)``."""
    fn, task = _load_in_path(paths, payload)
    return fn(task)


class AdaptiveLocalBackend:
    """This process first, a pool when it pays: runs tasks here until one *warm* task (the first
    one loads the compiled kernels) has been timed; if the remaining tasks would take more than
    ``min_pool_seconds`` here, forks a ``LocalPoolBackend`` for them (the forked workers inherit
    the loaded kernels). Small sweeps (``dynaplan reproduce dyna-maze``) pay no pool start-up.
    """

    name = "local"

    def __init__(self, workers: int, max_retries: int = 3, min_pool_seconds: float = 1.0,
                 method: str | None = None) -> None:
        self.workers = workers
        self.max_retries = max_retries
        self.min_pool_seconds = min_pool_seconds
        self.method = method
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
            self._pool = LocalPoolBackend(min(self.workers, len(tasks) - i), self.max_retries, self.method)
            yield from self._pool.map_unordered(fn, tasks[i:])

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool = None


class LocalPoolBackend:
    """A pool of ``workers`` local processes (fork on Linux: no re-import, kernels cached on disk;
    ``method`` or ``$DYNAPLAN_START_METHOD`` chooses, see ``start_method``).

    When a worker dies (``BrokenProcessPool``), the unfinished tasks are resubmitted to a fresh
    pool; the sweep gives up after ``max_retries`` pool breaks in a row with no task finished.
    """

    name = "local"

    def __init__(self, workers: int, max_retries: int = 3, method: str | None = None) -> None:
        self.workers = max(1, int(workers))
        self.max_retries = max_retries
        self.method = start_method(method)
        self._pool: ProcessPoolExecutor | None = None

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(self.workers, mp_context=mp.get_context(self.method), initializer=_worker_init,
                                   initargs=(os.getpid(),))

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


PROBE_SECONDS = 2.0
"""How long ``probe_ray_address`` waits for a TCP connection to an explicit Ray address."""


def probe_ray_address(address: str | None, timeout: float = PROBE_SECONDS) -> None:
    """``BackendError`` (one line naming the address) unless something accepts a TCP connection
    at an explicit Ray address: ``host:port`` (a cluster's GCS) or ``ray://host:port`` (Ray
    Client); with no ``address``, ``$RAY_ADDRESS`` is what Ray would join. ``auto``, ``local``
    and addresses of another form are left to Ray.

    Ray itself retries an address where nothing listens for minutes (its GCS client's
    time-outs); a refused or unanswered connection here ends the run in ``timeout`` seconds at
    most, before anything is started or written.
    """
    given = address or os.environ.get("RAY_ADDRESS", "")
    target = given.strip()
    for scheme in ("ray://", "rays://"):
        target = target.removeprefix(scheme)
    host, sep, port = target.rpartition(":")
    if not sep or not port.isdigit() or "/" in target or not 0 < int(port) < 65536:
        return
    host = host.strip("[]") or "127.0.0.1"
    where = f"address {given!r}" + ("" if address else " (from RAY_ADDRESS)")
    import socket

    try:
        with socket.create_connection((host, int(port)), timeout=timeout):
            pass
    except ConnectionRefusedError:
        problem = "connection refused: nothing listens on that port"
    except TimeoutError:
        problem = f"no answer within {timeout:g} s"
    except OSError as exc:
        problem = " ".join((exc.strerror or str(exc)).split())
    else:
        return
    raise BackendError(f"no Ray cluster was found at {where} ({problem}); start one with `ray start --head` "
                       "and give the address it prints, or drop --address to start a local Ray")


class RayBackend:
    """Ray tasks on a local instance or a cluster (``address``); ``max_retries`` re-runs a task
    whose worker process died. Connects to a running Ray if one is initialized in this process,
    else starts (and at ``close`` stops) one, or joins ``address`` (e.g. ``auto`` or
    ``ray://head:10001``)."""

    name = "ray"

    def __init__(self, address: str | None = None, max_retries: int = 3) -> None:
        running = sys.modules.get("ray")
        if running is None or not running.is_initialized():  # else the running Ray is used
            probe_ray_address(address)
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
            try:
                ray.init(**kwargs)
            except ConnectionError as exc:
                raise BackendError(f"no Ray cluster was found at address {address!r} (start one with "
                                   "`ray start --head`, or drop --address to start a local Ray)") from exc
            self._started = True

    def map_unordered(self, fn: Callable[[T], R], tasks: Sequence[T]) -> Iterator[tuple[T, R]]:
        ray = self._ray
        remote = ray.remote(max_retries=self.max_retries, num_cpus=1)(_call_in_path)
        paths = _user_paths()
        refs = {remote.remote(paths, _pack(fn, t)): t for t in tasks}
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


SLURM_GENERIC = ("timeout_min", "mem_gb", "gpus_per_node", "cpus_per_task", "nodes", "tasks_per_node", "name",
                 "stderr_to_stdout")
"""submitit's cluster-independent job parameters; any other key is a SLURM one (``partition``
or ``slurm_partition``, ``account``, ``qos``, ``array_parallelism``, ``additional_parameters``...)."""


RESULT_WAIT = 15
"""Seconds a SLURM job reported ended is waited for its result file (submitit's own default)."""


def _run_job(paths: Sequence[str], payload: bytes) -> list[Any]:
    """One SLURM job: ``fn`` on each of its tasks, in order, for ``payload = _pack(fn, tasks)``."""
    fn, tasks = _load_in_path(paths, payload)
    return [fn(t) for t in tasks]


class SlurmBackend:
    """SLURM jobs through ``submitit``: the tasks (each a batch of seeds) are grouped into at most
    ``max_jobs`` jobs, submitted as one job array; results come back as jobs finish. A job that
    fails (node failure, preemption, time limit) is resubmitted up to ``max_retries`` times.

    ``options``: submitit's parameters (``timeout_min``, ``mem_gb``, ``cpus_per_task``, ``name``,
    and SLURM's own with or without the ``slurm_`` prefix: ``partition``, ``account``, ``qos``,
    ``array_parallelism``, ``additional_parameters``...), plus dynaplan's ``max_jobs`` (default 64),
    ``folder`` (submitit's logs and pickles, default ``./dynaplan-slurm/%j``; on a cluster it must
    be on a file system the nodes share), ``cluster`` (``slurm``, default when ``sbatch`` is
    found; ``local`` runs the jobs as local processes through the same submitit code path;
    ``debug`` runs them in this process) and ``result_wait`` (whole seconds to wait for the result file
    of a job SLURM reports ended before it counts as failed, default ``RESULT_WAIT``: on a shared
    file system the file may appear late; a job counted as failed too early is only run again).
    """

    name = "slurm"

    def __init__(self, options: Mapping[str, Any] | None = None, max_retries: int = 3, poll: float = 0.2) -> None:
        try:
            import submitit
        except ImportError:
            raise BackendError("the slurm backend needs submitit: pip install 'dynaplan[slurm]'") from None
        opts = dict(options or {})
        check_slurm_options(opts)
        self.max_jobs = int(opts.pop("max_jobs", 64))
        self.result_wait = int(opts.pop("result_wait", RESULT_WAIT))
        folder = str(opts.pop("folder", os.path.join("dynaplan-slurm", "%j")))
        cluster = opts.pop("cluster", None)
        params = {k if k in SLURM_GENERIC or k.startswith(("slurm_", "local_", "debug_")) else f"slurm_{k}": v
                  for k, v in opts.items()}
        params.setdefault("cpus_per_task", 1)
        try:
            self._executor = submitit.AutoExecutor(folder=folder, cluster=cluster)
            self._executor.update_parameters(**params)
        except (NameError, AssertionError, TypeError, ValueError, RuntimeError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise BackendError(f"slurm options: {first}") from None
        self.cluster = self._executor.cluster
        self.max_retries = max_retries
        self.poll = poll
        self._jobs: list[Any] = []

    def map_unordered(self, fn: Callable[[T], R], tasks: Sequence[T]) -> Iterator[tuple[T, R]]:
        n_jobs = min(self.max_jobs, len(tasks))
        if n_jobs == 0:
            return
        per_job = -(-len(tasks) // n_jobs)
        groups = [list(tasks[i : i + per_job]) for i in range(0, len(tasks), per_job)]
        paths = _user_paths()
        pending = {id(j): (j, g, 0) for j, g in zip(self._submit(fn, paths, groups), groups)}
        try:
            import time

            while pending:
                finished = [(j, g, r) for j, g, r in pending.values() if j.done()]
                if not finished:
                    time.sleep(self.poll)
                    continue
                for job, group, retries in finished:
                    del pending[id(job)]
                    exc = job.exception()
                    if exc is None:
                        yield from zip(group, job.result())
                        continue
                    if retries >= self.max_retries:
                        raise BackendError(f"slurm job {job.job_id} failed {retries + 1} times; giving up: "
                                           f"{' '.join(str(exc).split())[:300]}")
                    (again,) = self._submit(fn, paths, [group])
                    pending[id(again)] = (again, group, retries + 1)
        except BaseException:
            for job, _, _ in pending.values():
                with contextlib.suppress(Exception):  # best effort: the job may be gone already
                    job.cancel(check=False)
            raise

    def _submit(self, fn: Callable[[T], R], paths: list[str], groups: list[list[T]]) -> list[Any]:
        from submitit.core.utils import FailedJobError

        try:
            jobs = self._executor.map_array(_run_job, [paths] * len(groups), [_pack(fn, g) for g in groups])
        except FailedJobError as exc:  # sbatch refused (no controller, bad partition...): its last line
            lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
            raise BackendError(f"sbatch refused the jobs: {lines[-1] if lines else 'no reason given'}") from None
        for job in jobs:
            job._results_timeout_s = self.result_wait  # submitit's wait for a late result file
        self._jobs += jobs
        return list(jobs)

    def close(self) -> None:
        self._jobs = []


def default_workers() -> int:
    """The number of cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def check_backend(name: str, workers: int | None = None, address: str | None = None, max_retries: int = 3,
                  options: Mapping[str, Any] | None = None) -> None:
    """ValueError (one line) for backend options that cannot work; imports nothing."""
    if name not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, got {name!r}")
    if workers is not None and (isinstance(workers, bool) or workers < 1):
        raise ValueError(f"workers must be a positive integer, got {workers}")
    if max_retries < 0:
        raise ValueError(f"max_retries must be >= 0, got {max_retries}")
    if address and name != "ray":
        raise ValueError("an address is for the ray backend (add --backend ray)")
    if workers is not None and name != "local":
        raise ValueError(f"workers is for the local backend; the {name} backend places tasks on its own cores "
                         "(drop --workers)")
    if options and name != "slurm":
        raise ValueError("slurm options are for the slurm backend (add --backend slurm)")
    import importlib.util

    if name == "ray" and importlib.util.find_spec("ray") is None:
        raise ValueError("the ray backend needs Ray: pip install 'dynaplan[ray]'")
    if name == "slurm" and importlib.util.find_spec("submitit") is None:
        raise ValueError("the slurm backend needs submitit: pip install 'dynaplan[slurm]'")
    if name == "slurm":
        check_slurm_options(options or {})


SLURM_COUNTS = {"timeout_min": 1, "cpus_per_task": 1, "nodes": 1, "tasks_per_node": 1, "gpus_per_node": 0,
                "max_jobs": 1, "result_wait": 0}
"""Integer job options and their least value (``mem_gb`` is a positive number)."""


def check_slurm_options(options: Mapping[str, Any]) -> None:
    """ValueError (one line) for SLURM options that cannot work: a count out of range, or no
    ``sbatch`` on PATH (unless ``cluster`` is ``local`` or ``debug``: submitit would otherwise
    run the jobs locally without a word)."""
    import shutil

    for key, low in SLURM_COUNTS.items():
        value = options.get(key, low)
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ValueError(f"slurm option {key} must be an integer >= {low}, got {value!r}")
    mem = options.get("mem_gb", 1)
    if isinstance(mem, bool) or not isinstance(mem, int | float) or not 0 < mem < float("inf"):
        raise ValueError(f"slurm option mem_gb must be a positive number, got {mem!r}")
    cluster = options.get("cluster", "slurm")
    if cluster not in ("slurm", "local", "debug"):
        raise ValueError(f"slurm option cluster must be slurm, local or debug, got {cluster!r}")
    if cluster == "slurm" and shutil.which("sbatch") is None:
        raise ValueError("the slurm backend needs SLURM's sbatch, which is not on PATH "
                         "(--slurm cluster=local runs the jobs as local processes instead)")


def make_backend(name: str = "local", *, workers: int | None = None, address: str | None = None,
                 n_tasks: int = 2, max_retries: int = 3, options: Mapping[str, Any] | None = None) -> Backend:
    """The backend to use. ``local``: this process when ``workers`` is 1 or there is one task;
    a pool of ``workers`` processes when ``workers`` is given; by default (``workers=None``)
    this process until a timed task shows that a pool over the cores pays. ``ray``: Ray tasks.
    ``slurm``: SLURM jobs (``options``: see ``SlurmBackend``)."""
    check_backend(name, workers, address, max_retries, options)
    if name == "ray":
        return RayBackend(address, max_retries=max_retries)
    if name == "slurm":
        return SlurmBackend(options, max_retries=max_retries)
    n = default_workers() if workers is None else workers
    n = min(n, n_tasks)
    if n <= 1:
        return SerialBackend()
    if workers is None:  # the default: decide from the cost of a warm task
        return AdaptiveLocalBackend(n, max_retries=max_retries)
    return LocalPoolBackend(n, max_retries=max_retries)
