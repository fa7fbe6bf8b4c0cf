"""Value iteration (book section 4.4) and exact policy evaluation, over any exact model.

They read the same ``TabularModel`` arrays that envs are stepped from, so they give the ground
truth the learning agents are tested against. They also accept a Gymnasium env that exposes
``P`` (its exact model) or a learned ``DistributionModel`` (solved as the MDP it estimates, so a
planner's Q can be checked against the Q* of its own model). The backups, masks and the policy
system are ``planning.exact``'s; :func:`gauss_seidel_vi` is in-place value iteration over a
chosen list of states (the DP baseline of section 8.7).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
from numba import njit

from dynaplan.envs.tabular import TabularModel, model_of
from dynaplan.models.distribution import DistributionModel, to_tabular
from dynaplan.planning import exact
from dynaplan.planning.exact import bellman_sweep, greedy_actions, q_from_v, reachable_states


class Solution(NamedTuple):
    """Result of an exact solver.

    Attributes:
      v: float64[S], state values
      q: float64[S, A], action values
      policy: int64[S], a greedy action per state (the lowest-index maximum)
      sweeps: number of sweeps over the state set
      updates: number of state-value updates (S per sweep)
      greedy: bool[S, A], every action within ``tie_tol`` of the maximum of its row (all the
        optimal actions when ties are real; ``policy`` is the first of them)
    """

    v: np.ndarray
    q: np.ndarray
    policy: np.ndarray
    sweeps: int
    updates: int
    greedy: np.ndarray | None = None


def as_model(source: Any) -> TabularModel:
    """A ``TabularModel`` from a model, a learned ``DistributionModel`` or an env exposing ``P``."""
    if isinstance(source, TabularModel):
        return source
    if isinstance(source, DistributionModel):
        return to_tabular(source)
    if hasattr(source, "unwrapped"):
        return model_of(source)
    kind = type(source).__name__
    raise ValueError(f"expected a TabularModel, a DistributionModel or an env with a P table, got {kind}")


@njit(cache=True)
def iterate_values(
    model: TabularModel, states: np.ndarray, v: np.ndarray, gamma: float, tol: float, max_sweeps: int, in_place: bool
) -> int:
    """Sweeps of value iteration over ``states`` on ``v: float64[S]`` (in place) until the largest
    change in a sweep is below ``tol`` or ``max_sweeps``; returns the sweeps made.

    ``in_place``: Gauss-Seidel (each update sees the sweep's earlier ones); else Jacobi (a whole
    sweep computed from the previous one).
    """
    new = v.copy()
    sweeps = 0
    while sweeps < max_sweeps:
        sweeps += 1
        delta = bellman_sweep(model, states, v, v if in_place else new, gamma)
        if not in_place:
            v[:] = new
        if delta < tol:
            break
    return sweeps


def value_iteration(
    model: TabularModel | DistributionModel | Any,
    gamma: float,
    tol: float = 1e-10,
    method: str = "gauss-seidel",
    max_sweeps: int = 100_000,
    tie_tol: float = 1e-9,
) -> Solution:
    """Value iteration (section 4.4, eq. 4.10) until the largest change in a sweep is below ``tol``.

    ``model``: a ``TabularModel``, a learned ``DistributionModel`` (see ``to_tabular``: untried
    pairs are worth 0) or an env exposing ``P``. ``method="gauss-seidel"`` updates values in
    place within a sweep; ``"jacobi"`` computes a whole sweep from the previous one. Terminal
    outcomes contribute no future value. ``Solution.greedy`` marks every action within
    ``tie_tol`` of the best.
    """
    model = as_model(model)
    if method not in ("gauss-seidel", "jacobi"):
        raise ValueError(f"method must be 'gauss-seidel' or 'jacobi', got {method!r}")
    if not 0.0 <= gamma <= 1.0:
        raise ValueError(f"gamma must be in [0, 1], got {gamma}")
    v = np.zeros(model.n_states)
    sweeps = iterate_values(
        model, np.arange(model.n_states, dtype=np.int64), v, gamma, tol, max_sweeps, method == "gauss-seidel"
    )
    q = q_from_v(model, v, gamma)
    return Solution(
        v, q, np.argmax(q, axis=1).astype(np.int64), sweeps, sweeps * model.n_states, greedy_actions(q, tie_tol)
    )


def policy_evaluation(model: TabularModel | DistributionModel | Any, policy: np.ndarray, gamma: float) -> np.ndarray:
    """Exact v_pi by solving the linear system (I - gamma P_pi) v = r_pi (eq. 4.4).

    ``policy`` is int64[S] (deterministic) or float64[S, A] (stochastic). ``model`` as in
    ``value_iteration``. With ``gamma = 1`` the system is singular unless every state reaches a
    terminal outcome under the policy (then numpy raises ``LinAlgError``).
    """
    return exact.policy_evaluation(as_model(model), policy, gamma)


class DPResult(NamedTuple):
    """Gauss-Seidel value iteration over a state list.

    Attributes:
      v: float64[S] (states outside the list keep their initial value)
      sweeps: sweeps until the largest change in a sweep was below ``tol``
      updates: ``sweeps * len(states)``
    """

    v: np.ndarray
    sweeps: int
    updates: int


def gauss_seidel_vi(
    model: TabularModel,
    states: np.ndarray | None = None,
    gamma: float = 1.0,
    tol: float = 1e-4,
    max_sweeps: int = 100_000,
    v0: np.ndarray | None = None,
) -> DPResult:
    """In-place value iteration (section 4.4) over ``states`` (default: those reachable from the
    starts), in that order, from ``v0`` (default 0), until a sweep changes no value by ``tol``."""
    if states is None:
        states = reachable_states(model)
    v = np.zeros(model.n_states) if v0 is None else np.array(v0, dtype=np.float64)
    sweeps = iterate_values(model, np.asarray(states, dtype=np.int64), v, gamma, tol, max_sweeps, True)
    return DPResult(v, int(sweeps), int(sweeps) * len(states))


def gauss_seidel_sweep(model: TabularModel, states: np.ndarray, v: np.ndarray, gamma: float) -> float:
    """One in-place value-iteration sweep over ``states`` (in that order); returns the largest change."""
    return float(bellman_sweep(model, np.asarray(states, dtype=np.int64), v, v, gamma))
