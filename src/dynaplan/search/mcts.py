"""Monte Carlo Tree Search over state-keyed tables: the transposition-table variants of UCT.

The book's MCTS (section 8.11) grows a tree of paths: that is ``search.tree`` (``key="path"``,
the default of ``mcts_search`` and ``MCTS``). This module keeps the statistics per state
instead, the way game programs use a transposition table, and offers the backups the
literature uses to make that sound on a graph with cycles.

Each simulation starts at the root state and repeats, within a horizon of ``depth`` steps:

1. **Selection**: in a node already in the table, an action never tried there (chosen at random
   among them) or else the action maximising UCB1 (Kocsis & Szepesvari 2006),
   ``Q[n, a] + c * sqrt(ln N[n] / N[n, a])``;
2. the model draws one outcome of the action (a stochastic model's chance node is a draw);
3. **Expansion**: the first node reached that is not yet in the table is added to it, and
4. **Evaluation** values it by a rollout (uniformly random, or greedy on ``q``) to the horizon,
   or by the value function ``max_a q[s, a]`` alone; a terminal outcome is worth 0 after its
   reward, and a node at the horizon is worth ``max_a q[s, a]``;
5. **Backup** (``backup``) of the discounted return ``G_t = r_t + gamma G_{t+1}`` along the path:

   * ``"every"``: every visit adds its return to ``W`` and ``N`` of its edge, ``Q = W / N``. On a
     graph with cycles a state met several times in one simulation gets several correlated
     returns of different lengths, pooled with the returns of earlier tree policies;
   * ``"first"``: only the first visit of each state in a simulation is backed up (first-visit
     Monte Carlo, section 5.1, applied to the table; Childs, Brodeur & Kocsis 2008 discuss the
     transposition problem in UCT);
   * ``"bellman"``: ``N`` counts visits as before but the edge value is a *partial Bellman
     backup* over the table, ``Q(s, a) = sum_k p_k [r_k + gamma max_b Q(s'_k, b)] / sum_k p_k``
     over the explored outcomes (``bellman_value``), the backup of MaxUCT and DP-UCT (Keller &
     Helmert 2013, "Trial-based heuristic tree search for finite horizon MDPs"); with a
     distribution model ``p_k`` are its empirical frequencies (MaxUCT), with the exact model the
     true probabilities (DP-UCT).

The table is arrays: a *node* is a row of ``N[node, a]`` and ``W[node, a]`` (and ``N[node]``
its visits) indexed by the state itself, so the child of an edge is found by indexing:

* ``key="state"``: ``node = s`` (S rows). Values of every depth share a node: the table is a
  per-state record of search statistics, which is what ``persist`` keeps between decisions;
* ``key="horizon"``: ``node = h * S + s`` with ``h`` the steps left before the horizon
  ((depth + 1) S rows): depth-indexed UCT. Each node estimates the finite-horizon
  ``q_h(s, a)``, and the search converges to backward induction's values
  (``planning.exact.finite_horizon_q``) whatever root it starts from.

The root action is the most visited one (ties: the better mean, then at random).

Unknown pairs of a learned model (``search.models``) are not simulated: their edge is worth
``q[s, a]`` and the simulation ends there.
"""

from __future__ import annotations

import math
import time
from typing import Any, NamedTuple

import numpy as np

from dynaplan._jit import kernel
from dynaplan._stamp import generic
from dynaplan.rng import from_seed
from dynaplan.search.models import check_model, model_known, model_outcome, model_sizes, model_width
from dynaplan.search.result import SearchResult
from dynaplan.search.rollout import _check_search_args, rollout_return, vmax
from dynaplan.search.tree import tree_search
from dynaplan.search.ucb import (  # noqa: F401  (EVAL_ROLLOUT re-exported for callers of this module)
    EVAL_GREEDY_ROLLOUT,
    EVAL_ROLLOUT,
    EVAL_VALUE,
    EVALUATIONS,
    most_visited,
    tree_step,
    ucb_select,
)

KEY_STATE = 0
KEY_HORIZON = 1
KEY_PATH = 2
KEYS = {"path": KEY_PATH, "state": KEY_STATE, "horizon": KEY_HORIZON}

BACKUP_EVERY = 0
BACKUP_FIRST = 1
BACKUP_BELLMAN = 2
BACKUPS = {"every": BACKUP_EVERY, "first": BACKUP_FIRST, "bellman": BACKUP_BELLMAN}



