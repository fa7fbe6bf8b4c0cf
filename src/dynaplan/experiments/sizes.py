"""How big an experiment's results will be, computed from its spec before anything runs.

A tidy table has one row per observation; for kinds with ``episodes`` (or ``steps``) in their
cells a run gives at most that many rows, other kinds are counted at one row per run (a lower
bound). Memory is counted for the rows three times over (the kernels' arrays, the Arrow table
the batches are joined in, the pandas table) plus the plan (a task record per batch of seeds):
a deliberate over-estimate, used to refuse a spec that cannot fit, with one line, before the
machine starts swapping.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from dynaplan.experiments.spec import Spec, SpecError
from dynaplan.memory import available_memory, human_bytes

#: Bytes of plan per task (its record, its manifest entry) and of result per table cell.
TASK_BYTES = 2_000
VALUE_BYTES = 8
#: Columns of a tidy table when the spec does not choose them (seed, episode, steps, return, ...).
DEFAULT_COLUMNS = 6


@dataclass(frozen=True)
class Estimate:
    """The size of a spec's results.

    Attributes:
      cells, runs, tasks: cells, cells x seeds, batches of seeds (tasks)
      rows_per_run: the most rows one run can give (``episodes`` or ``steps``; 1 if neither)
      rows: runs x rows_per_run (an upper bound for episodes kinds)
      columns: columns of the table
      memory: bytes of memory the run needs at most; disk: bytes of CSV + Parquet at most
      per_run_key: where the rows per run are set (``params.episodes``...), ``""`` if nowhere
    """

    cells: int
    runs: int
    tasks: int
    rows_per_run: int
    rows: int
    columns: int
    memory: int
    disk: int
    per_run_key: str

    def line(self) -> str:
        """One line for the terminal, e.g. ``3 cells x 30 runs: at most 4,500 rows (...)``."""
        cells, runs = self.cells, self.runs // max(1, self.cells)
        return (f"{cells:,} cell{'s' * (cells != 1)} x {runs:,} run{'s' * (runs != 1)}: at most {self.rows:,} rows "
                f"(about {human_bytes(self.disk)} on disk, {human_bytes(self.memory)} of memory)")


def _per_run(spec: Spec) -> tuple[int, str]:
    """The most rows one run gives and where that is set."""
    for key in ("episodes", "steps"):
        values: list[tuple[int, str]] = []
        if key in spec.params:
            values.append((spec.params[key], f"params.{key}"))
        if key in spec.grid:
            values += [(v, f"grid.{key}") for v in spec.grid[key]]
        values += [(c[key], f"cells[{j}].{key}") for j, c in enumerate(spec.cells) if key in c]
        ints = [(int(v), where) for v, where in values if isinstance(v, int) and not isinstance(v, bool)]
        if ints:
            return max(ints)
    return 1, ""


def estimate(spec: Spec) -> Estimate:
    """The size of ``spec``'s results (no cell is expanded, no seed drawn)."""
    cells = spec.n_cells()
    runs = cells * spec.seeds
    tasks = cells * math.ceil(spec.seeds / spec.batch_size())
    per_run, where = _per_run(spec)
    rows = runs * max(1, per_run)
    columns = len(spec.columns) or DEFAULT_COLUMNS + len(spec.varying_keys())
    memory = 3 * rows * columns * VALUE_BYTES + tasks * TASK_BYTES
    disk = rows * columns * (VALUE_BYTES + 12)  # Parquet (8 per value at most) + CSV (about 12 characters)
    return Estimate(cells, runs, tasks, per_run, rows, columns, memory, disk, where)


def check_fits(spec: Spec, available: int | None = None) -> Estimate:
    """The estimate of ``spec``; ``SpecError`` (one line naming what to lower) if its memory
    exceeds ``available`` (default: this machine's available memory)."""
    est = estimate(spec)
    available = available_memory() if available is None else available
    if est.memory <= available:
        return est
    one_run = 3 * est.rows_per_run * est.columns * VALUE_BYTES
    if est.per_run_key and one_run * spec.batch_size() > available:
        key, fix = est.per_run_key, f"lower {est.per_run_key.rsplit('.', 1)[-1]}"
    else:
        key, fix = "seeds", "lower seeds (--runs) or the number of cells"
    raise SpecError(f"{spec.source}: {key}: {est.line()}; this machine has {human_bytes(available)} of memory "
                    f"available: {fix}")
