"""Trajectory sampling (section 8.6, Figure 8.8): which pairs one-step expected updates visit.

Two ways to distribute the same number of one-step expected updates of action values

    q(s, a) <- sum_{s', r} p(s', r | s, a) [r + gamma max_a' q(s', a')]        (eq. 8.1)

(``gamma`` 1 in the book; an outcome that ends the episode contributes only its reward):

* **uniform**: cycle through every state-action pair in index order, updating in place;
* **on-policy**: simulate episodes from the start distribution with the epsilon-greedy policy
  of the current values, updating each pair as it occurs, then sampling its outcome.

Progress is measured as the book does: the value of the start state under the *greedy* policy
of the current action values, computed exactly (:func:`evaluate_policy`, an iterative solve of
the policy's linear system over the states it can reach, stopped by an error bound that
guarantees an error below ``tol``).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from dynaplan._jit import kernel
from dynaplan.envs.tabular import TabularModel
from dynaplan.planning.egreedy import epsilon_greedy, max_value
from dynaplan.rng import categorical, rand

UNIFORM = 0
ON_POLICY = 1
METHODS = {"uniform": UNIFORM, "on-policy": ON_POLICY}


@kernel(inline=True)
def expected_update(model: TabularModel, q: np.ndarray, s: int, a: int, gamma: float) -> None:
    """One one-step expected update of ``q[s, a]`` in place (eq. 8.1). ``q: float64[S, A]``."""
    total = 0.0
    for k in range(model.prob.shape[2]):
        p = model.prob[s, a, k]
        if p > 0.0:
            r = model.reward[s, a, k]
            if model.terminated[s, a, k]:
                total += p * r
            else:
                total += p * (r + gamma * max_value(q[model.next_state[s, a, k]]))
    q[s, a] = total


@njit(cache=True)
def greedy_policy(q: np.ndarray) -> np.ndarray:
    """The greedy policy of ``q: float64[S, A]`` as ``int64[S]`` (first maximum on ties)."""
    n_states, n_actions = q.shape
    policy = np.zeros(n_states, dtype=np.int64)
    for s in range(n_states):
        best = q[s, 0]
        for a in range(1, n_actions):
            if q[s, a] > best:
                best = q[s, a]
                policy[s] = a
    return policy


@njit(cache=True)
def reachable_under(model: TabularModel, policy: np.ndarray) -> np.ndarray:
    """States reachable from the start distribution under ``policy: int64[S]`` (int64[n], DFS order).

    Outcomes that end the episode lead nowhere.
    """
    n_states = model.next_state.shape[0]
    seen = np.zeros(n_states, dtype=np.bool_)
    stack = np.empty(n_states, dtype=np.int64)
    order = np.empty(n_states, dtype=np.int64)
    top = 0
    n = 0
    for s in range(n_states):
        if model.start[s] > 0.0:
            seen[s] = True
            stack[top] = s
            top += 1
    while top > 0:
        top -= 1
        s = stack[top]
        order[n] = s
        n += 1
        a = policy[s]
        for k in range(model.prob.shape[2]):
            if model.prob[s, a, k] > 0.0 and not model.terminated[s, a, k]:
                s2 = model.next_state[s, a, k]
                if not seen[s2]:
                    seen[s2] = True
                    stack[top] = s2
                    top += 1
    return order[:n]


@njit(cache=True)
def evaluate_policy(
    model: TabularModel, policy: np.ndarray, gamma: float, v: np.ndarray, tol: float = 1e-10, max_sweeps: int = 100_000
) -> float:
    """Exact v_pi of a deterministic policy on the states it reaches; returns the start value.

    Solves ``v = r_pi + M v`` with ``M = gamma P_pi`` over continuing outcomes (eq. 4.4) by
    Jacobi sweeps over the states reachable from the start distribution, starting from
    ``v: float64[S]`` (updated in place: a warm start from the previous policy's values). The
    stop is a guaranteed error bound. With ``D = v_{k+1} - v_k`` and every row of M summing to
    the same ``c < 1`` (the random tasks of section 8.6: c = 0.9), MacQueen's bounds give
    ``v_{k+1} + c/(1-c) min D <= v_pi <= v_{k+1} + c/(1-c) max D``: the midpoint is returned,
    within ``c/(1-c) (max D - min D) / 2`` of v_pi, and the sweeps stop when that is below ``tol``
    (the span of D shrinks at the rate of M's second eigenvalue, far faster than c). When row
    sums differ, the bound is ``c_max/(1-c_max) max|D|``; with ``c_max = 1`` (no contraction),
    the stop is at ``max|D| < tol``, without a guarantee. Values of states the policy cannot
    reach are left as they were.

    Returns ``sum_s start[s] v[s]``.
    """
    states = reachable_under(model, policy)
    n = states.shape[0]
    n_out = model.prob.shape[2]
    local = np.full(model.next_state.shape[0], -1, dtype=np.int64)
    for i in range(n):
        local[states[i]] = i
    # The policy's system in compact form: r_pi, and the continuing outcomes as (index, gamma p).
    r_pi = np.zeros(n)
    offs = np.zeros(n + 1, dtype=np.int64)
    cols = np.empty(n * n_out, dtype=np.int64)
    coef = np.empty(n * n_out)
    vv = np.empty(n)
    new = np.empty(n)
    c_lo = np.inf
    c_hi = 0.0
    m = 0
    for i in range(n):
        s = states[i]
        a = policy[s]
        vv[i] = v[s]
        cont = 0.0
        for k in range(n_out):
            p = model.prob[s, a, k]
            if p > 0.0:
                r_pi[i] += p * model.reward[s, a, k]
                if not model.terminated[s, a, k]:
                    cols[m] = local[model.next_state[s, a, k]]
                    coef[m] = gamma * p
                    cont += gamma * p
                    m += 1
        offs[i + 1] = m
        c_lo = min(c_lo, cont)
        c_hi = max(c_hi, cont)
    equal_sums = c_hi - c_lo <= 1e-12 and c_hi < 1.0
    for _ in range(max_sweeps):
        d_lo = np.inf
        d_hi = -np.inf
        for i in range(n):
            total = r_pi[i]
            for j in range(offs[i], offs[i + 1]):
                total += coef[j] * vv[cols[j]]
            new[i] = total
            d = total - vv[i]
            d_lo = min(d_lo, d)
            d_hi = max(d_hi, d)
        vv, new = new, vv
        if equal_sums:
            factor = c_hi / (1.0 - c_hi)
            if factor * (d_hi - d_lo) / 2.0 <= tol:
                shift = factor * (d_hi + d_lo) / 2.0
                for i in range(n):
                    vv[i] += shift
                break
        else:
            big = max(abs(d_lo), abs(d_hi))
            bound = big * c_hi / (1.0 - c_hi) if c_hi < 1.0 else big
            if bound <= tol:
                break
    for i in range(n):
        v[states[i]] = vv[i]
    value = 0.0
    for s in range(model.start.shape[0]):
        if model.start[s] > 0.0:
            value += model.start[s] * v[s]
    return value


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
    prob = model.prob
    n_out = prob.shape[2]
    for _ in range(n):
        a = epsilon_greedy(q[s], epsilon, rng)
        expected_update(model, q, s, a, gamma)
        u = rand(rng)
        total = 0.0
        k = 0
        for j in range(n_out):
            total += prob[s, a, j]
            if total > u:
                k = j
                break
        s = categorical(model.start, rng) if model.terminated[s, a, k] else model.next_state[s, a, k]
    return s


@njit(cache=True)
def uniform_run(model: TabularModel, gamma: float, n_updates: int, eval_every: int, tol: float) -> np.ndarray:
    """Uniform distribution of updates: cycle through all pairs (s, a) in index order, in place.

    Returns ``float64[n_updates // eval_every + 1]``: the greedy policy's exact start value
    after 0, eval_every, 2 eval_every, ... updates. q starts at 0.
    """
    n_states, n_actions = model.next_state.shape[0], model.next_state.shape[1]
    q = np.zeros((n_states, n_actions))
    v = np.zeros(n_states)
    n_points = n_updates // eval_every
    out = np.empty(n_points + 1)
    out[0] = greedy_start_value(model, q, gamma, v, tol)
    s, a = 0, 0
    for i in range(1, n_points + 1):
        s, a = _uniform_segment(model, q, s, a, eval_every, gamma)
        out[i] = greedy_start_value(model, q, gamma, v, tol)
    return out


@njit(cache=True)
def on_policy_run(
    model: TabularModel, gamma: float, epsilon: float, n_updates: int, eval_every: int, tol: float, rng: np.ndarray
) -> np.ndarray:
    """On-policy distribution: expected updates along simulated epsilon-greedy episodes.

    In state s: choose a epsilon-greedily (ties at random), update q[s, a] (eq. 8.1), then sample
    the outcome of (s, a) from the model (one uniform draw); an ending outcome starts a new
    episode from the start distribution. Returns the greedy policy's exact start value after
    0, eval_every, ... updates, as :func:`uniform_run`. ``rng: uint64[4]``.
    """
    n_states, n_actions = model.next_state.shape[0], model.next_state.shape[1]
    q = np.zeros((n_states, n_actions))
    v = np.zeros(n_states)
    n_points = n_updates // eval_every
    out = np.empty(n_points + 1)
    out[0] = greedy_start_value(model, q, gamma, v, tol)
    s = categorical(model.start, rng)
    for i in range(1, n_points + 1):
        s = _on_policy_segment(model, q, s, eval_every, epsilon, gamma, rng)
        out[i] = greedy_start_value(model, q, gamma, v, tol)
    return out


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
