"""Monte Carlo Tree Search over a state table: the transposition-table variants of UCT.

The book's MCTS (section 8.11) grows a tree of paths: that is ``search.path_tree``
(``key="path"``, the default of ``mcts_search`` and ``MCTS``). This module keeps the statistics per state
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

The code follows the shape of mctx's ``search`` (DeepMind): ``state_table_run`` repeats
``table_simulate`` (selection down to a row not yet in the table, then its expansion and
evaluation) and ``table_backward`` (one backup per edge of the path: ``backup_edge``, which
holds the three backups).
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np

from dynaplan._jit import kernel
from dynaplan._stamp import generic
from dynaplan.search.models import model_known, model_outcome, model_width
from dynaplan.search.ucb import descend_step, evaluate_leaf, ucb_select

__all__ = [
    "BACKUPS",
    "KEY_HORIZON",
    "KEY_STATE",
    "StateTable",
    "backup_edge",
    "bellman_value",
    "clear_table",
    "new_state_table",
    "state_table_run",
    "table_backward",
    "table_row",
    "table_simulate",
]

KEY_STATE = 0
KEY_HORIZON = 1

BACKUP_EVERY = 0
BACKUP_FIRST = 1
BACKUP_BELLMAN = 2
BACKUPS = {"every": BACKUP_EVERY, "first": BACKUP_FIRST, "bellman": BACKUP_BELLMAN}


class StateTable(NamedTuple):
    """The search statistics of a state-keyed MCTS, M rows (M = S, or (depth + 1) S with ``key="horizon"``).

    Attributes:
      n: float64[M, A], visits of each edge N(row, a)
      w: float64[M, A], sum of the returns backed up through each edge W(row, a)
      visits: float64[M], visits of each row N(row) (a row is in the table once > 0)
      mean: float64[M, A], W / N (+inf while N = 0, so untried actions come first), kept by the backup
      rsqrt: float64[M, A], 1 / sqrt(N) (0 while N = 0), kept by the backup
      mode: int64[1], the backup (0 every-visit, 1 first-visit, 2 Bellman; ``BACKUPS``)
      clock: int64[1], simulations run (stamps the first visits of a simulation)
      stamp: int64[M], the simulation that last visited each row (first-visit backups)
      first: int64[M], the path position of that first visit
      leaf: float64[2, M], sum and count of the leaf evaluations made at each row (Bellman backups)
      budget: int64[1], model steps per search (0: no budget but the simulations)
      ran: int64[1], simulations run by the last ``state_table_run``

    ``mean`` and ``rsqrt`` cost one division and one square root per edge backed up and save
    A of each per selection: UCB1 is then ``mean + c sqrt(ln N(row)) rsqrt``. With Bellman
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


def new_state_table(
    n_states: int, n_actions: int, depth: int, key: str = "state", backup: str = "every", max_steps: int = 0
) -> StateTable:
    """An empty state- or horizon-keyed table for S states, A actions and a horizon of ``depth`` steps.

    ``backup`` (``"every"``, ``"first"``, ``"bellman"``; the last two need ``key="state"``) is
    kept in the table (``mode``), and so is ``max_steps``, a budget of model steps per search
    (``state_table_run`` starts no simulation once its steps reach it). The book's tree
    (``key="path"``) is ``search.path_tree.new_path_tree``.
    """
    if key not in ("state", "horizon"):
        raise ValueError(f"key must be 'state' or 'horizon' for a state table, got {key!r}")
    if backup not in BACKUPS:
        raise ValueError(f"backup must be one of {', '.join(BACKUPS)}, got {backup!r}")
    if backup != "every" and key != "state":
        raise ValueError(f"backup={backup!r} needs key='state' (horizon-keyed rows never repeat on a path)")
    rows = n_states if key == "state" else (depth + 1) * n_states
    shape = (rows, n_actions)
    return StateTable(
        np.zeros(shape), np.zeros(shape), np.zeros(rows), np.full(shape, np.inf), np.zeros(shape),
        np.array([BACKUPS[backup]], dtype=np.int64), np.zeros(1, dtype=np.int64),
        np.zeros(rows, dtype=np.int64), np.zeros(rows, dtype=np.int64), np.zeros((2, rows)),
        np.array([max_steps], dtype=np.int64), np.zeros(1, dtype=np.int64),
    )


@kernel
def clear_table(table: StateTable) -> None:
    """Forget every statistic (a search without persistence starts from an empty table)."""
    table.n[:] = 0.0
    table.w[:] = 0.0
    table.visits[:] = 0.0
    table.mean[:] = np.inf
    table.rsqrt[:] = 0.0
    table.leaf[:] = 0.0


@kernel(inline=True)
def table_row(s: int, h: int, n_states: int, key: int) -> int:
    """The row of state ``s`` with ``h`` steps left: ``s`` (``KEY_STATE``) or ``h * S + s`` (``KEY_HORIZON``)."""
    return s if key == KEY_STATE else h * n_states + s


