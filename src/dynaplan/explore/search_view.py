"""Monte Carlo Tree Search as it grows, one simulation at a time (Sutton & Barto, section 8.11).

Two searches of the same world, each advanced by the search module's own steps, one simulation
per call: ``path_simulate`` (selection down the tree, expansion, evaluation) then
``path_backward`` (the backup), or ``table_simulate`` then ``table_backward``. A run of k single
simulations is the same search as one ``path_tree_run`` / ``state_table_run`` of k from the same
random state (``tests/test_search_view.py`` compares the arrays).

* ``GrowingTree``: the book's tree of paths (``search.path_tree``, ``PathTree``, what ``MCTS``
  searches by default). After a real step, ``move`` keeps the subtree of the action taken and the
  outcome reached as the next root (``path_tree_reroot``, tree reuse): its nodes keep their
  statistics.
* ``GrowingTable``: the state-keyed table (``search.state_table``, ``StateTable``, ``key="state"``;
  with ``backup="bellman"`` and the exact model it is DP-UCT, Keller & Helmert 2013). Every path
  through a state shares one row, and a real step keeps every row.

Each simulation is returned as a ``Simulation`` record (its path, the node it added, the leaf's
value, the returns backed up, every edge's statistics before and after the backup), and each
view draws itself as a JSON-ready frame (``frame()``) that the search page
(``explore/static/search.html``, served at ``/search.html`` by ``dynaplan explore``) only draws.
Everything is read from the kernels' records by field name (``PathTree.n``, ``StateTable.mean``,
...); the frames name every number too. ``SearchSession`` answers the page's messages: the two
searches side by side on slippery FrozenLake 4x4, with the exact finite-horizon values of the
root actions (backward induction, ``planning.exact.finite_horizon_q``) as the ground truth both
estimate.
"""

from __future__ import annotations

import reprlib
from dataclasses import dataclass
from typing import Any

import numpy as np

from dynaplan.envs.tabular import TabularModel
from dynaplan.planning.exact import finite_horizon_q
from dynaplan.rng import from_seed
from dynaplan.search.path_tree import (
    PathTree,
    new_path_tree,
    path_backward,
    path_child,
    path_simulate,
    path_tree_reroot,
    path_tree_reset,
)
from dynaplan.search.state_table import (
    KEY_STATE,
    StateTable,
    new_state_table,
    table_backward,
    table_simulate,
)
from dynaplan.search.ucb import EVALUATIONS

__all__ = [
    "ACTIONS",
    "MAX_SIMULATIONS",
    "GrowingTable",
    "GrowingTree",
    "RealStep",
    "SearchSession",
    "Simulation",
    "leading_action",
    "tree_layout",
]

MAX_SIMULATIONS = 1000
"""Most simulations one message of the search page may ask for."""

ACTIONS = ("L", "D", "R", "U")
"""FrozenLake's actions, as the page labels them."""


@dataclass(frozen=True)
class Simulation:
    """One simulation, phase by phase, as the kernels did it (section 8.11, Figure 8.10). L edges.

    Attributes:
      nodes: int[L], the node (tree) or row (table: the state) at each step of the selection, root first
      actions: int[L], the action taken there
      rewards: float[L], the reward the model drew at each step
      expanded: the node (row) the expansion added; -1: none (the path ended at a terminal
        outcome or the horizon, or the tree is full)
      leaf: the evaluation at the end of the path: the rollout's return from the added node, 0
        after a terminal outcome, ``max_a q`` at the horizon
      returns: float[L], the discounted return ``G_i = r_i + gamma G_{i+1}`` (``G_L = leaf``)
        backed up through each edge
      before: ((N, value), ...) of each edge of the path before the backup (value None: N = 0)
      after: the same after the backup (first-visit backups skip a repeated state's later edges)
      node_before: ((N, mean), ...) of each node (table: state) of the path before the backup: its
        visits and the mean return over its edges, sum_a W / sum_a N (None: no edge tried)
    """

    nodes: tuple[int, ...]
    actions: tuple[int, ...]
    rewards: tuple[float, ...]
    expanded: int
    leaf: float
    returns: tuple[float, ...]
    before: tuple[tuple[float, float | None], ...]
    after: tuple[tuple[float, float | None], ...]
    node_before: tuple[tuple[float, float | None], ...]

    def rows(self) -> list[dict[str, Any]]:
        """The path as the page reads it: one named row per edge."""
        return [
            {"node": n, "action": a, "reward": r, "return": g, "n_before": b[0], "value_before": b[1],
             "n": f[0], "value": f[1], "node_visits_before": v[0], "node_value_before": v[1]}
            for n, a, r, g, b, f, v in zip(self.nodes, self.actions, self.rewards, self.returns, self.before,
                                           self.after, self.node_before, strict=True)
        ]