class SearchTree(NamedTuple):
    """The search statistics of MCTS, M nodes (M = S, or (depth + 1) S with ``key="horizon"``).

    Attributes:
      n: float64[M, A], visits of each edge N(node, a)
      w: float64[M, A], sum of the returns backed up through each edge W(node, a)
      visits: float64[M], visits of each node N(node) (a node is in the tree once > 0)
      mean: float64[M, A], W / N (+inf while N = 0, so untried actions come first), kept by the backup
      rsqrt: float64[M, A], 1 / sqrt(N) (0 while N = 0), kept by the backup
      mode: int64[1], the backup (0 every-visit, 1 first-visit, 2 Bellman; ``BACKUPS``)
      clock: int64[1], simulations run (stamps the first visits of a simulation)
      stamp: int64[M], the simulation that last visited each node (first-visit backups)
      first: int64[M], the path position of that first visit
      leaf: float64[2, M], sum and count of the leaf evaluations made at each node (Bellman backups)
      budget: int64[1], model steps per search (0: no budget but the simulations)
      ran: int64[1], simulations run by the last ``mcts_run``

    ``mean`` and ``rsqrt`` cost one division and one square root per edge backed up and save
    A of each per selection: UCB1 is then ``mean + c sqrt(ln N(node)) rsqrt``. With Bellman
    backups ``mean`` holds the Bellman value of the edge instead of ``W / N``.
    """

    n: np.ndarray
    w: np.ndarray
    visits: np.ndarray
    mean: np.ndarray
    rsqrt: np.ndarray
    mode: np.ndarray
    clock: np.ndarray
    stamp: np.ndarray
    first: np.ndarray
    leaf: np.ndarray
    budget: np.ndarray
    ran: np.ndarray


def new_tree(
    n_states: int, n_actions: int, depth: int, key: str = "state", backup: str = "every", max_steps: int = 0
) -> SearchTree:
    """An empty state- or horizon-keyed table for S states, A actions and a horizon of ``depth`` steps.

    ``backup`` (``"every"``, ``"first"``, ``"bellman"``; the last two need ``key="state"``) is
    kept in the table (``mode``), and so is ``max_steps``, a budget of model steps per search
    (``mcts_run`` starts no simulation once its steps reach it). The book's tree
    (``key="path"``) is ``search.tree.new_search_tree``.
    """
    if key not in ("state", "horizon"):
        raise ValueError(f"key must be 'state' or 'horizon' for a state-keyed table, got {key!r}")
    if backup not in BACKUPS:
        raise ValueError(f"backup must be one of {', '.join(BACKUPS)}, got {backup!r}")
    if backup != "every" and key != "state":
        raise ValueError(f"backup={backup!r} needs key='state' (horizon-keyed nodes never repeat on a path)")
    rows = n_states if key == "state" else (depth + 1) * n_states
    shape = (rows, n_actions)
    return SearchTree(
        np.zeros(shape), np.zeros(shape), np.zeros(rows), np.full(shape, np.inf), np.zeros(shape),
        np.array([BACKUPS[backup]], dtype=np.int64), np.zeros(1, dtype=np.int64),
        np.zeros(rows, dtype=np.int64), np.zeros(rows, dtype=np.int64), np.zeros((2, rows)),
        np.array([max_steps], dtype=np.int64), np.zeros(1, dtype=np.int64),
    )


@kernel
def clear_tree(tree: SearchTree) -> None:
    """Forget every statistic (a search without persistence starts from an empty tree)."""
    tree.n[:] = 0.0
    tree.w[:] = 0.0
    tree.visits[:] = 0.0
    tree.mean[:] = np.inf
    tree.rsqrt[:] = 0.0
    tree.leaf[:] = 0.0


@kernel(inline=True)
def node_of(s: int, h: int, n_states: int, key: int) -> int:
    return s if key == KEY_STATE else h * n_states + s




