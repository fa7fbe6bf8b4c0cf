"""Expand an experiment into tasks, run them on a backend, keep their rows in a store.

A *task* is one cell and a batch of consecutive seeds of it (``Spec.batch_size()`` seeds: one
kernel call per batch, few tasks, little overhead per task). A task is a pure function of
(kind, cell, seeds): its rows do not depend on the process, the machine, the number of workers
or the order tasks run in. The runner puts the rows back in plan order (cells as
``Spec.expand`` lists them, seeds in order), so a spec gives the identical table with 1 worker,
2 workers or on Ray, whether it ran at once or was interrupted and resumed.

Seeds: run ``i`` of every cell uses ``run_seeds(root_seed, n)[i]``, the first word of
``SeedSequence(root_seed, spawn_key=(i,))``; from that seed the kind derives its streams
(``rng.agent_stream`` / ``rng.env_stream`` for the ``episodes`` kind).

* ``run_cells(kind, cells, seeds, progress=...)``: the rows, in memory (no store).
* ``run_spec(spec, out=DIR, ...)``: the same through a ``Store`` in ``DIR``: finished batches
  are skipped, corrupt or partial ones redone, ``results.parquet`` / ``.csv`` written at the end.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from dynaplan.core.modules import import_modules
from dynaplan.experiments.backends import Backend, check_backend, make_backend
from dynaplan.experiments.interrupts import Terminated as Terminated  # re-exported: the runner's interrupt
from dynaplan.experiments.interrupts import signals_interrupt
from dynaplan.experiments.kinds import CheckedCell, check_cell_once, get_kind
from dynaplan.experiments.spec import Spec, SpecError, canonical_json
from dynaplan.experiments.store import Store, check_resume, reuse_decision, to_parquet_bytes

Progress = Callable[[int], None]


@dataclass(frozen=True)
class Task:
    """One cell and a batch of its seeds.

    Attributes:
      kind: kind name; ``module``: the module registering it (imported by a worker if needed)
      cell_index: position of the cell in the plan; ``seed_start``: index of the first seed
      cell: the cell's keys; ``seeds``: the run seeds of this batch
      config_hash: sha256 of (kind, cell, seeds): the batch's identity in the store
    """

    kind: str
    module: str
    cell_index: int
    seed_start: int
    cell: Mapping[str, Any]
    seeds: tuple[int, ...]
    config_hash: str = field(default="")


def task_hash(kind: str, cell: Mapping[str, Any], seeds: Sequence[int]) -> str:
    """sha256 of what determines a batch's rows."""
    return hashlib.sha256(canonical_json({"kind": kind, "cell": dict(cell), "seeds": list(seeds)}).encode()).hexdigest()


def plan_tasks(kind: str, cells: Sequence[Mapping[str, Any]], seeds: Sequence[int], batch_size: int,
               module: str = "") -> list[Task]:
    """Tasks in plan order: for each cell, its seeds in batches of ``batch_size``. Each cell is
    checked once (``kinds.check_cell_once``: not again if validation checked it) and travels to
    the workers with what its kind's ``check`` returned (a ``CheckedCell``)."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    kind_rec = get_kind(kind, module)
    tasks = []
    for ci, plain in enumerate(cells):
        checked = check_cell_once(kind_rec, plain)
        cell = CheckedCell(plain, checked) if checked is not None else dict(plain)
        for start in range(0, len(seeds), batch_size):
            batch = tuple(int(s) for s in seeds[start : start + batch_size])
            tasks.append(Task(kind, module, ci, start, cell, batch, task_hash(kind, cell, batch)))
    return tasks


@dataclass(frozen=True)
class TaskOutput:
    """A task's rows and the seconds the kind took to produce them."""

    frame: pd.DataFrame
    duration: float


def execute_task(task: Task) -> TaskOutput:
    """Run one task (in any process, forked or fresh): the kind's ``run(cell, seeds)``, timed.

    The task's modules are imported first, always: a fresh process (spawn start method, a Ray
    worker, a SLURM job) knows only the package's own kinds and agents until it does."""
    import_modules(task.module)
    kind = get_kind(task.kind, task.module)
    t0 = time.perf_counter()
    frame = kind.run(task.cell, list(task.seeds))
    return TaskOutput(frame, time.perf_counter() - t0)


def _checked_bytes(task: Task, frame: Any) -> tuple[bytes, int]:
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"kind {task.kind!r} returned {type(frame).__name__}, not a DataFrame")
    if "seed" not in frame.columns:
        raise ValueError(f"kind {task.kind!r} returned a table without a 'seed' column")
    if not set(frame["seed"].unique()) <= set(task.seeds):
        raise ValueError(f"kind {task.kind!r} returned rows for seeds it was not given")
    return to_parquet_bytes(frame.reset_index(drop=True)), len(frame)


