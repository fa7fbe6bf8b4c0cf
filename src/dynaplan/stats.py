"""Means over independent runs with 95% intervals: computed here, and only here.

A run is the unit: each run gives one value (its mean over what it measured). Two 95% intervals,
each written once:

* the normal approximation ``mean +- 1.96 * std(ddof=1) / sqrt(runs)`` (``mean_interval``,
  ``normal_band``): the tabular summaries, 30 runs and more;
* Student's t, ``mean +- t(0.975, runs - 1) * std(ddof=1) / sqrt(runs)`` (``t_interval``,
  ``t_half``): few runs (the neural family's 5), where 1.96 would be too narrow.

For a statistic whose runs may be cut off (infinitely costly), ``median_interval`` (order
statistics, distribution-free) and ``ratio_interval`` (bootstrap of a ratio of medians).

For a yes / no outcome per run (did the run reach the goal?), ``proportion_interval`` (Wilson's
score interval for the share of runs), ``difference_interval`` (the difference of two shares,
Newcombe's square-and-add of the two Wilson intervals) and ``mcnemar_exact`` (two agents on the
same runs: the exact test on the discordant pairs).

``mean_sem`` summarises one set of runs per group (the frames learning-curve figures draw their
bands from), ``per_run`` reduces a tidy table to one value per run.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["Z95", "difference_interval", "mcnemar_exact", "mean_interval", "mean_sem", "median_interval",
           "normal_band", "per_run", "proportion_interval", "ratio_interval", "t_half", "t_interval", "t_quantile"]

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


def t_quantile(runs: int | np.ndarray | pd.Series) -> Any:
    """Student's t quantile 0.975 with ``runs - 1`` degrees of freedom (NaN below two runs); a
    number for a number, an array for an array of run counts."""
    from scipy import stats  # imported here: ``import dynaplan`` stays free of scipy

    count = np.asarray(runs, dtype=np.float64)
    q = np.where(count > 1, stats.t.ppf(0.975, np.maximum(count - 1, 1)), np.nan)
    return float(q) if q.ndim == 0 else q


def t_half(std: Any, runs: Any) -> Any:
    """Half width of the 95% t-interval: ``t_quantile(runs) * std / sqrt(runs)`` (elementwise)."""
    return t_quantile(runs) * std / np.sqrt(runs)


def t_interval(values: Sequence[float] | np.ndarray | pd.Series) -> tuple[float, float, int]:
    """(mean, half width of the 95% t-interval, runs) of one value per run; the half width is NaN
    with fewer than two runs."""
    x = np.asarray(values, dtype=np.float64)
    n = len(x)
    if n == 0:
        return float("nan"), float("nan"), 0
    half = float(t_half(x.std(ddof=1), n)) if n > 1 else float("nan")
    return float(x.mean()), half, n


def normal_band(mean: pd.Series, sem: pd.Series) -> tuple[pd.Series, pd.Series]:
    """(low, high) of the 95% normal band ``mean -+ Z95 * sem`` (a group of one run: no width)."""
    half = Z95 * sem.fillna(0)
    return mean - half, mean + half


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


def median_interval(values: np.ndarray) -> tuple[float, float, float]:
    """Median of independent runs and its distribution-free 95% interval (order statistics:
    the ranks ``j`` and ``n + 1 - j`` with ``P(Binomial(n, 1/2) < j) <= 0.025``); nan bounds
    when there are too few runs (fewer than 6) for one. Cut-off runs (inf) sort last."""
    from scipy import stats

    x = np.sort(np.asarray(values, dtype=float))
    n = len(x)
    median = float(np.median(x)) if n else math.nan
    j = int(stats.binom.ppf(0.025, n, 0.5)) if n else 0  # P(B <= j - 1) <= 0.025 < P(B <= j)
    if j < 1:
        return median, math.nan, math.nan
    return median, float(x[j - 1]), float(x[n - j])


def ratio_interval(num: np.ndarray, den: np.ndarray, resamples: int = 2000,
                   seed: int = 0) -> tuple[float, float, float]:
    """``median(num) / median(den)`` and its 95% bootstrap interval, resampling the runs of each
    agent independently (percentile method, fixed seed: the summary is a function of the table)."""
    ratio = float(np.median(num) / np.median(den))
    if not np.isfinite(ratio) or len(num) < 2 or len(den) < 2:
        return ratio, math.nan, math.nan
    rng = np.random.default_rng(seed)
    a = np.median(rng.choice(num, size=(resamples, len(num))), axis=1)
    b = np.median(rng.choice(den, size=(resamples, len(den))), axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        lo, hi = np.quantile(a / b, [0.025, 0.975])
    return ratio, float(lo), float(hi)


def proportion_interval(successes: int, runs: int) -> tuple[float, float, float]:
    """(share, low, high): the share ``successes / runs`` of runs with an outcome and its 95% Wilson
    score interval (Wilson 1927; Newcombe 1998, method 3: without continuity correction), which
    stays inside [0, 1] and keeps its coverage at 0 or ``runs`` successes, where the normal
    approximation has width zero. NaN for no runs."""
    from scipy import stats

    if runs <= 0:
        return math.nan, math.nan, math.nan
    if not 0 <= successes <= runs:
        raise ValueError(f"successes must be in [0, runs], got {successes} of {runs}")
    z = float(stats.norm.ppf(0.975))
    p = successes / runs
    centre = p + z * z / (2 * runs)
    half = z * math.sqrt(p * (1 - p) / runs + z * z / (4 * runs * runs))
    scale = 1 + z * z / runs
    return p, max(0.0, (centre - half) / scale), min(1.0, (centre + half) / scale)


def difference_interval(successes_1: int, runs_1: int, successes_2: int,
                        runs_2: int) -> tuple[float, float, float]:
    """(difference, low, high): ``p1 - p2`` of two shares and its 95% interval by Newcombe's
    hybrid score method (Newcombe 1998, Statistics in Medicine 17, 873-890, method 10): with
    ``(l_i, u_i)`` each share's Wilson interval, ``low = d - sqrt((p1 - l1)^2 + (u2 - p2)^2)``,
    ``high = d + sqrt((u1 - p1)^2 + (p2 - l2)^2)``. It treats the two sets of runs as independent:
    for two agents on the same seeds, positively correlated outcomes make it conservative (the
    paired test is :func:`mcnemar_exact`)."""
    p1, l1, u1 = proportion_interval(successes_1, runs_1)
    p2, l2, u2 = proportion_interval(successes_2, runs_2)
    d = p1 - p2
    return d, d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2), d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)


def mcnemar_exact(only_first: int, only_second: int) -> float:
    """Two-sided exact McNemar p-value for paired yes / no outcomes (two agents on the same runs):
    ``only_first`` runs where only the first agent had the outcome, ``only_second`` where only the
    second did; under no difference each discordant pair goes either way with probability 1/2, so
    ``p = min(1, 2 P(X <= min(b, c)))`` with ``X ~ Binomial(b + c, 1/2)`` (1 without discordant pairs)."""
    from scipy import stats

    n = only_first + only_second
    if n == 0:
        return 1.0
    return float(min(1.0, 2 * stats.binom.cdf(min(only_first, only_second), n, 0.5)))
