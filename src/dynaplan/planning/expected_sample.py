"""Expected versus sample updates (section 8.5, Figure 8.7).

One state-action pair has ``b`` equally likely successors whose values are known exactly. An
expected update computes their mean in ``b`` max-Q computations and leaves no error; a sample
update costs one computation and moves the estimate toward one sampled successor value. With
step size ``1/t`` the estimate after ``t`` sample updates is the mean of ``t`` samples drawn with
replacement, so its error has variance ``sigma^2 / t``, where ``sigma^2`` is the spread of
the successor values. With successor values independent draws of unit variance,
``E[sigma^2] = (b - 1) / b`` and the RMS error is

    sqrt((b - 1) / (b t))                                             (Figure 8.7, analytic)

:func:`sample_update_errors` measures it by simulation: each run draws ``b`` successor values
from N(0, 1) and ``2b`` sample updates. The initial estimate (error 1, as in the book) is
replaced by the first sample, so the error before any computation is 1.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from dynaplan.rng import rand


@njit(cache=True)
def fill_standard_normal(out: np.ndarray, rng: np.ndarray) -> None:
    """Fill ``out: float64[n]`` with N(0, 1) draws (Box-Muller, two values per two uniforms)."""
    n = out.shape[0]
    i = 0
    while i < n:
        u1 = 1.0 - rand(rng)  # in (0, 1]
        u2 = rand(rng)
        radius = math.sqrt(-2.0 * math.log(u1))
        out[i] = radius * math.cos(2.0 * math.pi * u2)
        if i + 1 < n:
            out[i + 1] = radius * math.sin(2.0 * math.pi * u2)
        i += 2


@njit(cache=True)
def sample_update_errors(b: int, t_max: int, runs: int, rng: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Moments of the error of sample averaging after t = 1..t_max sample updates.

    Each run draws ``b`` successor values from N(0, 1) (the true value is their mean) and then
    ``t_max`` successors uniformly with replacement, averaging their values (alpha = 1/t).

    Returns ``(sum_sq, sum_4th)``: ``float64[t_max]`` sums over runs of the squared and the
    fourth power of the error after ``t`` updates (index ``t - 1``); RMS error is
    ``sqrt(sum_sq / runs)``. ``rng: uint64[4]``.
    """
    values = np.empty(b)
    sum_sq = np.zeros(t_max)
    sum_4th = np.zeros(t_max)
    for _ in range(runs):
        fill_standard_normal(values, rng)
        true_value = values.mean()
        total = 0.0
        for t in range(1, t_max + 1):
            total += values[int(rand(rng) * b)]
            err = total / t - true_value
            e2 = err * err
            sum_sq[t - 1] += e2
            sum_4th[t - 1] += e2 * e2
    return sum_sq, sum_4th


def analytic_rms(b: int, t: np.ndarray) -> np.ndarray:
    """sqrt((b - 1) / (b t)) for t >= 1 (Figure 8.7); 1 at t = 0 (the initial error)."""
    t = np.asarray(t, dtype=np.float64)
    out = np.ones_like(t)
    pos = t > 0
    out[pos] = np.sqrt((b - 1) / (b * t[pos]))
    return out


def expected_update_rms(b: int, computations: np.ndarray) -> np.ndarray:
    """Error of an expected update against computations: 1 until all b successors are read, then 0."""
    return np.where(np.asarray(computations) >= b, 0.0, 1.0)


def sample_update_rms(b: int, runs: int, rng: np.ndarray, t_max: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Simulated RMS error after t = 1..t_max (default 2b) sample updates, and its standard error.

    Returns ``(rms, se)`` as ``float64[t_max]``; ``se`` is the delta-method standard error of the
    RMS over ``runs`` independent runs.
    """
    if int(b) != b or b < 1:
        raise ValueError(f"branching factor b must be a positive integer, got {b}")
    if runs < 2:
        raise ValueError(f"runs must be at least 2, got {runs}")
    t_max = 2 * b if t_max is None else t_max
    sum_sq, sum_4th = sample_update_errors(int(b), int(t_max), int(runs), rng)
    ms = sum_sq / runs
    var_sq = np.maximum(sum_4th / runs - ms**2, 0.0)
    rms = np.sqrt(ms)
    with np.errstate(divide="ignore", invalid="ignore"):
        se = np.where(rms > 0, np.sqrt(var_sq / runs) / (2 * rms), 0.0)
    return rms, se


#: Where Figure 8.7 is drawn: multiples of b (the x axis runs from 0 to 2b computations).
PLOT_FRACTIONS = tuple(np.round(np.linspace(0.05, 2.0, 40), 2))


def plot_points(b: int) -> np.ndarray:
    """Numbers of sample updates t >= 1 at which the curves are drawn (int64, increasing):
    t = 1 and round(f b) for f in ``PLOT_FRACTIONS``."""
    t = np.round(np.asarray(PLOT_FRACTIONS) * b).astype(np.int64)
    return np.unique(np.concatenate([[1], t[t >= 1]]))


def default_runs(b: int) -> int:
    """Runs that hold every plotted point of the simulated curve to about 0.5% (one standard
    error) of the analytic one: 200,000 for b <= 100, 20,000 above (costs about b x runs)."""
    return 200_000 if b <= 100 else 20_000