@generic
@kernel
def mcts_run(
    model: Any,
    tree: SearchTree,
    q: np.ndarray,
    s0: int,
    simulations: int,
    c: float,
    gamma: float,
    depth: int,
    evaluation: int,
    key: int,
    path: np.ndarray,
    rews: np.ndarray,
    rng: np.ndarray,
) -> int:
    """Run ``simulations`` UCT simulations from ``s0`` into ``tree``; returns the model steps drawn.

    ``q: float64[S, A]`` gives leaf values (``max_a q``), values unknown pairs and guides greedy
    rollouts. Every model draw (tree descent and rollout) counts as one model step. Scratch
    space for one simulation's path: ``path: int64[2, depth]`` (nodes, actions) and
    ``rews: float64[depth]`` (kernels reached from the agent protocol allocate nothing).
    """
    n_states = q.shape[0]
    nodes = path[0]
    acts = path[1]
    steps = 0
    greedy = evaluation == EVAL_GREEDY_ROLLOUT
    mode = tree.mode[0]
    budget = tree.budget[0]
    ran = 0
    spent = 0  # model steps, and at least 1 per simulation (one ended at an unknown pair costs a query)
    for _ in range(simulations):
        if budget > 0 and spent >= budget:
            break
        ran += 1
        before = steps
        s = s0
        h = depth
        length = 0
        leaf = 0.0
        expanded = -1
        while True:
            node = node_of(s, h, n_states, key)
            a = ucb_select(tree, node, c, rng)
            nodes[length] = node
            acts[length] = a
            s, h, length, k, stop, leaf = tree_step(model, q, s, a, h, rews, length, rng)
            steps += k
            if stop:
                break
            child = node_of(s, h, n_states, key)
            if tree.visits[child] == 0.0:
                tree.visits[child] = 1.0  # expansion: the node joins the tree
                expanded = child
                if evaluation == EVAL_VALUE:
                    leaf = vmax(q, s)
                else:
                    leaf, k = rollout_return(model, q, s, h, gamma, greedy, rng)
                    steps += k
                break
        if mode == BACKUP_BELLMAN and expanded >= 0:
            tree.leaf[0, expanded] += leaf
            tree.leaf[1, expanded] += 1.0
        if mode == BACKUP_FIRST:
            tree.clock[0] += 1
            sim = tree.clock[0]
            for i in range(length):
                node = nodes[i]
                if tree.stamp[node] != sim:
                    tree.stamp[node] = sim
                    tree.first[node] = i
        g = leaf
        for i in range(length - 1, -1, -1):
            g = rews[i] + gamma * g
            node = nodes[i]
            a = acts[i]
            if mode == BACKUP_FIRST and tree.first[node] != i:
                continue  # a later visit of a state already on this path: one sample per state
            na = tree.n[node, a] + 1.0
            wa = tree.w[node, a] + g
            if mode == BACKUP_BELLMAN:
                # computed before N(s, a) counts this visit: a first visit's edge is not yet part
                # of V(s) (a self-loop backs up the other tried actions)
                tree.mean[node, a] = bellman_value(model, tree, q, node, a, gamma, wa / na)
            else:
                tree.mean[node, a] = wa / na
            tree.n[node, a] = na
            tree.w[node, a] = wa
            tree.rsqrt[node, a] = 1.0 / math.sqrt(na)
            tree.visits[node] += 1.0
        spent += max(steps - before, 1)
    tree.ran[0] = ran
    return steps


@kernel(inline=True)
def node_value(tree: SearchTree, s: int) -> float:
    """V(s) of a state-keyed table under Bellman backups: the best tried edge, else the mean leaf evaluation."""
    best = -np.inf
    for b in range(tree.n.shape[1]):
        if tree.n[s, b] > 0.0 and tree.mean[s, b] > best:
            best = tree.mean[s, b]
    if best > -np.inf:
        return best
    if tree.leaf[1, s] > 0.0:
        return tree.leaf[0, s] / tree.leaf[1, s]
    return 0.0


@kernel(inline=True)
def bellman_value(
    model: Any, tree: SearchTree, q: np.ndarray, s: int, a: int, gamma: float, mc_mean: float
) -> float:
    """The partial Bellman backup of edge (s, a) over the statistics (Keller & Helmert 2013).

    ``Q(s, a) = sum_k p_k [r_k + gamma V(s'_k)] / sum_k p_k`` over the *explored* outcomes k
    (terminal, or a next state already in the table), with ``V(s') = max_b Q(s', b)`` over the
    tried actions (``node_value``): DP-UCT's backup with an exact model's probabilities, and
    MaxUCT's with a distribution model's empirical frequencies. An unknown pair of a learned model
    is worth ``q[s, a]``; an edge none of whose outcomes is explored is worth ``mc_mean``, its
    Monte Carlo mean.
    """
    if not model_known(model, s, a):
        return q[s, a]
    num = 0.0
    den = 0.0
    for k in range(model_width(model)):
        p, s2, r, term = model_outcome(model, s, a, k)
        if p <= 0.0:
            continue
        if term:
            num += p * r
            den += p
        elif tree.visits[s2] > 0.0:
            num += p * (r + gamma * node_value(tree, s2))
            den += p
    if den > 0.0:
        return num / den
    return mc_mean




@generic
@kernel
def mcts_decide(
    model: Any,
    tree: SearchTree,
    q: np.ndarray,
    s0: int,
    simulations: int,
    c: float,
    gamma: float,
    depth: int,
    evaluation: int,
    key: int,
    persist: bool,
    path: np.ndarray,
    rews: np.ndarray,
    rng: np.ndarray,
) -> tuple[int, int]:
    """One decision: (clear the tree unless ``persist``), search, pick the root action.

    Returns ``(action, model steps)``.
    """
    if not persist:
        clear_tree(tree)
    steps = mcts_run(model, tree, q, s0, simulations, c, gamma, depth, evaluation, key, path, rews, rng)
    return most_visited(tree, node_of(s0, depth, q.shape[0], key), rng), steps


