"""Monte Carlo Tree Search as the book defines it: a tree of paths (section 8.11).

Sutton & Barto (2nd ed., section 8.11, Figure 8.10) describe MCTS as growing a *tree* rooted
at the current state, each simulation doing four things:

1. **Selection**: from the root, the *tree policy* picks actions in the nodes already in the
   tree: here UCB1 (Kocsis & Szepesvari 2006; Auer, Cesa-Bianchi & Fischer 2002), an untried
   action first (uniformly among them), else the maximiser of
   ``W(n, a) / N(n, a) + c sqrt(ln N(n) / N(n, a))``;
2. **Expansion**: the first node reached that is not in the tree joins it (one node per
   simulation);
3. **Simulation**: the *rollout policy* finishes the episode (to the horizon) from there:
   uniformly random (``evaluation="rollout"``), greedy on a value table ``q``
   (``"greedy-rollout"``: the agent's Q, or any table given to ``mcts_search``), or no rollout,
   the leaf valued by ``max_a q`` (``"value"``);
4. **Backup**: the discounted return is added to the statistics of every edge on the path.

A node is a *path* from the root, not a state: the same state reached along two paths is two
nodes, and every node's statistics are returns of the sub-episodes that passed through it, with
the horizon counted from the root. A stochastic model's chance outcome is sampled, and each
distinct next state drawn from an edge is a child of its own (a *chance node* holds the children
of one edge, kept as a linked list of siblings).

The nodes live in preallocated arrays (``PathTree``): ``state``, ``parent``, ``action`` (the
edge from the parent), the first child of each edge and the next sibling, edge visits and return
sums, node visits. A search allocates nothing; when the capacity is reached, simulations go on
without adding nodes.

**Tree reuse** (the book: "the tree ... rooted at the selected action's next state may be kept
for the next decision"): ``path_tree_reroot(tree, a, s')`` keeps the subtree of the chosen action
and the observed next state as the new root and drops the rest, compacting it in place (children
are always created after their parent, so one pass in index order moves every kept node down);
it returns how many nodes were kept. The statistics kept are exactly those of the simulations'
suffixes through that node, which a fresh search from ``s'`` taking the same samples would hold.

Unknown pairs of a learned model (``search.models``) are not simulated: the edge is worth
``q[s, a]`` and the simulation ends there. The root action is the most visited one (ties: the
better mean, then at random).

The code follows the shape of mctx's ``search`` (DeepMind): ``path_tree_run`` repeats
``path_simulate`` (selection down to a new leaf, then ``path_expand``: the node joins the tree and
is evaluated) and ``path_backward`` (the returns along the path). The state table of
``search.state_table`` (``key="state"`` or ``"horizon"``) is the transposition-table variant; this
module is ``key="path"``. The agent that acts by it is ``search.searchers.PathTreeAgentState``.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np

from dynaplan._jit import kernel
from dynaplan._stamp import generic
from dynaplan.search.ucb import descend_step, evaluate_leaf, ucb_select

__all__ = [
    "PathTree",
    "grown",
    "new_path_tree",
    "path_backward",
    "path_child",
    "path_expand",
    "path_simulate",
    "path_tree_reroot",
    "path_tree_reset",
    "path_tree_run",
]


class PathTree(NamedTuple):
    """The book's search tree in arrays, capacity M nodes, A actions; the root is node 0.

    Attributes:
      state: int64[M], the state each node stands for
      parent: int64[M], the parent node (-1 at the root)
      action: int64[M], the action of the edge from the parent
      first_child: int64[M, A], the most recently added child of each edge (-1: none)
      sibling: int64[M], the next child of the same edge (another chance outcome; -1: none)
      n: float64[M, A], visits of each edge N(n, a)
      w: float64[M, A], sum of the returns backed up through each edge W(n, a)
      mean: float64[M, A], W / N (+inf while N = 0, so untried actions come first)
      rsqrt: float64[M, A], 1 / sqrt(N) (0 while N = 0)
      visits: float64[M], visits of each node N(n)
      remap: int64[M], scratch space of ``path_tree_reroot``
      size: int64[1], nodes in use
      reused: int64[1], nodes kept by the last ``path_tree_reroot``
      ran: int64[1], simulations run by the last ``path_tree_run``
    """

    state: np.ndarray
    parent: np.ndarray
    action: np.ndarray
    first_child: np.ndarray
    sibling: np.ndarray
    n: np.ndarray
    w: np.ndarray
    mean: np.ndarray
    rsqrt: np.ndarray
    visits: np.ndarray
    remap: np.ndarray
    size: np.ndarray
    reused: np.ndarray
    ran: np.ndarray


def new_path_tree(capacity: int, n_actions: int) -> PathTree:
    """An empty tree of ``capacity`` nodes (at least 1) for A actions."""
    m = max(1, int(capacity))
    shape = (m, int(n_actions))
    i64 = np.int64
    return PathTree(
        np.zeros(m, dtype=i64), np.full(m, -1, dtype=i64), np.full(m, -1, dtype=i64), np.full(shape, -1, dtype=i64),
        np.full(m, -1, dtype=i64), np.zeros(shape), np.zeros(shape), np.full(shape, np.inf), np.zeros(shape),
        np.zeros(m), np.zeros(m, dtype=i64), np.zeros(1, dtype=i64), np.zeros(1, dtype=i64), np.zeros(1, dtype=i64),
    )


def grown(tree: PathTree, capacity: int) -> PathTree:
    """A copy of ``tree`` with room for ``capacity`` nodes (Python; used between timed chunks)."""
    out = new_path_tree(capacity, tree.n.shape[1])
    size = int(tree.size[0])
    for name, old, new in zip(PathTree._fields, tree, out, strict=True):
        if name in ("size", "reused", "ran"):
            new[:] = old
        else:
            new[:size] = old[:size]
    return out


@kernel(inline=True)
def add_node(tree: PathTree, s: int, parent: int, a: int) -> int:
    """A new node for state ``s`` under edge (parent, a), or -1 when the tree is full."""
    node = tree.size[0]
    if node >= tree.state.shape[0]:
        return -1
    tree.size[0] = node + 1
    tree.state[node] = s
    tree.parent[node] = parent
    tree.action[node] = a
    tree.visits[node] = 0.0
    for b in range(tree.n.shape[1]):
        tree.first_child[node, b] = -1
        tree.n[node, b] = 0.0
        tree.w[node, b] = 0.0
        tree.mean[node, b] = np.inf
        tree.rsqrt[node, b] = 0.0
    if parent >= 0:
        tree.sibling[node] = tree.first_child[parent, a]
        tree.first_child[parent, a] = node
    else:
        tree.sibling[node] = -1
    return node


@kernel
def path_tree_reset(tree: PathTree, s: int) -> None:
    """Forget the tree; the root becomes a fresh node for state ``s``."""
    tree.size[0] = 0
    tree.reused[0] = 0
    add_node(tree, s, -1, 0)


@kernel(inline=True)
def path_child(tree: PathTree, node: int, a: int, s: int) -> int:
    """The child of edge (node, a) standing for state ``s`` (-1: none)."""
    child = tree.first_child[node, a]
    while child >= 0 and tree.state[child] != s:
        child = tree.sibling[child]
    return child


@kernel(inline=True)
def _kept_nodes(tree: PathTree, root: int) -> int:
    """Number the nodes of the subtree under ``root`` 0, 1, ... in index order (``remap``; -1: dropped)."""
    remap = tree.remap
    remap[root] = 0
    kept = 1
    for i in range(root + 1, tree.size[0]):
        p = tree.parent[i]
        if p >= root and remap[p] >= 0:
            remap[i] = kept
            kept += 1
        else:
            remap[i] = -1
    return kept


@kernel
def path_tree_reroot(tree: PathTree, a: int, s: int) -> int:
    """Keep the subtree of the root's action ``a`` and next state ``s`` as the tree; returns nodes kept.

    With no such child the tree restarts from a fresh root for ``s`` (0 kept). The kept nodes
    move down to indices 0..kept-1 in their order (the new root to 0), edges and siblings
    renumbered; their statistics are untouched.
    """
    root = path_child(tree, 0, a, s) if tree.size[0] > 0 else -1
    if root < 0:
        path_tree_reset(tree, s)
        return 0
    kept = _kept_nodes(tree, root)
    remap = tree.remap
    for i in range(root, tree.size[0]):
        j = remap[i]
        if j < 0:
            continue
        tree.state[j] = tree.state[i]
        tree.action[j] = tree.action[i]
        tree.visits[j] = tree.visits[i]
        if i == root:
            tree.parent[j] = -1
            tree.sibling[j] = -1
        else:
            tree.parent[j] = remap[tree.parent[i]]
            sib = tree.sibling[i]
            tree.sibling[j] = remap[sib] if sib >= 0 else -1
        for b in range(tree.n.shape[1]):
            fc = tree.first_child[i, b]
            tree.first_child[j, b] = remap[fc] if fc >= 0 else -1
            tree.n[j, b] = tree.n[i, b]
            tree.w[j, b] = tree.w[i, b]
            tree.mean[j, b] = tree.mean[i, b]
            tree.rsqrt[j, b] = tree.rsqrt[i, b]
    tree.size[0] = kept
    tree.reused[0] = kept
    return kept


@kernel(inline=True)
def path_expand(
    model: Any, tree: PathTree, q: np.ndarray, node: int, a: int, s: int, h: int, gamma: float, evaluation: int,
    rng: np.ndarray,
) -> tuple[float, int]:
    """Expansion and evaluation: state ``s`` joins the tree under edge (node, a) (unless the tree is
    full) and is valued with ``h`` steps left (``ucb.evaluate_leaf``); returns ``(value, model steps)``."""
    child = add_node(tree, s, node, a)
    if child >= 0:
        tree.visits[child] = 1.0
    return evaluate_leaf(model, q, s, h, gamma, evaluation, rng)


@kernel(inline=True)
def path_simulate(
    model: Any, tree: PathTree, q: np.ndarray, c: float, gamma: float, depth: int, evaluation: int,
    path: np.ndarray, rews: np.ndarray, rng: np.ndarray,
) -> tuple[int, float, int]:
    """One simulation's way down: UCB1 selection from the root until an edge leads out of the tree,
    then ``path_expand``. Writes the nodes and actions taken into ``path: int64[2, depth]`` and the
    rewards into ``rews: float64[depth]``; returns ``(path length, leaf value, model steps)``.

    The descent stops early at a terminal outcome (leaf 0), at the horizon ``depth`` (leaf
    ``max_a q``) or at an unknown pair of a learned model (``ucb.descend_step``).
    """
    node = 0
    s = tree.state[0]
    h = depth
    length = 0
    steps = 0
    while True:
        a = ucb_select(tree, node, c, rng)
        path[0, length] = node
        path[1, length] = a
        s, h, length, k, stop, leaf = descend_step(model, q, s, a, h, rews, length, rng)
        steps += k
        if stop:
            return length, leaf, steps
        child = path_child(tree, node, a, s)
        if child < 0:
            leaf, k = path_expand(model, tree, q, node, a, s, h, gamma, evaluation, rng)
            return length, leaf, steps + k
        node = child


@kernel(inline=True)
def path_backward(tree: PathTree, path: np.ndarray, rews: np.ndarray, length: int, leaf: float, gamma: float) -> None:
    """Backup: the discounted return ``G = r + gamma G'`` from the leaf up, added to every edge on the path."""
    g = leaf
    for i in range(length - 1, -1, -1):
        g = rews[i] + gamma * g
        nd = path[0, i]
        a = path[1, i]
        na = tree.n[nd, a] + 1.0
        wa = tree.w[nd, a] + g
        tree.n[nd, a] = na
        tree.w[nd, a] = wa
        tree.mean[nd, a] = wa / na
        tree.rsqrt[nd, a] = 1.0 / math.sqrt(na)
        tree.visits[nd] += 1.0


