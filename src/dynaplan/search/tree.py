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

The nodes live in preallocated arrays (``MCTSTree``): ``state``, ``parent``, ``action`` (the
edge from the parent), the first child of each edge and the next sibling, edge visits and return
sums, node visits. A search allocates nothing; when the capacity is reached, simulations go on
without adding nodes.

**Tree reuse** (the book: "the tree ... rooted at the selected action's next state may be kept
for the next decision"): ``tree_reroot(tree, a, s')`` keeps the subtree of the chosen action
and the observed next state as the new root and drops the rest, compacting it in place (children
are always created after their parent, so one pass in index order moves every kept node down);
it returns how many nodes were kept. The statistics kept are exactly those of the simulations'
suffixes through that node, which a fresh search from ``s'`` taking the same samples would hold.

Unknown pairs of a learned model (``search.models``) are not simulated: the edge is worth
``q[s, a]`` and the simulation ends there. The root action is the most visited one (ties: the
better mean, then at random).

The state-keyed tables of ``search.mcts`` (``key="state"`` or ``"horizon"``) are the
transposition-table variants; this module is ``key="path"``.
"""

from __future__ import annotations

import math
import time
from typing import Any, NamedTuple

import numpy as np

from dynaplan._jit import kernel
from dynaplan._stamp import generic
from dynaplan.planning.protocol import register_kernels
from dynaplan.rng import rand, randint
from dynaplan.search.real_step import learn_real_step, write_back_root
from dynaplan.search.rollout import rollout_return, vmax
from dynaplan.search.ucb import EVAL_GREEDY_ROLLOUT, EVAL_VALUE, most_visited, tree_step, ucb_select

SIZE, REUSED, RAN = 0, 1, 2


class MCTSTree(NamedTuple):
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
      remap: int64[M], scratch space of ``tree_reroot``
      info: int64[3], nodes in use, nodes kept by the last ``tree_reroot``, simulations run by the
        last ``tree_run``
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
    info: np.ndarray


def new_search_tree(capacity: int, n_actions: int) -> MCTSTree:
    """An empty tree of ``capacity`` nodes (at least 1) for A actions."""
    m = max(1, int(capacity))
    shape = (m, int(n_actions))
    i64 = np.int64
    return MCTSTree(
        np.zeros(m, dtype=i64), np.full(m, -1, dtype=i64), np.full(m, -1, dtype=i64), np.full(shape, -1, dtype=i64),
        np.full(m, -1, dtype=i64), np.zeros(shape), np.zeros(shape), np.full(shape, np.inf), np.zeros(shape),
        np.zeros(m), np.zeros(m, dtype=i64), np.zeros(3, dtype=i64),
    )


def grown(tree: MCTSTree, capacity: int) -> MCTSTree:
    """A copy of ``tree`` with room for ``capacity`` nodes (Python; used between timed chunks)."""
    out = new_search_tree(capacity, tree.n.shape[1])
    size = int(tree.info[SIZE])
    for old, new in zip(tree, out, strict=True):
        if old is tree.info:
            new[:] = old
        else:
            new[:size] = old[:size]
    return out


@kernel(inline=True)
def add_node(tree: MCTSTree, s: int, parent: int, a: int) -> int:
    """A new node for state ``s`` under edge (parent, a), or -1 when the tree is full."""
    node = tree.info[SIZE]
    if node >= tree.state.shape[0]:
        return -1
    tree.info[SIZE] = node + 1
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
def tree_reset(tree: MCTSTree, s: int) -> None:
    """Forget the tree; the root becomes a fresh node for state ``s``."""
    tree.info[SIZE] = 0
    tree.info[REUSED] = 0
    add_node(tree, s, -1, 0)


@kernel(inline=True)
def tree_child(tree: MCTSTree, node: int, a: int, s: int) -> int:
    """The child of edge (node, a) standing for state ``s`` (-1: none)."""
    child = tree.first_child[node, a]
    while child >= 0 and tree.state[child] != s:
        child = tree.sibling[child]
    return child


@kernel
def tree_reroot(tree: MCTSTree, a: int, s: int) -> int:
    """Keep the subtree of the root's action ``a`` and next state ``s`` as the tree; returns nodes kept.

    With no such child the tree restarts from a fresh root for ``s`` (0 kept). The kept nodes
    move down to indices 0..kept-1 in their order (the new root to 0), edges and siblings
    renumbered; their statistics are untouched.
    """
    if tree.info[SIZE] == 0:
        tree_reset(tree, s)
        return 0
    root = tree_child(tree, 0, a, s)
    if root < 0:
        tree_reset(tree, s)
        return 0
    size = tree.info[SIZE]
    remap = tree.remap
    remap[root] = 0
    kept = 1
    for i in range(root + 1, size):
        p = tree.parent[i]
        if p >= root and remap[p] >= 0:
            remap[i] = kept
            kept += 1
        else:
            remap[i] = -1
    for i in range(root, size):
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
    tree.info[SIZE] = kept
    tree.info[REUSED] = kept
    return kept


@generic
@kernel
def tree_run(
    model: Any,
    tree: MCTSTree,
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
    query, so the search always ends. ``tree.info[RAN]`` counts the simulations run.

    Horizon ``depth`` steps from the root; a path that reaches it is valued ``max_a q`` there, a
    terminal outcome 0 after its reward. Scratch: ``path: int64[2, depth]`` (nodes, actions),
    ``rews: float64[depth]``. Every model draw (tree and rollout) counts as one model step.
    """
    nodes = path[0]
    acts = path[1]
    steps = 0
    greedy = evaluation == EVAL_GREEDY_ROLLOUT
    ran = 0
    spent = 0
    for _ in range(simulations):
        if max_steps > 0 and spent >= max_steps:
            break
        ran += 1
        before = steps
        node = 0
        s = tree.state[0]
        h = depth
        length = 0
        leaf = 0.0
        while True:
            a = ucb_select(tree, node, c, rng)
            nodes[length] = node
            acts[length] = a
            s, h, length, k, stop, leaf = tree_step(model, q, s, a, h, rews, length, rng)
            steps += k
            if stop:
                break
            child = tree_child(tree, node, a, s)
            if child < 0:
                child = add_node(tree, s, node, a)  # expansion (skipped when the tree is full)
                if child >= 0:
                    tree.visits[child] = 1.0
                if evaluation == EVAL_VALUE:
                    leaf = vmax(q, s)
                else:
                    leaf, k = rollout_return(model, q, s, h, gamma, greedy, rng)
                    steps += k
                break
            node = child
        g = leaf
        for i in range(length - 1, -1, -1):
            g = rews[i] + gamma * g
            nd = nodes[i]
            a = acts[i]
            na = tree.n[nd, a] + 1.0
            wa = tree.w[nd, a] + g
            tree.n[nd, a] = na
            tree.w[nd, a] = wa
            tree.mean[nd, a] = wa / na
            tree.rsqrt[nd, a] = 1.0 / math.sqrt(na)
            tree.visits[nd] += 1.0
        spent += max(steps - before, 1)
    tree.info[RAN] = ran
    return steps


@kernel
def tree_most_visited(tree: MCTSTree, rng: np.ndarray) -> int:
    """The root's most visited action (ties: the better mean, then at random)."""
    return most_visited(tree, 0, rng)


# -- the agent ------------------------------------------------------------------------------

DECISIONS, SIMULATIONS, MODEL_STEPS, REAL_STEPS, NODES_REUSED = 0, 1, 2, 3, 4


class TreeAgentState(NamedTuple):
    """An agent acting by the book's MCTS (S states, A actions, tree capacity M).

    Attributes:
      q: float64[S, A], action values: leaf values, value of unknown pairs, write-back target
      model: the model searched (``TabularModel``, ``SampleModel`` or ``DistributionModel``)
      tree: ``MCTSTree``
      root_n: float64[A], simulations per root action at the last decision
      root_q: float64[A], root value estimates at the last decision (NaN: no simulation)
      counters: int64[5], decisions searched, simulations, model steps, real steps, nodes reused
      last: int64[3], the last real step seen by ``observe``: action, next state, 1 if the tree's
        root was its state and the episode goes on (the next decision may reuse the subtree)
      path, path_rewards: scratch space (int64[2, depth], float64[depth])
      learned, learn: the model is learned from real steps; make direct Q-learning updates
      simulations, depth, c: simulations per decision, horizon, UCB1 constant
      max_steps: budget of model steps per decision (0: ``simulations`` alone)
      gamma, alpha, epsilon: discount, step size, exploration rate of the real actions
      planning_steps: background planning updates per real step (Dyna with search)
      evaluation: 0 random rollout, 1 value function, 2 greedy rollout on ``q``
      persist: keep the subtree of the action taken and the state reached (tree reuse)
      write_back: copy the root's value estimates into ``q``
    """

    q: np.ndarray
    model: Any
    tree: MCTSTree
    root_n: np.ndarray
    root_q: np.ndarray
    counters: np.ndarray
    last: np.ndarray
    path: np.ndarray
    path_rewards: np.ndarray
    learned: bool
    learn: bool
    simulations: int
    max_steps: int
    depth: int
    c: float
    gamma: float
    alpha: float
    epsilon: float
    planning_steps: int
    evaluation: int
    persist: bool
    write_back: bool


@generic
@kernel
def tree_act(agent: TreeAgentState, s: int, rng: np.ndarray) -> int:
    """Search from ``s`` (reusing the subtree of the last step when ``persist``) and return the action.

    With probability epsilon a uniformly random action is taken without searching.
    """
    n_actions = agent.q.shape[1]
    if agent.epsilon > 0.0 and rand(rng) < agent.epsilon:
        return randint(rng, n_actions)
    cnt = agent.counters
    cnt[DECISIONS] += 1
    tree = agent.tree
    if agent.persist and agent.last[2] == 1 and agent.last[1] == s:
        cnt[NODES_REUSED] += tree_reroot(tree, agent.last[0], s)
    else:
        tree_reset(tree, s)
    agent.last[2] = 0
    steps = tree_run(
        agent.model, tree, agent.q, agent.simulations, agent.max_steps, agent.c, agent.gamma, agent.depth,
        agent.evaluation, agent.path, agent.path_rewards, rng,
    )
    a = most_visited(tree, 0, rng)
    for b in range(n_actions):
        nb = tree.n[0, b]
        agent.root_n[b] = nb
        agent.root_q[b] = tree.w[0, b] / nb if nb > 0.0 else np.nan
    cnt[SIMULATIONS] += tree.info[RAN]
    cnt[MODEL_STEPS] += steps
    write_back_root(agent, s)
    return a


@generic
@kernel
def tree_observe(
    agent: TreeAgentState, s: int, a: int, r: float, s2: int, terminated: bool, truncated: bool, rng: np.ndarray
) -> None:
    """Learn from a real step (model update, direct Q-learning, background planning) and note it for reuse."""
    learn_real_step(agent, s, a, r, s2, terminated, rng)
    tree = agent.tree
    agent.last[0] = a
    agent.last[1] = s2
    ongoing = not terminated and not truncated
    agent.last[2] = 1 if ongoing and tree.info[SIZE] > 0 and tree.state[0] == s else 0


register_kernels(TreeAgentState, act=tree_act, observe=tree_observe)


def tree_search(
    model: Any,
    state: int,
    simulations: int | None,
    seconds: float | None,
    args: tuple[Any, ...],
    q: np.ndarray,
    tree: MCTSTree | None,
    max_nodes: int | None,
    rng: np.ndarray,
    chunk: int,
) -> tuple[int, np.ndarray, np.ndarray, int, int, MCTSTree]:
    """``mcts_search`` with ``key="path"``: (action, root visits, root values, simulations, model steps, tree).

    ``args = (c, gamma, depth, evaluation, path, rews)``. A given ``tree`` whose root stands for
    ``state`` is continued (its capacity fixed); any other is reset to a root for ``state``.
    Without one, the tree holds ``max_nodes`` nodes (default: one per simulation plus the root;
    with a time budget it starts at 4,096 and doubles between chunks as needed).
    """
    n_actions = q.shape[1]
    own = tree is None
    if tree is None:
        cap = max_nodes if max_nodes is not None else (int(simulations or 0) + 1 if seconds is None else 4096)
        tree = new_search_tree(cap, n_actions)
    elif tree.n.shape[1] != n_actions:
        raise ValueError("tree does not match the model's number of actions")
    if not (tree.info[SIZE] > 0 and tree.state[0] == state):
        tree_reset(tree, int(state))
    if seconds is None:
        assert simulations is not None
        sims = int(simulations)
        steps = tree_run(model, tree, q, sims, 0, *args, rng)
    else:
        sims, steps, size = 0, 0, max(1, int(chunk))
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            if own and max_nodes is None and tree.info[SIZE] + size > tree.state.shape[0]:
                tree = grown(tree, 2 * (tree.state.shape[0] + size))
            steps += tree_run(model, tree, q, size, 0, *args, rng)
            sims += size
            size *= 2
    action = tree_most_visited(tree, rng)
    n_root = tree.n[0].copy()
    values = np.divide(tree.w[0], n_root, out=np.full(n_actions, np.nan), where=n_root > 0)
    return int(action), n_root, values, sims, int(steps), tree