def _combine(tasks: Sequence[Task], blobs: Mapping[str, bytes], varying: Sequence[str], columns: Sequence[str],
             source: str) -> pd.DataFrame:
    """Rows in plan order (one Arrow concatenation of the batches' Parquet bytes, converted to
    pandas once), with the varying keys of each cell added as columns where the kind left them out."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if not tasks:
        return pd.DataFrame()
    parts = [pq.read_table(pa.BufferReader(blobs[t.config_hash]), use_threads=False) for t in tasks]
    arrow = pa.concat_tables(parts, promote_options="default")
    table = arrow.to_pandas()
    missing = [k for k in varying if k not in table.columns and any(k in t.cell for t in tasks)]
    for i, k in enumerate(missing):
        values: list[Any] = []
        for t, part in zip(tasks, parts):
            values += [t.cell.get(k)] * part.num_rows
        table.insert(i, k, pd.Series(values, dtype=object).infer_objects() if values else [])
    if columns:
        absent = [c for c in columns if c not in table.columns]
        if absent:
            raise SpecError(f"{source}: columns: the table has no column {', '.join(map(repr, absent))} "
                            f"(it has: {', '.join(map(str, table.columns))})")
        table = table[list(columns)]
    return table


def varying_keys(cells: Sequence[Mapping[str, Any]]) -> list[str]:
    """Keys whose value differs between cells, in first-seen order."""
    keys: list[str] = []
    for c in cells:
        keys += [k for k in c if k not in keys]
    return [k for k in keys if len({canonical_json(c.get(k)) for c in cells}) > 1]


def _run(tasks: Sequence[Task], backend: Backend, on_done: Callable[[Task, bytes, int, float], None]) -> None:
    """Every task on ``backend``, ``on_done`` for each. An interrupt leaves as ``Terminated``
    (SIGTERM, SIGHUP) or ``KeyboardInterrupt`` (Ctrl-C), also when it landed inside a batch run
    in this process (``batch.BatchInterrupted``, whose finished runs a batch does not keep)."""
    unique = list({t.config_hash: t for t in tasks}.values())
    try:
        for task, out in backend.map_unordered(execute_task, unique):
            data, rows = _checked_bytes(task, out.frame)
            on_done(task, data, rows, out.duration)
    except KeyboardInterrupt as exc:
        signum = getattr(exc, "signum", None)
        if signum is None or isinstance(exc, Terminated):
            raise
        raise Terminated(signum) from exc
    finally:
        backend.close()


def run_cells(
    kind: str,
    cells: Sequence[Mapping[str, Any]],
    seeds: Sequence[int],
    *,
    batch_size: int = 10,
    progress: Progress | None = None,
    workers: int | None = None,
    backend: str = "local",
    address: str | None = None,
) -> pd.DataFrame:
    """Every cell for every seed, ``batch_size`` seeds per task; ``progress(n)`` after each task.

    Rows come back in plan order (cells, then seeds), with the keys that differ between cells
    added as columns where the kind did not return them; each batch passes through Parquet, so
    the table equals the one ``run_spec`` stores. ``workers``: local processes (default: this
    process); for ``backend="ray"`` (or ``"slurm"``) leave it out, the cluster places the tasks.
    """
    get_kind(kind)
    tasks = plan_tasks(kind, cells, seeds, batch_size, get_kind(kind).module)
    blobs: dict[str, bytes] = {}

    def on_done(task: Task, data: bytes, rows: int, duration: float) -> None:
        blobs[task.config_hash] = data
        if progress is not None:
            progress(len(task.seeds))

    with signals_interrupt():
        if workers is None and backend == "local":
            workers = 1
        _run(tasks, make_backend(backend, workers=workers, address=address, n_tasks=len(tasks)), on_done)
    return _combine(tasks, blobs, varying_keys(cells), (), "<cells>")


@dataclass(frozen=True)
class SpecRun:
    """What ``run_spec`` did.

    Attributes:
      table: the combined tidy table
      runs_total: cells x seeds; runs_reused: runs found done in the store; runs_done: run now
      elapsed: seconds; paths: the combined table's files (empty without a store)
    """

    table: pd.DataFrame
    runs_total: int
    runs_reused: int
    runs_done: int
    elapsed: float
    paths: tuple[Path, ...] = ()


def _run_planned(spec: Spec, tasks: list[Task], cells: list[dict[str, Any]], blobs: dict[str, bytes],
                 store: Store | None, new_backend: Callable[[int], Backend],
                 progress: Progress | None, extra_manifest: Mapping[str, Any] | None,
                 on_plan: Callable[[int, int], None] | None) -> tuple[int, int, pd.DataFrame, tuple[Path, ...]]:
    reused = 0
    if store is not None:
        header = {"name": spec.name, "kind": spec.kind, "spec_hash": spec.config_hash(), "seeds": spec.seeds,
                  "root_seed": spec.root_seed, "cells": len(cells), **(extra_manifest or {})}
        plan = [{"config_hash": t.config_hash, "cell_index": t.cell_index, "seed_start": t.seed_start,
                 "cell": dict(t.cell), "seeds": list(t.seeds)} for t in tasks]
        done = store.begin(spec.to_toml(), header, plan)
        for t in tasks:
            if t.config_hash in done and t.config_hash not in blobs:
                data = store.load_bytes(t.config_hash)
                if data is not None:
                    blobs[t.config_hash] = data
        reused = sum(len(t.seeds) for t in tasks if t.config_hash in blobs)
        if progress is not None and reused and on_plan is None:
            progress(reused)
    if on_plan is not None:
        on_plan(sum(len(t.seeds) for t in tasks), reused)
    pending = [t for t in tasks if t.config_hash not in blobs]
    ran = 0

    def on_done(task: Task, data: bytes, rows: int, duration: float) -> None:
        nonlocal ran
        if store is not None:
            store.save(task.config_hash, data, rows, duration)
        blobs[task.config_hash] = data
        ran += len(task.seeds)
        if progress is not None:
            progress(len(task.seeds))

    n_unique = len({t.config_hash for t in pending})
    try:
        if pending:
            _run(pending, new_backend(n_unique), on_done)
        table = _combine(tasks, blobs, spec.varying_keys(), spec.columns, spec.source)
    except KeyboardInterrupt:
        if store is not None:
            store.mark("interrupted")
        raise
    except BaseException as exc:
        if store is not None:
            store.mark("failed", error=" ".join(str(exc).split())[:500])
        raise
    paths = store.finish(table) if store is not None else ()
    return reused, ran, table, paths


def total_runs(spec: Spec) -> int:
    """Cells x seeds."""
    return len(spec.expand()) * spec.seeds


def run_spec(
    spec: Spec,
    out: Path | None = None,
    *,
    workers: int | None = None,
    backend: str = "local",
    address: str | None = None,
    max_retries: int = 3,
    progress: Progress | None = None,
    extra_manifest: Mapping[str, Any] | None = None,
    on_plan: Callable[[int, int], None] | None = None,
    backend_options: Mapping[str, Any] | None = None,
    overwrite: bool = False,
    resume: bool = False,
) -> SpecRun:
    """Run a (validated) spec; with ``out``, through a ``Store`` there (resuming what is done).

    ``workers``: local processes (``workers=1`` or a single task: this process; default: this
    process until a timed task shows that a pool over the cores pays, see
    ``backends.AdaptiveLocalBackend``). ``backend``: ``local`` or ``ray`` (``address`` of a cluster; ``max_retries``
    re-runs a task whose worker died; ``slurm``: SLURM jobs, ``backend_options`` as
    ``backends.SlurmBackend`` takes them). A Ray or SLURM backend is set up before the store is
    touched: no cluster at ``address`` is an error (``BackendError``) that leaves the store as it
    was. ``on_plan(total, reused)``: called once with the number
    of runs and of those found done in the store; ``progress(n)``: called with the runs
    finished by each task (with the reused runs first if there is no ``on_plan``).

    The store follows the CLI's rule (``store.reuse_decision``): ``out`` may be new, hold this
    experiment (its finished runs are reused) or another one whose finished runs are all part of
    this plan (more seeds: extended); finished runs of another experiment are never discarded
    unless ``overwrite`` (``--overwrite``), else ``store.OtherExperiment`` (a ``StoreError``, a
    ``ValueError``); a directory with other files and no store is refused whatever
    ``overwrite`` says (``store.NotAStore``), and an experiment being extended or replaced stays
    whole until the new one has finished. ``resume`` (``--resume``): ``out`` must hold this very
    experiment (``store.check_resume``). Every check runs before anything is written.

    Interrupts: SIGTERM and SIGHUP raise ``Terminated`` (a ``KeyboardInterrupt``; ``signum`` the
    signal), Ctrl-C ``KeyboardInterrupt``, wherever the signal lands (between batches or inside
    one, see ``experiments.interrupts``); the store is then marked ``interrupted``, its finished
    batches kept and its lock released.
    """
    t0 = time.perf_counter()
    check_backend(backend, workers, address, max_retries, backend_options)
    kind = get_kind(spec.kind, spec.module)
    cells = spec.expand()
    tasks = plan_tasks(spec.kind, cells, spec.run_seeds(), spec.batch_size(), spec.module or kind.module)
    blobs: dict[str, bytes] = {}
    decision = None
    if out is not None:
        if resume:
            check_resume(out, spec)
        decision = reuse_decision(out, spec, overwrite=overwrite, planned={t.config_hash for t in tasks})
    remote = None
    if backend != "local":  # connect first: a missing cluster must not touch the store
        remote = make_backend(backend, address=address, max_retries=max_retries, options=backend_options)

    def new_backend(n_tasks: int) -> Backend:
        if remote is not None:
            return remote
        return make_backend(backend, workers=workers, n_tasks=n_tasks, max_retries=max_retries)

    # extending or replacing another experiment: it stays whole until this one has finished
    store = Store(out, replacing=decision in ("replace", "extend")) if out is not None else None
    with signals_interrupt():
        try:
            reused, ran, table, paths = _run_planned(spec, tasks, cells, blobs, store, new_backend, progress,
                                                     extra_manifest, on_plan)
        finally:
            if remote is not None:
                remote.close()
            if store is not None:
                store.close()
    return SpecRun(table, sum(len(t.seeds) for t in tasks), reused, ran, time.perf_counter() - t0, paths)