@dataclass(frozen=True)
class RealStep:
    """A real step taken in the world between two decisions.

    Attributes:
      state, action, reward, next_state, terminated: the transition (the outcome sampled from the
        exact model's probabilities)
      by: which search chose the action (``"tree"`` or ``"table"``)
      kept_root_was: the tree node that became the new root (its id before the reroot; -1: the
        outcome had no node, the tree restarted empty)
    """

    state: int
    action: int
    reward: float
    next_state: int
    terminated: bool
    by: str
    kept_root_was: int


def _node(stats: PathTree | StateTable, row: int) -> tuple[float, float | None]:
    tried = float(stats.n[row].sum())
    return float(stats.visits[row]), (float(stats.w[row].sum()) / tried if tried > 0 else None)


def _edge(n: np.ndarray, value: np.ndarray, row: int, a: int) -> tuple[float, float | None]:
    count = float(n[row, a])
    return count, (float(value[row, a]) if count > 0 else None)


def leading_action(n: np.ndarray, value: np.ndarray) -> int:
    """The action a search would take now: the most visited (ties: the better value, then the lowest
    index; the agents break exact ties at random). -1 before any visit. ``n, value: float64[A]``."""
    if n.max() <= 0:
        return -1
    shown = np.where(n > 0, value, -np.inf)
    return int(np.lexsort((np.arange(n.size), -shown, -n))[0])


