"""Rollout planning (book section 8.10): Monte Carlo values of the root actions under a policy.

From the current state each action is tried in turn (the one with the fewest simulations so
far), followed by the *rollout policy* for the rest of the horizon; the average discounted
return estimates ``q_pi(s, a)``, and the agent takes the action with the best estimate. The
rollout policy is uniformly random or greedy with respect to the agent's action values ``q``
(ties at random). After ``depth`` steps a rollout that has not terminated adds the leaf value
``gamma^depth max_a q(s_depth, a)`` (0 when ``q`` is all zeros), so the exact counterpart is the
finite-horizon value of the rollout policy (``planning.exact.finite_horizon_q(..., policy=pi)``).

Unknown pairs of a learned model (section ``search.models``) are not simulated: a rollout that
meets one stops and adds ``q[s, a]``; an unknown root action is valued ``q[s, a]``.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from dynaplan._jit import kernel
from dynaplan._stamp import generic
from dynaplan.rng import from_seed, rand
from dynaplan.search.models import check_model, model_known, model_sample, model_sizes
from dynaplan.search.result import SearchResult


@kernel(inline=True)
def vmax(q: np.ndarray, s: int) -> float:
    """max_a q[s, a]."""
    best = q[s, 0]
    for a in range(1, q.shape[1]):
        if q[s, a] > best:
            best = q[s, a]
    return best


@kernel(inline=True)
def greedy_action(q: np.ndarray, s: int, u: float) -> int:
    """A maximiser of ``q[s]``; among several, the ``int(u * count)``-th (``u`` uniform in [0, 1))."""
    best = vmax(q, s)
    count = 0
    for a in range(q.shape[1]):
        if q[s, a] == best:
            count += 1
    pick = int(u * count)
    for a in range(q.shape[1]):
        if q[s, a] == best:
            if pick == 0:
                return a
            pick -= 1
    return 0


@generic
@kernel
def rollout_return(
    model: Any, q: np.ndarray, s: int, h: int, gamma: float, greedy: bool, rng: np.ndarray
) -> tuple[float, int]:
    """Discounted return of ``h`` steps from ``s`` under the rollout policy, then ``max q`` at the leaf.

    ``greedy``: act greedily on ``q[s]`` (ties at random), else uniformly at random.
    Returns ``(return, model steps drawn)``.
    """
    n_actions = q.shape[1]
    g = 0.0
    disc = 1.0
    steps = 0
    while h > 0:
        u = rand(rng)  # drawn unconditionally (see models.protocol)
        a = greedy_action(q, s, u) if greedy else int(u * n_actions)
        if not model_known(model, s, a):
            return g + disc * q[s, a], steps
        s2, r, term = model_sample(model, s, a, rng)
        steps += 1
        g += disc * r
        if term:
            return g, steps
        disc *= gamma
        h -= 1
        s = s2
    return g + disc * vmax(q, s), steps


@generic
@kernel
def rollout_run(
    model: Any,
    q: np.ndarray,
    s0: int,
    simulations: int,
    gamma: float,
    depth: int,
    greedy: bool,
    counts: np.ndarray,
    sums: np.ndarray,
    rng: np.ndarray,
) -> int:
    """``simulations`` rollouts from ``s0``, each of ``depth`` steps at most; adds to the root tallies.

    ``counts: float64[A]`` and ``sums: float64[A]`` (returns) are updated in place; each
    simulation goes to the root action with the fewest so far (the first of them). Returns
    the number of model steps drawn.
    """
    n_actions = q.shape[1]
    steps = 0
    for _ in range(simulations):
        a = 0
        for b in range(1, n_actions):
            if counts[b] < counts[a]:
                a = b
        counts[a] += 1.0
        if not model_known(model, s0, a):
            sums[a] += q[s0, a]
            continue
        s2, r, term = model_sample(model, s0, a, rng)
        steps += 1
        g = r
        if not term:
            tail, k = rollout_return(model, q, s2, depth - 1, gamma, greedy, rng)
            g += gamma * tail
            steps += k
        sums[a] += g
    return steps


@kernel
def best_mean(counts: np.ndarray, sums: np.ndarray, rng: np.ndarray) -> int:
    """The root action with the best mean return (actions never simulated are skipped; ties at random)."""
    best = -np.inf
    best_a = 0
    ties = 0
    for a in range(counts.shape[0]):
        if counts[a] > 0:
            m = sums[a] / counts[a]
            if m > best:
                best, best_a, ties = m, a, 1
            elif m == best:
                ties += 1
                if rand(rng) * ties < 1.0:
                    best_a = a
    return best_a


def rollout_search(
    model: Any,
    state: int,
    *,
    simulations: int = 100,
    gamma: float = 0.95,
    depth: int = 50,
    policy: str = "random",
    q: np.ndarray | None = None,
    seed: int | None = None,
    rng: np.ndarray | None = None,
) -> SearchResult:
    """Rollout planning from ``state`` with ``simulations`` rollouts (section 8.10).

    ``policy``: ``"random"`` or ``"greedy"`` (w.r.t. ``q``); ``q: float64[S, A]`` gives leaf
    values and values unknown pairs (zeros by default). Randomness: ``rng`` (a ``uint64[4]``
    state, advanced in place) or ``seed``.
    """
    check_model(model)
    n_states, n_actions = model_sizes(model)
    _check_search_args(n_states, state, simulations, gamma, depth)
    if policy not in ("random", "greedy"):
        raise ValueError(f"policy must be 'random' or 'greedy', got {policy!r}")
    q = np.zeros((n_states, n_actions)) if q is None else np.ascontiguousarray(q, dtype=np.float64)
    rng = from_seed(np.random.SeedSequence(seed)) if rng is None else rng
    counts, sums = np.zeros(n_actions), np.zeros(n_actions)
    t0 = time.perf_counter()
    greedy = policy == "greedy"
    steps = rollout_run(model, q, int(state), int(simulations), float(gamma), int(depth), greedy, counts, sums, rng)
    action = best_mean(counts, sums, rng)
    values = np.divide(sums, counts, out=np.full(n_actions, np.nan), where=counts > 0)
    return SearchResult(int(action), counts, values, int(simulations), int(steps), time.perf_counter() - t0)


def _check_search_args(n_states: int, state: int, simulations: int, gamma: float, depth: int) -> None:
    if not 0 <= int(state) < n_states:
        raise ValueError(f"state must be in [0, {n_states}), got {state!r}")
    if int(simulations) < 1:
        raise ValueError(f"simulations must be a positive integer, got {simulations!r}")
    if not 0.0 <= float(gamma) <= 1.0:
        raise ValueError(f"gamma must be in [0, 1], got {gamma!r}")
    if int(depth) < 1:
        raise ValueError(f"depth must be a positive integer, got {depth!r}")
