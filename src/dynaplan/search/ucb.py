"""The steps every MCTS of this package shares, whatever holds its statistics (the book's path
tree, ``search.path_tree``, or a state table, ``search.state_table``): UCB1 selection, one model
step of the descent, the evaluation of a new leaf, and the final move choice.

UCB1 (Auer, Cesa-Bianchi & Fischer 2002) as used by UCT (Kocsis & Szepesvari 2006) and the
book's MCTS (section 8.11): an untried action first, else the maximiser of
``mean[a] + c sqrt(log N) / sqrt(n[a])``. Both functions read a record with fields
``n, w: float64[nodes, A]``, ``mean, rsqrt: float64[nodes, A]`` and ``visits: float64[nodes]``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from dynaplan._jit import kernel
from dynaplan.rng import rand
from dynaplan.search.models import model_known, model_sample
from dynaplan.search.rollout import rollout_return, vmax

EVAL_ROLLOUT = 0
EVAL_VALUE = 1
EVAL_GREEDY_ROLLOUT = 2
EVALUATIONS = {"rollout": EVAL_ROLLOUT, "value": EVAL_VALUE, "greedy-rollout": EVAL_GREEDY_ROLLOUT}


@kernel(inline=True)
def ucb_select(tree: Any, node: int, c: float, rng: np.ndarray) -> int:
    """An untried action of ``node`` (uniformly among them), else the UCB1 maximiser (ties uniformly).

    An untried action scores +inf; one uniform is drawn per selection, used only to break ties.
    """
    return ucb_action(tree.mean[node], tree.rsqrt[node], tree.visits[node], c, rand(rng))


@kernel(inline=True)
def ucb_action(mean: np.ndarray, rsqrt: np.ndarray, visits: float, c: float, u: float) -> int:
    """:func:`ucb_select` on one node's rows (``mean``, ``rsqrt``: float64[A]; ``visits`` its N),
    the tie broken by the uniform ``u``: the ``int(u * ties)``-th maximiser."""
    n_actions = mean.shape[0]
    bonus = c * math.sqrt(math.log(max(visits, 1.0)))
    best = -np.inf
    ties = 0
    for a in range(n_actions):
        v = mean[a] + bonus * rsqrt[a]
        if v > best:
            best = v
            ties = 1
        elif v == best:
            ties += 1
    pick = int(u * ties)
    best_a = 0
    for a in range(n_actions):
        if mean[a] + bonus * rsqrt[a] == best:
            if pick == 0:
                best_a = a
                break
            pick -= 1
    return best_a


@kernel(inline=True)
def descend_step(
    model: Any, q: np.ndarray, s: int, a: int, h: int, rews: np.ndarray, length: int, rng: np.ndarray
) -> tuple[int, int, int, int, bool, float]:
    """Take the selected action ``a`` in ``s`` inside the tree, recording its reward in ``rews[length]``.

    Returns ``(state, steps left, length + 1, model steps drawn, stop, leaf)``. The simulation
    stops at an unknown pair of a learned model (its reward is ``q[s, a]``, no draw), at a
    terminal outcome (leaf 0) or at the horizon (leaf ``max_a q[s', a]``); state and steps left
    move on only when it does not end at a terminal or an unknown pair.
    """
    if not model_known(model, s, a):
        rews[length] = q[s, a]
        return s, h, length + 1, 0, True, 0.0
    s2, r, term = model_sample(model, s, a, rng)
    rews[length] = r
    if term:
        return s, h, length + 1, 1, True, 0.0
    if h == 1:
        return s2, 0, length + 1, 1, True, vmax(q, s2)
    return s2, h - 1, length + 1, 1, False, 0.0


@kernel(inline=True)
def evaluate_leaf(
    model: Any, q: np.ndarray, s: int, h: int, gamma: float, evaluation: int, rng: np.ndarray
) -> tuple[float, int]:
    """The value of a node just added for state ``s`` with ``h`` steps left: ``(value, model steps)``.

    ``evaluation``: ``EVAL_VALUE`` reads ``max_a q[s, a]`` (no draw); ``EVAL_ROLLOUT`` /
    ``EVAL_GREEDY_ROLLOUT`` follow a uniformly random / greedy-on-``q`` rollout to the horizon
    (``search.rollout.rollout_return``; section 8.11's simulation step).
    """
    if evaluation == EVAL_VALUE:
        return vmax(q, s), 0
    return rollout_return(model, q, s, h, gamma, evaluation == EVAL_GREEDY_ROLLOUT, rng)


@kernel
def most_visited(tree: Any, node: int, rng: np.ndarray) -> int:
    """The root action with the most visits; ties broken by the better mean, then at random."""
    return most_visited_action(tree.n[node], tree.w[node], rng)


@kernel
def most_visited_action(n: np.ndarray, w: np.ndarray, rng: np.ndarray) -> int:
    """:func:`most_visited` on one node's rows (``n``, ``w``: float64[A], visits and return sums)."""
    best = 0
    ties = 1
    for a in range(1, n.shape[0]):
        na, nb = n[a], n[best]
        if na > nb:
            best, ties = a, 1
        elif na == nb and na > 0.0:
            ma, mb = w[a] / na, w[best] / nb
            if ma > mb:
                best, ties = a, 1
            elif ma == mb:
                ties += 1
                if rand(rng) * ties < 1.0:
                    best = a
        elif na == nb:
            ties += 1
            if rand(rng) * ties < 1.0:
                best = a
    return best
