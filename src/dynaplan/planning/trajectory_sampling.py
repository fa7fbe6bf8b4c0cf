"""Trajectory sampling (section 8.6, Figure 8.8): which pairs one-step expected updates visit.

Two ways to distribute the same number of one-step expected updates of action values

    q(s, a) <- sum_{s', r} p(s', r | s, a) [r + gamma max_a' q(s', a')]        (eq. 8.1)

(``gamma`` 1 in the book; an outcome that ends the episode contributes only its reward):

* **uniform**: cycle through every state-action pair in index order, updating in place;
* **on-policy**: simulate episodes from the start distribution with the epsilon-greedy policy
  of the current values, updating each pair as it occurs, then sampling its outcome.

Progress is measured as the book does: the value of the start state under the *greedy* policy
of the current action values, computed exactly (``planning.exact.evaluate_policy``, an
iterative solve of the policy's linear system over the states it can reach, stopped by an error
bound that guarantees an error below ``tol``). The expected update is the model protocol's
backup (``models.protocol.model_backup``) and the simulated step its sample.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from dynaplan._jit import kernel
from dynaplan.core.egreedy import epsilon_greedy
from dynaplan.envs.tabular import TabularModel
from dynaplan.models.protocol import model_backup, model_sample
from dynaplan.planning.exact import evaluate_policy, greedy_policy
from dynaplan.rng import categorical

UNIFORM = 0
ON_POLICY = 1
METHODS = {"uniform": UNIFORM, "on-policy": ON_POLICY}


@kernel(inline=True)
def expected_update(model: TabularModel, q: np.ndarray, s: int, a: int, gamma: float) -> None:
    """One one-step expected update of ``q[s, a]`` in place (eq. 8.1). ``q: float64[S, A]``."""
    q[s, a] = model_backup(model, q, s, a, gamma)


@njit(cache=True)
def greedy_start_value(model: TabularModel, q: np.ndarray, gamma: float, v: np.ndarray, tol: float) -> float:
    """Exact start value of the greedy policy of ``q`` (see :func:`evaluate_policy`)."""
    return evaluate_policy(model, greedy_policy(q), gamma, v, tol, 100_000)


@kernel
def _uniform_segment(model: TabularModel, q: np.ndarray, s: int, a: int, n: int, gamma: float) -> tuple[int, int]:
    """``n`` expected updates cycling through the pairs from (s, a); returns the next pair."""
    n_states, n_actions = q.shape
    for _ in range(n):
        expected_update(model, q, s, a, gamma)
        a += 1
        if a == n_actions:
            a = 0
            s += 1
            if s == n_states:
                s = 0
    return s, a


@kernel
def _on_policy_segment(
    model: TabularModel, q: np.ndarray, s: int, n: int, epsilon: float, gamma: float, rng: np.ndarray
) -> int:
    """``n`` expected updates along simulated epsilon-greedy episodes from state s; returns the
    state reached."""
    for _ in range(n):
        a = epsilon_greedy(q[s], epsilon, rng)
        expected_update(model, q, s, a, gamma)
        s2, _, terminated = model_sample(model, s, a, rng)
        s = categorical(model.start, rng) if terminated else s2
    return s


@njit(cache=True)
def distribute_updates(
    model: TabularModel,
    gamma: float,
    epsilon: float,
    n_updates: int,
    eval_every: int,
    tol: float,
    on_policy: bool,
    rng: np.ndarray,
) -> np.ndarray:
    """``n_updates`` expected updates of q (from 0), uniformly or on-policy (see the module).

    Returns ``float64[n_updates // eval_every + 1]``: the greedy policy's exact start value
    after 0, eval_every, 2 eval_every, ... updates. The on-policy run draws from ``rng:
    uint64[4]`` (its first start state, then each segment's draws); the uniform one draws nothing.
    """
    n_states, n_actions = model.next_state.shape[0], model.next_state.shape[1]
    q = np.zeros((n_states, n_actions))
    v = np.zeros(n_states)
    n_points = n_updates // eval_every
    out = np.empty(n_points + 1)
    out[0] = greedy_start_value(model, q, gamma, v, tol)
    s, a = 0, 0
    if on_policy:
        s = categorical(model.start, rng)
    for i in range(1, n_points + 1):
        if on_policy:
            s = _on_policy_segment(model, q, s, eval_every, epsilon, gamma, rng)
        else:
            s, a = _uniform_segment(model, q, s, a, eval_every, gamma)
        out[i] = greedy_start_value(model, q, gamma, v, tol)
    return out


def uniform_run(model: TabularModel, gamma: float, n_updates: int, eval_every: int, tol: float) -> np.ndarray:
    """Uniform distribution of updates: cycle through all pairs (s, a) in index order, in place."""
    return np.asarray(
        distribute_updates(model, gamma, 0.0, n_updates, eval_every, tol, False, np.zeros(4, dtype=np.uint64))
    )


def on_policy_run(
    model: TabularModel, gamma: float, epsilon: float, n_updates: int, eval_every: int, tol: float, rng: np.ndarray
) -> np.ndarray:
    """On-policy distribution: expected updates along simulated epsilon-greedy episodes.

    In state s: choose a epsilon-greedily (ties at random), update q[s, a] (eq. 8.1), then sample
    the outcome of (s, a) from the model (one uniform draw); an ending outcome starts a new
    episode from the start distribution. ``rng: uint64[4]``.
    """
    return np.asarray(distribute_updates(model, gamma, epsilon, n_updates, eval_every, tol, True, rng))


def run_trajectory_sampling(
    model: TabularModel,
    method: str,
    n_updates: int,
    eval_every: int,
    rng: np.ndarray | None = None,
    epsilon: float = 0.1,
    gamma: float = 1.0,
    tol: float = 1e-10,
) -> np.ndarray:
    """Start-state values of the greedy policy every ``eval_every`` updates (Figure 8.8).

    ``method`` is ``"uniform"`` or ``"on-policy"`` (which needs ``rng: uint64[4]``). Returns
    ``float64[n_updates // eval_every + 1]``, the first entry before any update.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {sorted(METHODS)}, got {method!r}")
    if n_updates < 0 or eval_every <= 0:
        raise ValueError(f"need n_updates >= 0 and eval_every > 0, got {n_updates}, {eval_every}")
    if not 0.0 <= epsilon <= 1.0:
        raise ValueError(f"epsilon must be in [0, 1], got {epsilon}")
    if not 0.0 <= gamma <= 1.0:
        raise ValueError(f"gamma must be in [0, 1], got {gamma}")
    if method == "uniform":
        return uniform_run(model, gamma, n_updates, eval_every, tol)
    if rng is None:
        raise ValueError("the on-policy method needs an rng state (dynaplan.rng.agent_stream(seed))")
    return on_policy_run(model, gamma, epsilon, n_updates, eval_every, tol, rng)
