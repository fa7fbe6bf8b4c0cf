"""Monte Carlo Tree Search with UCB1 (UCT; book section 8.11, Kocsis & Szepesvari 2006).

Each simulation starts at the root state and repeats, within a horizon of ``depth`` steps:

1. **Selection**: in a node already in the tree, an action never tried there (chosen at random
   among them) or else the action maximising UCB1,
   ``W[n, a] / N[n, a] + c * sqrt(ln N[n] / N[n, a])``;
2. the model draws one outcome of the action (*sampled outcomes*: a stochastic model's chance
   node is a draw, and the child is the node of the state drawn);
3. **Expansion**: the first node reached that is not yet in the tree is added to it, and
4. **Evaluation** values it by a rollout (uniformly random, or greedy on ``q``) to the horizon,
   or by the value function ``max_a q[s, a]`` alone; a terminal outcome is worth 0 after its
   reward, and a node at the horizon is worth ``max_a q[s, a]``;
5. **Backup**: the discounted return ``G_t = r_t + gamma G_{t+1}`` is added to ``W`` and
   ``N`` of every edge on the path.

The tree is arrays, not objects: a *node* is a row of ``N[node, a]`` and ``W[node, a]`` (and
``N[node]`` its visits) indexed by the state itself, so a state reached along different paths
is one node (a transposition table), and the child of an edge is found by indexing, not stored:

* ``key="state"``: ``node = s`` (S rows). Values of every depth share a node: the table is a
  per-state record of search statistics, which is what ``persist`` keeps between decisions;
* ``key="horizon"``: ``node = h * S + s`` with ``h`` the steps left before the horizon
  ((depth + 1) S rows). Each node then estimates the finite-horizon ``q_h(s, a)``, and the search
  converges to backward induction's values (``planning.exact.finite_horizon_q``) whatever root
  it starts from, so its statistics stay valid across decisions too.

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
from dynaplan.rng import from_seed, rand
from dynaplan.search.models import check_model, model_known, model_sample, model_sizes
from dynaplan.search.result import SearchResult
from dynaplan.search.rollout import _check_search_args, rollout_return, vmax

KEY_STATE = 0
KEY_HORIZON = 1
KEYS = {"state": KEY_STATE, "horizon": KEY_HORIZON}

EVAL_ROLLOUT = 0
EVAL_VALUE = 1
EVAL_GREEDY_ROLLOUT = 2
EVALUATIONS = {"rollout": EVAL_ROLLOUT, "value": EVAL_VALUE, "greedy-rollout": EVAL_GREEDY_ROLLOUT}


class SearchTree(NamedTuple):
    """The search statistics of MCTS, M nodes (M = S, or (depth + 1) S with ``key="horizon"``).

    Attributes:
      n: float64[M, A], visits of each edge N(node, a)
      w: float64[M, A], sum of the returns backed up through each edge W(node, a)
      visits: float64[M], visits of each node N(node) (a node is in the tree once > 0)
      mean: float64[M, A], W / N (+inf while N = 0, so untried actions come first), kept by the backup
      rsqrt: float64[M, A], 1 / sqrt(N) (0 while N = 0), kept by the backup

    ``mean`` and ``rsqrt`` cost one division and one square root per edge backed up and save
    A of each per selection: UCB1 is then ``mean + c sqrt(ln N(node)) rsqrt``.
    """

    n: np.ndarray
    w: np.ndarray
    visits: np.ndarray
    mean: np.ndarray
    rsqrt: np.ndarray


def new_tree(n_states: int, n_actions: int, depth: int, key: str = "state") -> SearchTree:
    """An empty tree for S states, A actions and a horizon of ``depth`` steps."""
    if key not in KEYS:
        raise ValueError(f"key must be one of {', '.join(KEYS)}, got {key!r}")
    rows = n_states if key == "state" else (depth + 1) * n_states
    shape = (rows, n_actions)
    return SearchTree(np.zeros(shape), np.zeros(shape), np.zeros(rows), np.full(shape, np.inf), np.zeros(shape))


@kernel
def clear_tree(tree: SearchTree) -> None:
    """Forget every statistic (a search without persistence starts from an empty tree)."""
    tree.n[:] = 0.0
    tree.w[:] = 0.0
    tree.visits[:] = 0.0
    tree.mean[:] = np.inf
    tree.rsqrt[:] = 0.0


@kernel(inline=True)
def node_of(s: int, h: int, n_states: int, key: int) -> int:
    return s if key == KEY_STATE else h * n_states + s


@kernel(inline=True)
def ucb_select(tree: SearchTree, node: int, c: float, rng: np.ndarray) -> int:
    """An untried action of ``node`` (uniformly among them), else the UCB1 maximiser (ties uniformly).

    An untried action scores +inf; one uniform is drawn per selection, used only to break ties.
    """
    n_actions = tree.n.shape[1]
    mean = tree.mean[node]
    rsqrt = tree.rsqrt[node]
    u = rand(rng)
    bonus = c * math.sqrt(math.log(max(tree.visits[node], 1.0)))
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
    for _ in range(simulations):
        s = s0
        h = depth
        length = 0
        leaf = 0.0
        while True:
            node = node_of(s, h, n_states, key)
            a = ucb_select(tree, node, c, rng)
            nodes[length] = node
            acts[length] = a
            if not model_known(model, s, a):
                rews[length] = q[s, a]
                length += 1
                break
            s2, r, term = model_sample(model, s, a, rng)
            steps += 1
            rews[length] = r
            length += 1
            if term:
                break
            h -= 1
            s = s2
            if h == 0:
                leaf = vmax(q, s)
                break
            child = node_of(s, h, n_states, key)
            if tree.visits[child] == 0.0:
                tree.visits[child] = 1.0  # expansion: the node joins the tree
                if evaluation == EVAL_VALUE:
                    leaf = vmax(q, s)
                else:
                    leaf, k = rollout_return(model, q, s, h, gamma, greedy, rng)
                    steps += k
                break
        g = leaf
        for i in range(length - 1, -1, -1):
            g = rews[i] + gamma * g
            node = nodes[i]
            a = acts[i]
            na = tree.n[node, a] + 1.0
            wa = tree.w[node, a] + g
            tree.n[node, a] = na
            tree.w[node, a] = wa
            tree.mean[node, a] = wa / na
            tree.rsqrt[node, a] = 1.0 / math.sqrt(na)
            tree.visits[node] += 1.0
    return steps


@kernel
def most_visited(tree: SearchTree, node: int, rng: np.ndarray) -> int:
    """The root action with the most visits; ties broken by the better mean, then at random."""
    n_actions = tree.n.shape[1]
    best = 0
    ties = 1
    for a in range(1, n_actions):
        na, nb = tree.n[node, a], tree.n[node, best]
        if na > nb:
            best, ties = a, 1
        elif na == nb and na > 0.0:
            ma, mb = tree.w[node, a] / na, tree.w[node, best] / nb
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
    key: str = "state",
    q: np.ndarray | None = None,
    tree: SearchTree | None = None,
    seed: int | None = None,
    rng: np.ndarray | None = None,
    chunk: int = 64,
) -> SearchResult:
    """UCT from ``state`` over ``model`` (a ``TabularModel``, ``SampleModel`` or ``DistributionModel``).

    Budget: ``simulations``, or ``seconds`` of wall time (then ``simulations`` is ignored; the
    clock is read in Python between compiled chunks of simulations that start at ``chunk`` and
    double while time remains, so a search may overrun by one chunk). Passing a ``tree`` (from
    ``new_tree``) continues from its statistics and leaves them there (persistence); without
    one the search starts empty. ``q: float64[S, A]`` (zeros by default) values leaves and
    unknown pairs. Randomness: ``rng`` (a ``uint64[4]`` state, advanced in place) or ``seed``.
    """
    check_model(model)
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
    if not c >= 0:
        raise ValueError(f"c must be a non-negative number, got {c!r}")
    if tree is None:
        tree = new_tree(n_states, n_actions, int(depth), key)
    elif key not in KEYS or tree.n.shape != new_tree(n_states, n_actions, int(depth), key).n.shape:
        raise ValueError("tree does not match the model's sizes, depth and key")
    q = np.zeros((n_states, n_actions)) if q is None else np.ascontiguousarray(q, dtype=np.float64)
    rng = from_seed(np.random.SeedSequence(seed)) if rng is None else rng
    path, rews = np.zeros((2, int(depth)), dtype=np.int64), np.zeros(int(depth))
    args = (float(c), float(gamma), int(depth), EVALUATIONS[evaluation], KEYS[key], path, rews)
    t0 = time.perf_counter()
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
    values = np.divide(tree.w[root], n_root, out=np.full(n_actions, np.nan), where=n_root > 0)
    return SearchResult(int(action), n_root, values, sims, int(steps), time.perf_counter() - t0)
