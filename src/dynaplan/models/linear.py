"""Linear models of the world (Sutton, Szepesvari, Geramifard & Bowling 2008, section 3).

One model per action: the expected next feature vector is ``F_a phi`` and the expected reward
``b_a^T phi``. At the end of an episode the next feature vector is 0 (the terminal state has
value 0), so ``F_a`` learns where episodes end.

Two ways to learn it from real transitions:

* **LMS** (the paper's Algorithm 1, ``beta > 0``): ``F_a <- F_a + beta (phi' - F_a phi) phi^T``,
  ``b_a <- b_a + beta (r - b_a^T phi) phi``;
* **substochastic LMS** (``substochastic=True``): LMS, then each updated column ``F_a e_j`` is
  kept a sub-probability vector (negative entries set to 0, then scaled down if it sums above
  1). Backing up single features, ``theta_i <- max_a (b_a(i) + gamma theta^T F_a e_i)`` (linear
  prioritized sweeping), is then value iteration on a substochastic "feature MDP": a max-norm
  non-expansion for gamma = 1 and a contraction for gamma < 1, which plain LMS does not give
  (its columns have negative entries, absolute sums near 2-5 and spectral radii above 1 on tile-coded
  Mountain Car: docs/reproductions/beyond-tables.md, "Planning on Mountain Car");
* **least squares** (``beta = 0``): recursive least squares, the exact minimiser of
  ``sum ||phi' - F_a phi||^2 + eps ||F_a||^2`` over the transitions seen (and likewise
  ``b_a``), kept with ``D_a^-1 = (eps I + sum phi phi^T)^-1`` updated by Sherman-Morrison:
  ``O(d^2)`` per real step. With this model the fixed point of linear Dyna's planning is the
  (ridge-regularised) LSTD solution (the paper's Theorem 3.1; ``tests/test_linear_dyna.py``).

Memory: dense, ``d^2`` floats per action for ``F_a`` (and again for ``D_a^-1`` with least
squares): ``ft: float64[A, d, d]`` stored transposed, ``ft[a, j, i] = F_a[i, j]``, so that the
prediction from feature ``j`` is one contiguous row.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from dynaplan._jit import kernel
from dynaplan.core.encoding import raise_bound

#: Largest dense model built (bytes); above it construction fails with a message naming ``size``.
MAX_MODEL_BYTES = 2 * 1024**3


class LinearModel(NamedTuple):
    """Per-action linear model.

    Attributes:
      ft: float64[A, d, d], ``ft[a, j, i] = F_a[i, j]``
      b: float64[A, d], reward model
      dinv: float64[A, d, d] (least squares) or float64[A, 0, 0] (LMS)
      e: float64[d], u: float64[d], scratch
      hi: int64[1], one past the largest feature index seen (rows and columns beyond are 0)
      beta: LMS step size; 0 = least squares
      substochastic: keep each updated column of ``F_a`` nonnegative with sum <= 1 (LMS only)
    """

    ft: np.ndarray
    b: np.ndarray
    dinv: np.ndarray
    e: np.ndarray
    u: np.ndarray
    hi: np.ndarray
    beta: float
    substochastic: bool


def new_linear_model(
    n_actions: int, d: int, *, beta: float, eps: float = 1e-3, substochastic: bool = False
) -> LinearModel:
    """An empty model (``F_a = 0``, ``b_a = 0``; least squares starts from ``D_a = eps I``)."""
    if substochastic and beta == 0.0:
        raise ValueError("model: a substochastic model is learned by LMS (beta > 0)")
    mats = 2 if beta == 0.0 else 1
    need = mats * n_actions * d * d * 8
    if need > MAX_MODEL_BYTES:
        raise ValueError(
            f"size: a dense linear model with d={d} features and {n_actions} actions needs "
            f"{need / 1024**3:.1f} GiB; use fewer features (TileCoder size) or an LMS model"
        )
    dinv = np.zeros((n_actions, d, d)) if beta == 0.0 else np.zeros((n_actions, 0, 0))
    if beta == 0.0:
        for a in range(n_actions):
            dinv[a] = np.eye(d) / eps
    return LinearModel(
        ft=np.zeros((n_actions, d, d)),
        b=np.zeros((n_actions, d)),
        dinv=dinv,
        e=np.zeros(d),
        u=np.zeros(d),
        hi=np.zeros(1, dtype=np.int64),
        beta=float(beta),
        substochastic=bool(substochastic),
    )


@kernel
def model_update(
    m: LinearModel, a: int, idx: np.ndarray, val: np.ndarray, r: float,
    idx2: np.ndarray, val2: np.ndarray, terminated: bool,
) -> None:
    """Learn from one transition ``(phi, a, r, phi')`` (``phi' = 0`` when ``terminated``)."""
    ft, e = m.ft, m.e
    hi = raise_bound(m.hi, idx, idx2)
    d = ft.shape[1] if m.dinv.shape[1] > 0 else hi
    # e = phi' - F_a phi, re = r - b_a^T phi
    for i in range(d):
        e[i] = 0.0
    re = r
    for j in range(idx.shape[0]):
        col = idx[j]
        v = val[j]
        re -= m.b[a, col] * v
        for i in range(d):
            e[i] -= ft[a, col, i] * v
    if not terminated:
        for j in range(idx2.shape[0]):
            e[idx2[j]] += val2[j]
    if m.dinv.shape[1] == 0:
        beta = m.beta
        for j in range(idx.shape[0]):
            col = idx[j]
            s = beta * val[j]
            for i in range(d):
                ft[a, col, i] += s * e[i]
            m.b[a, col] += s * re
        if m.substochastic:
            for j in range(idx.shape[0]):
                _substochastic_row(ft, a, idx[j], d)
        return
    # recursive least squares: u = D^-1 phi, c = 1 + phi^T u, D^-1 -= u u^T / c, gain g = u / c
    dinv, u = m.dinv, m.u
    for i in range(d):
        total = 0.0
        for j in range(idx.shape[0]):
            total += dinv[a, i, idx[j]] * val[j]
        u[i] = total
    c = 1.0
    for j in range(idx.shape[0]):
        c += val[j] * u[idx[j]]
    for i in range(d):
        ui = u[i] / c
        if ui != 0.0:
            for k in range(d):
                dinv[a, i, k] -= ui * u[k]
    for j in range(d):
        g = u[j] / c
        if g != 0.0:
            for i in range(d):
                ft[a, j, i] += g * e[i]
            m.b[a, j] += g * re


@kernel(inline=True)
def _substochastic_row(ft: np.ndarray, a: int, col: int, d: int) -> None:
    """Column ``col`` of ``F_a`` (row ``ft[a, col]``): negatives to 0, then scaled to sum <= 1."""
    total = 0.0
    for i in range(d):
        x = ft[a, col, i]
        if x < 0.0:
            ft[a, col, i] = 0.0
        else:
            total += x
    if total > 1.0:
        scale = 1.0 / total
        for i in range(d):
            ft[a, col, i] *= scale


@kernel(inline=True)
def predicted_value(m: LinearModel, a: int, theta: np.ndarray, idx: np.ndarray, val: np.ndarray, gamma: float) -> float:
    """``b_a^T phi + gamma theta^T F_a phi``: the model's one-step value of ``phi`` under ``a``."""
    hi = m.hi[0]
    total = 0.0
    for j in range(idx.shape[0]):
        col = idx[j]
        v = val[j]
        if col >= hi:
            continue
        s = 0.0
        for i in range(hi):
            s += m.ft[a, col, i] * theta[i]
        total += v * (m.b[a, col] + gamma * s)
    return total


@kernel(inline=True)
def predicted_value_basis(m: LinearModel, a: int, theta: np.ndarray, col: int, gamma: float) -> float:
    """``predicted_value`` for the unit vector ``e_col``."""
    hi = m.hi[0]
    if col >= hi:
        return 0.0
    s = 0.0
    for i in range(hi):
        s += m.ft[a, col, i] * theta[i]
    return m.b[a, col] + gamma * s