@kernel(inline=True)
def table_simulate(
    model: Any, table: StateTable, q: np.ndarray, s0: int, c: float, gamma: float, depth: int, evaluation: int,
    key: int, path: np.ndarray, rews: np.ndarray, rng: np.ndarray,
) -> tuple[int, float, int, int]:
    """One simulation's way down from ``s0``: UCB1 selection in rows already in the table until a
    step reaches a row that is not (expansion: it joins the table) and its evaluation.

    Writes rows and actions into ``path: int64[2, depth]`` and rewards into ``rews: float64[depth]``;
    returns ``(path length, leaf value, model steps, row expanded or -1)``. The descent stops early
    at a terminal outcome, the horizon or an unknown pair of a learned model (``ucb.descend_step``).
    """
    n_states = q.shape[0]
    s = s0
    h = depth
    length = 0
    steps = 0
    while True:
        row = table_row(s, h, n_states, key)
        a = ucb_select(table, row, c, rng)
        path[0, length] = row
        path[1, length] = a
        s, h, length, k, stop, leaf = descend_step(model, q, s, a, h, rews, length, rng)
        steps += k
        if stop:
            return length, leaf, steps, -1
        child = table_row(s, h, n_states, key)
        if table.visits[child] == 0.0:
            table.visits[child] = 1.0  # expansion: the row joins the table
            leaf, k = evaluate_leaf(model, q, s, h, gamma, evaluation, rng)
            return length, leaf, steps + k, child


@kernel(inline=True)
def node_value(table: StateTable, s: int) -> float:
    """V(s) of a state-keyed table under Bellman backups: the best tried edge, else the mean leaf evaluation."""
    best = -np.inf
    for b in range(table.n.shape[1]):
        if table.n[s, b] > 0.0 and table.mean[s, b] > best:
            best = table.mean[s, b]
    if best > -np.inf:
        return best
    if table.leaf[1, s] > 0.0:
        return table.leaf[0, s] / table.leaf[1, s]
    return 0.0


@kernel(inline=True)
def bellman_value(
    model: Any, table: StateTable, q: np.ndarray, s: int, a: int, gamma: float, mc_mean: float
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
        elif table.visits[s2] > 0.0:
            num += p * (r + gamma * node_value(table, s2))
            den += p
    if den > 0.0:
        return num / den
    return mc_mean


@kernel(inline=True)
def backup_edge(model: Any, table: StateTable, q: np.ndarray, row: int, a: int, g: float, gamma: float) -> None:
    """Add the return ``g`` to edge (row, a): ``N += 1``, ``W += g``, and the edge value ``mean``:
    ``W / N`` (every- and first-visit backups) or the partial Bellman backup (``bellman_value``)."""
    na = table.n[row, a] + 1.0
    wa = table.w[row, a] + g
    if table.mode[0] == BACKUP_BELLMAN:
        # computed before N(s, a) counts this visit: a first visit's edge is not yet part
        # of V(s) (a self-loop backs up the other tried actions)
        table.mean[row, a] = bellman_value(model, table, q, row, a, gamma, wa / na)
    else:
        table.mean[row, a] = wa / na
    table.n[row, a] = na
    table.w[row, a] = wa
    table.rsqrt[row, a] = 1.0 / math.sqrt(na)
    table.visits[row] += 1.0


@kernel(inline=True)
def mark_first_visits(table: StateTable, path: np.ndarray, length: int) -> None:
    """First-visit backups: stamp each row on the path with this simulation and its first position."""
    table.clock[0] += 1
    sim = table.clock[0]
    for i in range(length):
        row = path[0, i]
        if table.stamp[row] != sim:
            table.stamp[row] = sim
            table.first[row] = i


@kernel(inline=True)
def table_backward(
    model: Any, table: StateTable, q: np.ndarray, path: np.ndarray, rews: np.ndarray, length: int, leaf: float,
    expanded: int, gamma: float,
) -> None:
    """Backup of one simulation: ``G = r + gamma G'`` from the leaf up, one ``backup_edge`` per edge
    (first-visit: only the first visit of each row; Bellman: the leaf's evaluation is kept too)."""
    mode = table.mode[0]
    if mode == BACKUP_BELLMAN and expanded >= 0:
        table.leaf[0, expanded] += leaf
        table.leaf[1, expanded] += 1.0
    if mode == BACKUP_FIRST:
        mark_first_visits(table, path, length)
    g = leaf
    for i in range(length - 1, -1, -1):
        g = rews[i] + gamma * g
        row = path[0, i]
        if mode == BACKUP_FIRST and table.first[row] != i:
            continue  # a later visit of a state already on this path: one sample per state
        backup_edge(model, table, q, row, path[1, i], g, gamma)


@generic
@kernel
def state_table_run(
    model: Any,
    table: StateTable,
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
    """Run ``simulations`` UCT simulations from ``s0`` into ``table``; returns the model steps drawn.

    ``q: float64[S, A]`` gives leaf values (``max_a q``), values unknown pairs and guides greedy
    rollouts. Every model draw (descent and rollout) counts as one model step; a simulation spends
    its model steps and at least 1, and none starts once ``table.budget`` (if > 0) is spent.
    Scratch space for one simulation's path: ``path: int64[2, depth]`` (rows, actions) and
    ``rews: float64[depth]`` (kernels reached from the agent protocol allocate nothing).
    """
    budget = table.budget[0]
    steps = 0
    ran = 0
    spent = 0
    for _ in range(simulations):
        if budget > 0 and spent >= budget:
            break
        ran += 1
        length, leaf, k, expanded = table_simulate(
            model, table, q, s0, c, gamma, depth, evaluation, key, path, rews, rng
        )
        table_backward(model, table, q, path, rews, length, leaf, expanded, gamma)
        steps += k
        spent += max(k, 1)
    table.ran[0] = ran
    return steps