def tree_layout(parent: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """(depth, x) of nodes 0..size-1: leaves at consecutive x in depth-first order, parents centred.

    Children are added after their parent (``search.path_tree``), so one pass down finds the
    depths and the children, and one depth-first walk places them.
    """
    depth = np.zeros(size, dtype=np.int64)
    children: list[list[int]] = [[] for _ in range(size)]
    for i in range(1, size):
        p = int(parent[i])
        depth[i] = depth[p] + 1
        children[p].append(i)
    x = np.zeros(size)
    nxt = 0.0
    stack: list[tuple[int, bool]] = [(0, False)] if size else []
    while stack:
        node, done = stack.pop()
        kids = children[node]
        if done:
            x[node] = (x[kids[0]] + x[kids[-1]]) / 2.0
        elif not kids:
            x[node] = nxt
            nxt += 1.0
        else:
            stack.append((node, True))
            stack.extend((k, False) for k in reversed(kids))
    return depth, x


def _leaf_values(model: TabularModel, q: np.ndarray | None) -> np.ndarray:
    shape = (model.n_states, model.n_actions)
    if q is None:
        return np.zeros(shape)
    out = np.ascontiguousarray(q, dtype=np.float64)
    if out.shape != shape:
        raise ValueError(f"q must have shape {shape} (states, actions), got {out.shape}")
    return out


def _check(model: TabularModel, state: int, evaluation: str) -> None:
    if evaluation not in EVALUATIONS:
        raise ValueError(f"evaluation must be one of {', '.join(EVALUATIONS)}, got {evaluation!r}")
    if not 0 <= int(state) < model.n_states:
        raise ValueError(f"state must be in [0, {model.n_states}), got {state!r}")


class _Growing:
    """What both growing searches hold beside their tree or table: the planner's stream, the UCB
    constant, discount, depth and leaf evaluation, the path buffers, the simulation count."""

    rng: np.ndarray
    c: float
    gamma: float
    depth: int
    evaluation: Any
    path: np.ndarray
    rews: np.ndarray
    simulations: int
    last: Simulation | None

    def _settings(self, seed: int, c: float, gamma: float, depth: int, evaluation: str) -> None:
        self.rng = from_seed(np.random.SeedSequence(seed))
        self.c, self.gamma, self.depth = float(c), float(gamma), int(depth)
        self.evaluation = EVALUATIONS[evaluation]
        self.path = np.zeros((2, self.depth), dtype=np.int64)
        self.rews = np.zeros(self.depth)
        self.simulations = 0
        self.last = None


class GrowingTree(_Growing):
    """The book's MCTS on a path tree over an exact ``TabularModel``, one simulation at a time.

    Args:
      model: the exact model searched (``envs.tabular.model_of(env)``)
      state: the root state
      capacity: most nodes the tree holds (simulations go on without adding nodes past it)
      c, gamma, depth, evaluation: UCB1 constant, discount, horizon, leaf evaluation
        (``"rollout"``, ``"value"`` or ``"greedy-rollout"``), as ``mcts_search``
      q: float64[S, A] leaf values (zeros by default)
      seed: the search's random state
    """

    def __init__(self, model: TabularModel, state: int, *, capacity: int = 1000, c: float = 1.0,
                 gamma: float = 0.95, depth: int = 50, evaluation: str = "rollout",
                 q: np.ndarray | None = None, seed: int = 0) -> None:
        _check(model, state, evaluation)
        self.model = model
        self.q = _leaf_values(model, q)
        self.tree: PathTree = new_path_tree(capacity, model.n_actions)
        path_tree_reset(self.tree, int(state))
        self._settings(seed, c, gamma, depth, evaluation)

    def simulate(self) -> Simulation:
        """One simulation: selection, expansion and evaluation (``path_simulate``), then the backup."""
        tree = self.tree
        size = int(tree.size[0])
        length, leaf, _ = path_simulate(self.model, tree, self.q, self.c, self.gamma, self.depth, self.evaluation,
                                        self.path, self.rews, self.rng)
        nodes, actions = self.path[0, :length].tolist(), self.path[1, :length].tolist()
        before = tuple(_edge(tree.n, tree.mean, i, a) for i, a in zip(nodes, actions, strict=True))
        node_before = tuple(_node(tree, i) for i in nodes)
        path_backward(tree, self.path, self.rews, length, leaf, self.gamma)
        after = tuple(_edge(tree.n, tree.mean, i, a) for i, a in zip(nodes, actions, strict=True))
        self.simulations += 1
        self.last = Simulation(tuple(nodes), tuple(actions), tuple(self.rews[:length].tolist()),
                               size if int(tree.size[0]) > size else -1, float(leaf),
                               _returns(self.rews[:length], float(leaf), self.gamma), before, after, node_before)
        return self.last

    @property
    def root_state(self) -> int:
        return int(self.tree.state[0])

    def leading(self) -> int:
        """The root's leading action (``leading_action``)."""
        return leading_action(self.tree.n[0], self.tree.mean[0])

    def move(self, action: int, next_state: int) -> int:
        """The real step took ``action`` and reached ``next_state``: keep that outcome's subtree as
        the tree (``path_tree_reroot``); returns the node that became the root (-1: none, a fresh root)."""
        old = int(path_child(self.tree, 0, action, next_state))
        path_tree_reroot(self.tree, action, next_state)
        self.last = None
        return old

    def frame(self) -> dict[str, Any]:
        """The tree as it stands: nodes (state, N, mean value, layout), visited edges (N, mean), the
        last simulation, the leading root action, the nodes kept from the previous decision."""
        tree = self.tree
        size = int(tree.size[0])
        depth, x = tree_layout(tree.parent, size)
        n, w = tree.n[:size], tree.w[:size]
        tried = n.sum(axis=1)
        nodes = [
            {"id": i, "parent": int(tree.parent[i]), "action": int(tree.action[i]), "state": int(tree.state[i]),
             "visits": float(tree.visits[i]), "value": float(w[i].sum() / tried[i]) if tried[i] > 0 else None,
             "depth": int(depth[i]), "x": float(x[i])}
            for i in range(size)
        ]
        ii, aa = np.nonzero(n > 0)
        edges = [{"node": int(i), "action": int(a), "n": float(n[i, a]), "mean": float(tree.mean[i, a])}
                 for i, a in zip(ii, aa, strict=True)]
        last = self.last
        return {
            "simulation": self.simulations, "root_state": self.root_state, "nodes": nodes, "edges": edges,
            "root_n": tree.n[0].tolist(), "root_mean": _means(tree.n[0], tree.mean[0]),
            "chosen": self.leading(), "reused": int(tree.reused[0]), "capacity": int(tree.state.shape[0]),
            "path": last.rows() if last else [], "expanded": last.expanded if last else -1,
            "leaf": last.leaf if last else None,
        }


class GrowingTable(_Growing):
    """The state-keyed MCTS table (``search.state_table``, ``key="state"``), one simulation at a time.

    The same simulations as ``GrowingTree``'s (UCB1 selection, the same leaf evaluation, the same
    horizon) with the statistics kept per state: every path through a state shares its row and a
    real step keeps every row. ``backup``: ``"every"``, ``"first"`` or ``"bellman"`` (DP-UCT with
    the exact model); an edge's value is ``StateTable.mean`` (W / N, or the partial Bellman backup).
    """

    def __init__(self, model: TabularModel, state: int, *, c: float = 1.0, gamma: float = 0.95, depth: int = 50,
                 evaluation: str = "rollout", backup: str = "every", q: np.ndarray | None = None,
                 seed: int = 0) -> None:
        _check(model, state, evaluation)
        self.model = model
        self.root = int(state)
        self.q = _leaf_values(model, q)
        self.table: StateTable = new_state_table(model.n_states, model.n_actions, depth, "state", backup)
        self.backup = backup
        self._settings(seed, c, gamma, depth, evaluation)

    def simulate(self) -> Simulation:
        """One simulation from the root state: ``table_simulate`` then ``table_backward``."""
        t = self.table
        length, leaf, _, expanded = table_simulate(self.model, t, self.q, self.root, self.c, self.gamma, self.depth,
                                                   self.evaluation, KEY_STATE, self.path, self.rews, self.rng)
        rows, actions = self.path[0, :length].tolist(), self.path[1, :length].tolist()
        before = tuple(_edge(t.n, t.mean, s, a) for s, a in zip(rows, actions, strict=True))
        node_before = tuple(_node(t, s) for s in rows)
        table_backward(self.model, t, self.q, self.path, self.rews, length, leaf, expanded, self.gamma)
        after = tuple(_edge(t.n, t.mean, s, a) for s, a in zip(rows, actions, strict=True))
        self.simulations += 1
        self.last = Simulation(tuple(rows), tuple(actions), tuple(self.rews[:length].tolist()), int(expanded),
                               float(leaf), _returns(self.rews[:length], float(leaf), self.gamma), before, after,
                               node_before)
        return self.last

    def leading(self) -> int:
        """The root state's leading action (``leading_action``)."""
        return leading_action(self.table.n[self.root], self.table.mean[self.root])

    def move(self, state: int) -> None:
        """The real step reached ``state``: search from there, keeping every row."""
        self.root = int(state)
        self.last = None

    def frame(self) -> dict[str, Any]:
        """The table as it stands: each visited pair's N and value, N per state, the last simulation."""
        t = self.table
        ss, aa = np.nonzero(t.n > 0)
        pairs = [{"state": int(s), "action": int(a), "n": float(t.n[s, a]), "value": float(t.mean[s, a])}
                 for s, a in zip(ss, aa, strict=True)]
        last = self.last
        return {
            "simulation": self.simulations, "root_state": self.root, "backup": self.backup, "pairs": pairs,
            "visits": t.visits.tolist(), "root_n": t.n[self.root].tolist(),
            "root_mean": _means(t.n[self.root], t.mean[self.root]), "chosen": self.leading(),
            "path": last.rows() if last else [], "expanded": last.expanded if last else -1,
            "leaf": last.leaf if last else None,
        }


def _returns(rews: np.ndarray, leaf: float, gamma: float) -> tuple[float, ...]:
    out = []
    g = leaf
    for r in rews[::-1]:
        g = float(r) + gamma * g
        out.append(g)
    return tuple(out[::-1])


def _means(n: np.ndarray, mean: np.ndarray) -> list[float | None]:
    return [float(m) if k > 0 else None for k, m in zip(n, mean, strict=True)]


def _count(msg: dict[str, Any], name: str, low: int, high: int, default: int) -> int:
    value = msg.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"{name} must be an integer in [{low}, {high}], got {reprlib.repr(value)}")
    return value


