"""Exact solvers over a tabular model: value iteration and policy evaluation (book ch. 4).

They read the same ``TabularModel`` arrays that envs are stepped from, so they give the ground
truth the learning agents are tested against. They also accept a Gymnasium env that exposes
``P`` (its exact model) or a learned ``DistributionModel`` (solved as the MDP it estimates, so a
planner's Q can be checked against the Q* of its own model).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
from numba import njit

from dynaplan.envs.tabular import TabularModel, model_of
from dynaplan.models.distribution import DistributionModel, to_tabular


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


def greedy_actions(q: np.ndarray, tie_tol: float = 1e-9) -> np.ndarray:
    """bool[S, A]: the actions whose value is within ``tie_tol`` of the best in their state.

    Value iteration stops at a tolerance, so two optimal actions rarely have bit-equal values;
    the mask treats values closer than ``tie_tol`` as ties.
    """
    q = np.asarray(q)
    return np.asarray(q >= q.max(axis=1, keepdims=True) - tie_tol)


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
def _backup(model: TabularModel, v: np.ndarray, s: int, a: int, gamma: float) -> float:
    total = 0.0
    for k in range(model.prob.shape[2]):
        p = model.prob[s, a, k]
        if p > 0.0:
            cont = 0.0 if model.terminated[s, a, k] else gamma * v[model.next_state[s, a, k]]
            total += p * (model.reward[s, a, k] + cont)
    return total


@njit(cache=True)
def q_from_v(model: TabularModel, v: np.ndarray, gamma: float) -> np.ndarray:
    """q(s,a) = sum_{s',r} p(s',r|s,a) [r + gamma v(s')] (eq. 4.6), v(s') = 0 after termination."""
    n_states, n_actions = model.next_state.shape[0], model.next_state.shape[1]
    q = np.zeros((n_states, n_actions))
    for s in range(n_states):
        for a in range(n_actions):
            q[s, a] = _backup(model, v, s, a, gamma)
    return q


@njit(cache=True)
def _value_iteration(
    model: TabularModel, gamma: float, tol: float, max_sweeps: int, in_place: bool
) -> tuple[np.ndarray, int]:
    n_states, n_actions = model.next_state.shape[0], model.next_state.shape[1]
    v = np.zeros(n_states)
    new = np.zeros(n_states)
    sweeps = 0
    while sweeps < max_sweeps:
        sweeps += 1
        delta = 0.0
        target = v if in_place else new
        for s in range(n_states):
            best = -np.inf
            for a in range(n_actions):
                val = _backup(model, v, s, a, gamma)
                if val > best:
                    best = val
            delta = max(delta, abs(best - v[s]))
            target[s] = best
        if not in_place:
            v[:] = new
        if delta < tol:
            break
    return v, sweeps


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
    v, sweeps = _value_iteration(model, gamma, tol, max_sweeps, method == "gauss-seidel")
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
    model = as_model(model)
    policy = np.asarray(policy)
    n_states, n_actions = model.n_states, model.n_actions
    pi = policy
    if policy.ndim == 1:
        pi = np.zeros((n_states, n_actions))
        pi[np.arange(n_states), policy] = 1.0
    cont = model.prob * (~model.terminated)
    p_sas = np.zeros((n_states, n_actions, n_states))
    for k in range(model.prob.shape[2]):
        idx = (np.arange(n_states)[:, None], np.arange(n_actions)[None, :], model.next_state[:, :, k])
        np.add.at(p_sas, idx, cont[:, :, k])
    p_pi = np.einsum("sa,sat->st", pi, p_sas)
    r_pi = np.einsum("sa,sa->s", pi, model.expected_reward())
    return np.asarray(np.linalg.solve(np.eye(n_states) - gamma * p_pi, r_pi))
