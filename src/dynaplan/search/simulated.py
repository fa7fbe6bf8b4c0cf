"""Decision-time planning with any simulator: rollouts and MCTS through snapshot and restore.

The compiled planners (``search.rollout``, ``search.mcts``) step a model's arrays; these step a
``envs.simulator.Simulator`` (a Minigrid room, a MuJoCo body, an Atari game, Taxi stepped in
Python, or a ``TableSimulator`` over a ``TabularModel``). They are the same algorithms, draw for
draw: ``simulator_mcts`` is ``mcts_search(..., key="state", backup="every",
evaluation="rollout")`` (UCT, Kocsis & Szepesvari 2006, over a table keyed by state; book
section 8.11) and ``simulator_rollouts`` is ``rollout_search(..., policy="random")`` (section
8.10), with the planner's random stream (``rng: uint64[4]``) used in the same order, so over a
``TableSimulator`` sharing that stream they return what the compiled kernels return (tested), and
over a deterministic env's own simulator they choose what they choose over its ``P`` table.

A simulation restores the root snapshot, descends by UCB1 through states already in the table,
adds the first new state, values it by a uniformly random rollout to the horizon ``depth``, and
backs the discounted return up every edge of its path (every-visit). Leaves at the horizon are
worth 0 (no value function). The root action is the most visited (ties: the better mean, then at
random); each returns a ``search.result.SearchResult``. Python pays for every simulated step:
see ``benchmarks/simulators.py`` for the cost
against the compiled path.
"""

from __future__ import annotations

import math
import time
from collections.abc import Hashable

import numpy as np

from dynaplan.envs.simulator import Simulator
from dynaplan.rng import from_seed, rand
from dynaplan.search.result import SearchResult
from dynaplan.search.rollout import best_mean
from dynaplan.search.ucb import most_visited_action, ucb_action

__all__ = ["simulator_mcts", "simulator_rollouts"]


def _check(simulations: int, gamma: float, depth: int, c: float = 0.0) -> None:
    for name, value in (("simulations", simulations), ("depth", depth)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if not 0.0 <= gamma <= 1.0:
        raise ValueError(f"gamma must be in [0, 1], got {gamma!r}")
    if not c >= 0:
        raise ValueError(f"c must be a non-negative number, got {c!r}")


def _stream(seed: int | None, rng: np.ndarray | None) -> np.ndarray:
    return from_seed(np.random.SeedSequence(seed)) if rng is None else rng


class _Node:
    """Statistics of one state: a row of ``search.state_table.StateTable`` (``n``, ``w``, ``mean``
    (+inf while untried), ``rsqrt``: float64[A]; ``visits``: N of the state)."""

    __slots__ = ("mean", "n", "rsqrt", "visits", "w")

    def __init__(self, n_actions: int) -> None:
        self.n = np.zeros(n_actions)
        self.w = np.zeros(n_actions)
        self.mean = np.full(n_actions, math.inf)
        self.rsqrt = np.zeros(n_actions)
        self.visits = 0.0

    def select(self, c: float, rng: np.ndarray) -> int:
        """``search.ucb.ucb_select`` on this node (one uniform per selection, to break ties)."""
        return int(ucb_action(self.mean, self.rsqrt, self.visits, c, rand(rng)))

    def backup(self, a: int, g: float) -> None:
        """Add the return ``g`` to edge ``a`` (every-visit, as ``state_table.backup_edge``)."""
        self.n[a] += 1.0
        self.w[a] += g
        self.mean[a] = self.w[a] / self.n[a]
        self.rsqrt[a] = 1.0 / math.sqrt(self.n[a])
        self.visits += 1.0


def _rollout(sim: Simulator, h: int, gamma: float, rng: np.ndarray) -> tuple[float, int]:
    """``search.rollout.rollout_return`` with the uniform policy: ``(return, steps)``."""
    g, disc, steps = 0.0, 1.0, 0
    while h > 0:
        a = int(rand(rng) * sim.n_actions)
        _, r, term = sim.step(a)
        steps += 1
        g += disc * r
        if term:
            return g, steps
        disc *= gamma
        h -= 1
    return g, steps


def simulator_mcts(
    sim: Simulator,
    *,
    simulations: int = 200,
    c: float = 1.0,
    gamma: float = 0.95,
    depth: int = 50,
    seed: int | None = None,
    rng: np.ndarray | None = None,
) -> SearchResult:
    """UCT over a table keyed by ``sim.key()``, from the simulator's current state (restored after).

    Same algorithm and draws as ``mcts_search(model, s, key="state", backup="every",
    evaluation="rollout", q=None)``. Randomness: ``rng`` (advanced in place) or ``seed``.
    """
    _check(simulations, gamma, depth, c)
    rng = _stream(seed, rng)
    t0 = time.perf_counter()
    root_snap, root_key = sim.snapshot(), sim.key()
    table: dict[Hashable, _Node] = {root_key: _Node(sim.n_actions)}
    steps = 0
    for _ in range(int(simulations)):
        sim.restore(root_snap)
        s, h = root_key, int(depth)
        path: list[tuple[_Node, int]] = []
        rews: list[float] = []
        leaf = 0.0
        while True:
            node = table.get(s)
            if node is None:
                node = table[s] = _Node(sim.n_actions)
            a = node.select(c, rng)
            path.append((node, a))
            s2, r, term = sim.step(a)
            steps += 1
            rews.append(r)
            if term or h == 1:
                break  # a terminal outcome or the horizon: leaf 0
            s, h = s2, h - 1
            child = table.get(s)
            if child is None or child.visits == 0.0:
                if child is None:
                    child = table[s] = _Node(sim.n_actions)
                child.visits = 1.0  # expansion: the node joins the tree
                leaf, k = _rollout(sim, h, gamma, rng)
                steps += k
                break
        g = leaf
        for (node, a), r in zip(reversed(path), reversed(rews)):
            g = r + gamma * g
            node.backup(a, g)
    sim.restore(root_snap)
    root = table[root_key]
    action = int(most_visited_action(root.n, root.w, rng))
    visits = root.n.copy()
    values = np.divide(root.w, visits, out=np.full(sim.n_actions, np.nan), where=visits > 0)
    return SearchResult(action, visits, values, int(simulations), steps, time.perf_counter() - t0)


def simulator_rollouts(
    sim: Simulator,
    *,
    simulations: int = 100,
    gamma: float = 0.95,
    depth: int = 50,
    seed: int | None = None,
    rng: np.ndarray | None = None,
) -> SearchResult:
    """Rollout planning (section 8.10): each simulation tries the root action with the fewest
    simulations so far (the first of them), then acts uniformly at random for at most ``depth``
    steps in all; the action with the best mean return is chosen (ties at random). Same draws as
    ``rollout_search(model, s, policy="random")``."""
    _check(simulations, gamma, depth)
    rng = _stream(seed, rng)
    t0 = time.perf_counter()
    root = sim.snapshot()
    counts = np.zeros(sim.n_actions)
    sums = np.zeros(sim.n_actions)
    steps = 0
    for _ in range(int(simulations)):
        a = int(np.argmin(counts))
        counts[a] += 1.0
        sim.restore(root)
        _, r, term = sim.step(a)
        steps += 1
        g = r
        if not term:
            tail, k = _rollout(sim, int(depth) - 1, gamma, rng)
            g += gamma * tail
            steps += k
        sums[a] += g
    sim.restore(root)
    best = int(best_mean(counts, sums, rng))
    values = np.divide(sums, counts, out=np.full(sim.n_actions, np.nan), where=counts > 0)
    return SearchResult(best, counts, values, int(simulations), steps, time.perf_counter() - t0)