class SearchSession:
    """The search page's side: the book's tree and the state-keyed table on slippery FrozenLake 4x4.

    Both search from the same root, one simulation each per simulation, with their settings from
    the decision-time comparison (``docs/reproductions/decision-time.md``): gamma 0.99, horizon
    ``depth``, random rollouts; the tree with c = 1, the table with Bellman backups and c = 2.
    A real step takes the leading action of the search named by ``by`` (the tree by default),
    samples the slippery outcome and moves both roots there: the tree keeps that outcome's
    subtree, the table every row. Replies: ``{"type": "search", "tree": ..., "table": ...,
    "exact": ..., "layout": ..., "step": ..., "done": ...}`` where ``exact`` holds the root
    actions' values by backward induction over the horizon.

    Messages (JSON objects): ``{"type": "hello"}`` (the frame as it stands),
    ``{"type": "simulate", "count": k}`` (k in 1..``MAX_SIMULATIONS``; the frame after the last),
    ``{"type": "step", "by": "tree" | "table"}``, ``{"type": "reset", "seed": s}``. After a
    terminal outcome only ``reset`` goes on. A malformed message gets ``{"type": "error",
    "message": ...}`` (one line) and changes nothing.
    """

    def __init__(self, seed: int = 0, capacity: int = 1000, depth: int = 100, gamma: float = 0.99) -> None:
        import gymnasium as gym

        from dynaplan.envs.tabular import model_of

        env = gym.make("FrozenLake-v1", is_slippery=True)
        self.model = model_of(env)
        self.desc = ["".join(c.decode() for c in row) for row in env.unwrapped.desc]  # type: ignore[attr-defined]
        self.capacity, self.depth, self.gamma = capacity, depth, gamma
        self.exact = finite_horizon_q(self.model, depth, gamma)[depth]
        self._new(seed)

    def _new(self, seed: int) -> None:
        self.tree = GrowingTree(self.model, 0, capacity=self.capacity, c=1.0, gamma=self.gamma, depth=self.depth,
                                seed=seed)
        self.table = GrowingTable(self.model, 0, c=2.0, gamma=self.gamma, depth=self.depth, backup="bellman",
                                  seed=seed)
        self.env_rng = np.random.default_rng(np.random.SeedSequence([seed, 1]))
        self.step: RealStep | None = None
        self.done = False

    def real_step(self, by: str) -> RealStep:
        """Take the leading action of ``by``'s search, sample the outcome, move both searches there."""
        s = self.tree.root_state
        a = self.tree.leading() if by == "tree" else self.table.leading()
        if a < 0:
            raise ValueError(f"the {by} has not searched this state yet: run a simulation first")
        m = self.model
        k = int(self.env_rng.choice(m.prob.shape[2], p=m.prob[s, a]))
        s2, r, term = int(m.next_state[s, a, k]), float(m.reward[s, a, k]), bool(m.terminated[s, a, k])
        kept = self.tree.move(a, s2)
        self.table.move(s2)
        self.step = RealStep(s, a, r, s2, term, by, kept)
        self.done = term
        return self.step

    def frame(self) -> dict[str, Any]:
        """Both searches, the ground truth at the root, the world and the last real step."""
        step = self.step
        return {
            "type": "search", "tree": self.tree.frame(), "table": self.table.frame(),
            "exact": self.exact[self.tree.root_state].tolist(), "horizon": self.depth, "gamma": self.gamma,
            "layout": self.desc, "actions": list(ACTIONS), "done": self.done,
            "step": None if step is None else {
                "state": step.state, "action": step.action, "reward": step.reward, "next_state": step.next_state,
                "terminated": step.terminated, "by": step.by, "kept_root_was": step.kept_root_was},
        }

    def handle(self, msg: Any) -> dict[str, Any]:
        """The reply to one decoded message."""
        try:
            if not isinstance(msg, dict):
                raise ValueError(f"a message must be a JSON object, got {type(msg).__name__}")
            kind = msg.get("type")
            if kind == "simulate":
                k = _count(msg, "count", 1, MAX_SIMULATIONS, 1)
                if self.done:
                    raise ValueError("the episode has ended: reset to search again")
                for _ in range(k):
                    self.tree.simulate()
                    self.table.simulate()
            elif kind == "step":
                by = msg.get("by", "tree")
                if by not in ("tree", "table"):
                    raise ValueError(f"by must be 'tree' or 'table', got {reprlib.repr(by)}")
                if self.done:
                    raise ValueError("the episode has ended: reset to search again")
                self.real_step(by)
            elif kind == "reset":
                self._new(_count(msg, "seed", 0, 2**31 - 1, 0))
            elif kind != "hello":
                raise ValueError(f"unknown message type {reprlib.repr(kind)} (hello, simulate, step, reset)")
        except ValueError as exc:
            return {"type": "error", "message": str(exc)}
        return self.frame()