def mcts_search(
    model: Any,
    state: int,
    *,
    simulations: int | None = 1000,
    seconds: float | None = None,
    c: float = 1.0,
    gamma: float = 0.95,
    depth: int = 50,
    evaluation: str = "rollout",
    key: str = "path",
    backup: str = "every",
    q: np.ndarray | None = None,
    tree: Any = None,
    max_nodes: int | None = None,
    seed: int | None = None,
    rng: np.ndarray | None = None,
    chunk: int = 64,
) -> SearchResult:
    """MCTS from ``state`` over ``model`` (a ``TabularModel``, ``SampleModel`` or ``DistributionModel``).

    ``key="path"`` (default) grows the book's tree (``search.tree``; ``tree`` an ``MCTSTree``,
    ``max_nodes`` its capacity); ``key="state"`` / ``"horizon"`` use the state-keyed tables of
    this module (``tree`` from ``new_tree``), with ``backup`` every-visit, first-visit or
    Bellman (``key="state"`` only).

    Budget: ``simulations``, or ``seconds`` of wall time (then ``simulations`` is ignored; the
    clock is read in Python between compiled chunks of simulations that start at ``chunk`` and
    double while time remains, so a search may overrun by one chunk). Passing a ``tree``
    continues from its statistics and leaves them there (persistence; a path tree is continued
    only if its root stands for ``state``); without one the search starts empty.
    ``q: float64[S, A]`` (zeros by default) values leaves and unknown pairs and guides greedy
    rollouts. Randomness: ``rng`` (a ``uint64[4]`` state, advanced in place) or ``seed``.
    """
    check_model(model, expected=backup == "bellman")
    n_states, n_actions = model_sizes(model)
    if seconds is None:
        if simulations is None:
            raise ValueError("give simulations or seconds")
        _check_search_args(n_states, state, simulations, gamma, depth)
    else:
        if not seconds > 0:
            raise ValueError(f"seconds must be a positive number, got {seconds!r}")
        _check_search_args(n_states, state, 1, gamma, depth)
    if evaluation not in EVALUATIONS:
        raise ValueError(f"evaluation must be one of {', '.join(EVALUATIONS)}, got {evaluation!r}")
    if key not in KEYS:
        raise ValueError(f"key must be one of {', '.join(KEYS)}, got {key!r}")
    if not c >= 0:
        raise ValueError(f"c must be a non-negative number, got {c!r}")
    q = np.zeros((n_states, n_actions)) if q is None else np.ascontiguousarray(q, dtype=np.float64)
    rng = from_seed(np.random.SeedSequence(seed)) if rng is None else rng
    path, rews = np.zeros((2, int(depth)), dtype=np.int64), np.zeros(int(depth))
    t0 = time.perf_counter()
    if key == "path":
        if backup != "every":
            raise ValueError(f"backup={backup!r} needs key='state' (a tree has no transpositions)")
        args_t = (float(c), float(gamma), int(depth), EVALUATIONS[evaluation], path, rews)
        action, n_root, values, sims, steps, _ = tree_search(
            model, int(state), simulations, seconds, args_t, q, tree, max_nodes, rng, chunk
        )
        return SearchResult(action, n_root, values, sims, steps, time.perf_counter() - t0)
    if tree is None:
        tree = new_tree(n_states, n_actions, int(depth), key, backup)
    elif tree.n.shape != new_tree(n_states, n_actions, int(depth), key).n.shape:
        raise ValueError("tree does not match the model's sizes, depth and key")
    args = (float(c), float(gamma), int(depth), EVALUATIONS[evaluation], KEYS[key], path, rews)
    if seconds is None:
        assert simulations is not None
        sims = int(simulations)
        steps = mcts_run(model, tree, q, int(state), sims, *args, rng)
    else:
        sims, steps, size = 0, 0, max(1, int(chunk))
        while time.perf_counter() - t0 < seconds:
            steps += mcts_run(model, tree, q, int(state), size, *args, rng)
            sims += size
            size *= 2
    root = int(state) if key == "state" else int(depth) * n_states + int(state)
    action = most_visited(tree, root, rng)
    n_root = tree.n[root].copy()
    if backup == "bellman":
        values = np.where(n_root > 0, tree.mean[root], np.nan)
    else:
        values = np.divide(tree.w[root], n_root, out=np.full(n_actions, np.nan), where=n_root > 0)
    return SearchResult(int(action), n_root, values, sims, int(steps), time.perf_counter() - t0)
