"""Means over independent runs with 95% intervals: computed here, and only here.

A run is the unit: each run gives one value (its mean over what it measured), and the interval
is the normal approximation ``mean +- 1.96 * std(ddof=1) / sqrt(runs)``. ``mean_interval``
summarises one set of runs, ``mean_sem`` one set per group (the frames learning-curve figures
draw their bands from), ``per_run`` reduces a tidy table to one value per run.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = ["Z95", "mean_interval", "mean_sem", "per_run"]

Z95 = 1.96
"""Standard errors in a two-sided 95% normal interval."""


def mean_interval(values: Sequence[float] | np.ndarray | pd.Series) -> tuple[float, float, int]:
    """(mean, half width of the 95% interval, runs) of one value per run; the half width is NaN
    with fewer than two runs."""
    x = np.asarray(values, dtype=np.float64)
    n = len(x)
    if n == 0:
        return float("nan"), float("nan"), 0
    half = float(Z95 * x.std(ddof=1) / np.sqrt(n)) if n > 1 else float("nan")
    return float(x.mean()), half, n


def mean_sem(table: pd.DataFrame, by: list[str], column: str) -> pd.DataFrame:
    """Per group of ``by``: ``mean``, ``std`` (ddof 1), ``count`` and ``sem = std / sqrt(count)``
    of ``column``, one row a group (the band is ``mean +- Z95 * sem``). Each row of ``table``
    should be one independent run's value, so ``count`` is the number of runs."""
    out = table.groupby(by)[column].agg(["mean", "std", "count"]).reset_index()
    out["sem"] = out["std"] / np.sqrt(out["count"])
    return out


def per_run(table: pd.DataFrame, column: str, by: Sequence[str] = ()) -> pd.DataFrame:
    """One row per run (``seed``) and group of ``by``: the run's mean of ``column`` (a table
    without a ``seed`` column is taken as one row per run already)."""
    if "seed" not in table.columns:
        return table[[*by, column]].reset_index(drop=True)
    return table.groupby([*by, "seed"])[column].mean().reset_index()
