"""Heuristic search (book section 8.9): a depth-limited tree of exact expected updates.

From the current state the tree branches on every action and, through a distribution model,
on every outcome, down to ``depth`` levels; the leaves are valued by the agent's value function
``v(s) = max_a q[s, a]``, and the values are backed up to the root by expected updates
(the "backing up" of Figure 8.9, done depth first):

    Q_d(s, a) = sum_k p_k [ r_k + gamma * (0 if terminal_k else V_{d-1}(s'_k)) ],
    V_d(s) = max_a Q_d(s, a),   V_0(s) = max_a q[s, a].

The cost is (A K)^depth expansions: this is the plain search of the book, with no transposition
table. The exact counterpart is ``planning.exact.finite_horizon_q`` with ``leaf_values = max q``.
A sample model gives a deterministic tree; unknown pairs of a learned model are valued ``q[s, a]``.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from dynaplan._jit import kernel
from dynaplan._stamp import generic
from dynaplan.core.egreedy import argmax_random
from dynaplan.rng import from_seed
from dynaplan.search.models import check_model, model_known, model_outcome, model_sizes, model_width
from dynaplan.search.result import SearchResult
from dynaplan.search.rollout import _check_search_args, vmax


@kernel(inline=True)
def lookahead_action_value(
    model: Any, q: np.ndarray, s: int, a: int, depth: int, gamma: float, count: np.ndarray
) -> float:
    """Q_depth(s, a): the expected backup of V_{depth-1} over the pair's outcomes (``q[s, a]``
    for an unknown pair); ``count[0]`` += outcomes expanded."""
    if not model_known(model, s, a):
        return q[s, a]
    val = 0.0
    for k in range(model_width(model)):
        p, s2, r, term = model_outcome(model, s, a, k)
        if p > 0.0:
            count[0] += 1
            tail = 0.0 if term else gamma * lookahead_value(model, q, s2, depth - 1, gamma, count)
            val += p * (r + tail)
    return val


@generic
@kernel
def lookahead_value(model: Any, q: np.ndarray, s: int, depth: int, gamma: float, count: np.ndarray) -> float:
    """V_depth(s) = max_a Q_depth(s, a) by depth-first expected backups, V_0(s) = max_a q[s, a]."""
    if depth == 0:
        return vmax(q, s)
    best = -np.inf
    for a in range(q.shape[1]):
        val = lookahead_action_value(model, q, s, a, depth, gamma, count)
        if val > best:
            best = val
    return best


@generic
@kernel
def lookahead_q(model: Any, q: np.ndarray, s: int, depth: int, gamma: float, out: np.ndarray, count: np.ndarray) -> int:
    """Q_depth(s, a) for every action into ``out: float64[A]``; returns the outcomes expanded.

    ``count: int64[1]`` is scratch space (reset here).
    """
    count[0] = 0
    for a in range(q.shape[1]):
        out[a] = lookahead_action_value(model, q, s, a, depth, gamma, count)
    return int(count[0])


@generic
@kernel
def lookahead_act(
    model: Any, q: np.ndarray, s: int, depth: int, gamma: float, out: np.ndarray, count: np.ndarray, rng: np.ndarray
) -> tuple[int, int]:
    """The greedy root action of a depth-``depth`` lookahead (ties at random) and the outcomes expanded."""
    n = lookahead_q(model, q, s, depth, gamma, out, count)
    return argmax_random(out, rng), n


def lookahead_search(
    model: Any,
    state: int,
    *,
    depth: int = 3,
    gamma: float = 0.95,
    q: np.ndarray | None = None,
    seed: int | None = None,
    rng: np.ndarray | None = None,
) -> SearchResult:
    """Depth-limited expectimax from ``state`` (section 8.9); leaf values ``max q`` (zeros by default).

    Randomness (only to break ties between equal root values): ``rng`` or ``seed``.
    """
    check_model(model, expected=True)
    n_states, n_actions = model_sizes(model)
    _check_search_args(n_states, state, 1, gamma, depth)
    q = np.zeros((n_states, n_actions)) if q is None else np.ascontiguousarray(q, dtype=np.float64)
    rng = from_seed(np.random.SeedSequence(seed)) if rng is None else rng
    out = np.zeros(n_actions)
    t0 = time.perf_counter()
    count = np.zeros(1, dtype=np.int64)
    action, expanded = lookahead_act(model, q, int(state), int(depth), float(gamma), out, count, rng)
    return SearchResult(int(action), np.ones(n_actions), out, 0, int(expanded), time.perf_counter() - t0)