@generic
@kernel
def path_tree_run(
    model: Any,
    tree: PathTree,
    q: np.ndarray,
    simulations: int,
    max_steps: int,
    c: float,
    gamma: float,
    depth: int,
    evaluation: int,
    path: np.ndarray,
    rews: np.ndarray,
    rng: np.ndarray,
) -> int:
    """Run ``simulations`` simulations from the root (node 0) into ``tree``; returns the model steps drawn.

    With ``max_steps > 0`` no simulation starts once the budget spent reaches it (a budget in
    model steps; the last simulation may overrun it by its length). A simulation spends its model
    steps, and at least 1: one that ends at once at an unknown pair of a learned model still costs a
    query, so the search always ends. ``tree.ran`` counts the simulations run.

    Horizon ``depth`` steps from the root; a path that reaches it is valued ``max_a q`` there, a
    terminal outcome 0 after its reward. Scratch: ``path: int64[2, depth]`` (nodes, actions),
    ``rews: float64[depth]``. Every model draw (tree and rollout) counts as one model step.
    """
    steps = 0
    ran = 0
    spent = 0
    for _ in range(simulations):
        if max_steps > 0 and spent >= max_steps:
            break
        ran += 1
        length, leaf, k = path_simulate(model, tree, q, c, gamma, depth, evaluation, path, rews, rng)
        path_backward(tree, path, rews, length, leaf, gamma)
        steps += k
        spent += max(k, 1)
    tree.ran[0] = ran
    return steps
