"""The book's search tree as it grows, one simulation at a time (Sutton & Barto, section 8.11).

``SearchView`` holds an ``MCTSTree`` (``search.tree``: the path tree that ``MCTS`` searches by
default) and advances it by the search module's own kernel, ``tree_run`` with one simulation,
so a run of k single simulations is the same search as one call of k (the random state is
consumed per simulation; ``tests/test_search_view.py`` checks the arrays are identical). After
each simulation it returns a frame, a JSON-ready dict the search page only draws:

* ``nodes``: one row per node, ``[id, parent, action, state, N(n), depth, x]`` (``x`` a
  tidy-tree position: leaves in depth-first order, a parent centred over its children);
* ``edges``: one row per visited edge, ``[node, action, N(n, a), W / N]``;
* ``path``: the last simulation's selection path, ``[node, action, return]`` from the root
  down, ``return`` the discounted return that simulation backed up through the edge;
* ``expanded``: the node the simulation added (-1: none, the path ended at a terminal, the
  horizon or a full tree); ``leaf``: the rollout's (or value function's) estimate at the end of
  the path;
* ``chosen``: the root's leading action (most visits, ties by the better mean, then the lowest
  index; the agent breaks exact ties at random);
* ``reused``: nodes ``0 .. reused - 1`` were kept from the previous decision by
  ``tree_reroot`` (subtree reuse), their statistics unchanged.

``real_step`` takes the root's most visited action in the exact model, samples the outcome and
keeps that subtree, as ``MCTS(persist=True)`` does between decisions. ``SearchSession`` answers
the search page's messages (``explore/static/search.html``, served at ``/search.html``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dynaplan.envs.tabular import TabularModel
from dynaplan.rng import from_seed
from dynaplan.search.mcts import KEY_STATE, mcts_run, new_tree
from dynaplan.search.tree import (
    SIZE,
    MCTSTree,
    new_search_tree,
    tree_child,
    tree_most_visited,
    tree_reroot,
    tree_reset,
    tree_run,
)
from dynaplan.search.ucb import EVALUATIONS

__all__ = ["MAX_SIMULATIONS", "SearchSession", "SearchView", "TableView", "tree_layout"]

MAX_SIMULATIONS = 1000


def tree_layout(parent: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """(depth, x) of nodes 0..size-1: leaves at consecutive x in depth-first order, parents centred.

    Children come after their parent in index order (``search.tree``), so one pass down and one
    pass up suffice.
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


class SearchView:
    """One path-tree MCTS search over an exact ``TabularModel``, advanced one simulation at a time.

    Args:
      model: the exact model searched (``envs.tabular.model_of(env)``)
      state: the root state
      capacity: most nodes the tree holds (simulations go on without adding nodes past it)
      c, gamma, depth, evaluation: as ``mcts_search`` (UCB1 constant, discount, horizon, leaf
        evaluation ``"rollout"``, ``"value"`` or ``"greedy-rollout"``)
      q: float64[S, A] leaf values (zeros by default)
      seed: the search's random state; ``env_seed`` the real steps' outcomes
    """

    def __init__(self, model: TabularModel, state: int, *, capacity: int = 512, c: float = 1.0,
                 gamma: float = 0.95, depth: int = 50, evaluation: str = "rollout",
                 q: np.ndarray | None = None, seed: int = 0, env_seed: int = 1) -> None:
        if evaluation not in EVALUATIONS:
            raise ValueError(f"evaluation must be one of {', '.join(EVALUATIONS)}, got {evaluation!r}")
        if not 0 <= int(state) < model.n_states:
            raise ValueError(f"state must be in [0, {model.n_states}), got {state!r}")
        self.model = model
        self.q = np.zeros((model.n_states, model.n_actions)) if q is None else np.ascontiguousarray(q, dtype=np.float64)
        self.tree: MCTSTree = new_search_tree(capacity, model.n_actions)
        tree_reset(self.tree, int(state))
        self.rng = from_seed(np.random.SeedSequence(seed))
        self.env_rng = np.random.default_rng(env_seed)
        self.c, self.gamma, self.depth = float(c), float(gamma), int(depth)
        self.evaluation = EVALUATIONS[evaluation]
        self.scratch = np.zeros((2, self.depth), dtype=np.int64), np.zeros(self.depth)
        self.simulations = 0
        self.reused = 0
        self.done = False
        self.last: dict[str, Any] = {"path": [], "expanded": -1, "leaf": None}

    def simulate(self) -> dict[str, Any]:
        """Run one simulation (selection, expansion, rollout, backup) and return the frame."""
        tree = self.tree
        size = int(tree.info[SIZE])
        n_before, w_before = tree.n[:size].copy(), tree.w[:size].copy()
        tree_run(self.model, tree, self.q, 1, 0, self.c, self.gamma, self.depth, self.evaluation,
                 self.scratch[0], self.scratch[1], self.rng)
        self.simulations += 1
        dn = tree.n[:size] - n_before
        # the path visits one edge per depth; its edges are those whose count rose, root first
        touched = [(int(i), int(np.argmax(dn[i]))) for i in np.flatnonzero(dn.sum(axis=1) > 0)]
        nodes, acts = self.scratch[0][0], self.scratch[0][1]
        path = []
        for k, (node, a) in enumerate(touched):
            if (int(nodes[k]), int(acts[k])) != (node, a):
                raise AssertionError("the simulation's path is not the chain of edges it updated")
            path.append([node, a, float(tree.w[node, a] - w_before[node, a])])
        expanded = size if int(tree.info[SIZE]) > size else -1
        leaf = None
        if path:
            rews = self.scratch[1]
            last = len(path) - 1
            leaf = (path[-1][2] - float(rews[last])) / self.gamma if self.gamma > 0 else 0.0
        self.last = {"path": path, "expanded": expanded, "leaf": leaf}
        return self.frame()

    def real_step(self) -> dict[str, Any]:
        """Take the root's most visited action in the model, keep the subtree of the outcome; the frame."""
        tree = self.tree
        s = int(tree.state[0])
        a = int(tree_most_visited(tree, self.rng))
        m = self.model
        k = int(self.env_rng.choice(m.prob.shape[2], p=m.prob[s, a]))
        s2, r, term = int(m.next_state[s, a, k]), float(m.reward[s, a, k]), bool(m.terminated[s, a, k])
        old = int(tree_child(tree, 0, a, s2))
        kept = int(tree_reroot(tree, a, s2))
        self.reused = kept
        self.done = term
        self.last = {"path": [], "expanded": -1, "leaf": None,
                     "step": {"state": s, "action": a, "reward": r, "next_state": s2, "terminated": term,
                              "kept_root_was": old}}
        return self.frame()

    def frame(self) -> dict[str, Any]:
        """The tree as it stands: nodes, visited edges, the last simulation, the leading root action."""
        tree = self.tree
        size = int(tree.info[SIZE])
        depth, x = tree_layout(tree.parent, size)
        nodes = [[i, int(tree.parent[i]), int(tree.action[i]), int(tree.state[i]), float(tree.visits[i]),
                  int(depth[i]), float(x[i])] for i in range(size)]
        ii, aa = np.nonzero(tree.n[:size] > 0)
        edges = [[int(i), int(a), float(tree.n[i, a]), float(tree.w[i, a] / tree.n[i, a])]
                 for i, a in zip(ii, aa, strict=True)]
        root_n, root_w = tree.n[0], tree.w[0]
        means = np.divide(root_w, root_n, out=np.full(root_n.shape, -np.inf), where=root_n > 0)
        chosen = int(np.lexsort((-means, -root_n))[0]) if root_n.max() > 0 else -1
        out: dict[str, Any] = {"type": "search", "simulation": self.simulations, "root_state": int(tree.state[0]),
                               "n_actions": int(tree.n.shape[1]), "nodes": nodes, "edges": edges,
                               "chosen": chosen, "reused": self.reused, "done": self.done}
        out.update(self.last)
        return out


class TableView:
    """The state-keyed table of ``search.mcts`` (``key="state"``, every-visit backups), one simulation at a time.

    Simulations of the same kind as ``SearchView``'s (UCB1 selection, random rollouts, a horizon)
    but the statistics are kept per state, so every path
    through a state shares them and a real step keeps them all (``persist``). Its frame:
    ``rows``: ``[state, action, N(s, a), W / N]`` for every visited pair, ``visits``: N(s) per
    state, ``path``: the last simulation's ``[state, action]`` steps (a state may repeat),
    ``chosen``: the root state's leading action.
    """

    def __init__(self, model: TabularModel, state: int, *, c: float = 1.0, gamma: float = 0.95, depth: int = 50,
                 evaluation: str = "rollout", seed: int = 0) -> None:
        self.model = model
        self.root = int(state)
        self.q = np.zeros((model.n_states, model.n_actions))
        self.table = new_tree(model.n_states, model.n_actions, depth)
        self.rng = from_seed(np.random.SeedSequence(seed))
        self.c, self.gamma, self.depth = float(c), float(gamma), int(depth)
        self.evaluation = EVALUATIONS[evaluation]
        self.scratch = np.zeros((2, self.depth), dtype=np.int64), np.zeros(self.depth)
        self.path: list[list[int]] = []

    def simulate(self) -> dict[str, Any]:
        """Run one simulation from the root state; the frame."""
        before = self.table.n.sum()
        mcts_run(self.model, self.table, self.q, self.root, 1, self.c, self.gamma, self.depth, self.evaluation,
                 KEY_STATE, self.scratch[0], self.scratch[1], self.rng)
        length = round(float(self.table.n.sum() - before))  # every-visit: one count per step of the path
        self.path = [[int(s), int(a)] for s, a in zip(self.scratch[0][0][:length], self.scratch[0][1][:length],
                                                       strict=True)]
        return self.frame()

    def move(self, state: int) -> dict[str, Any]:
        """The real step reached ``state``: search from there, keeping every statistic."""
        self.root = int(state)
        self.path = []
        return self.frame()

    def frame(self) -> dict[str, Any]:
        """The table as it stands."""
        n, w = self.table.n, self.table.w
        ss, aa = np.nonzero(n > 0)
        rows = [[int(s), int(a), float(n[s, a]), float(w[s, a] / n[s, a])] for s, a in zip(ss, aa, strict=True)]
        root_n = n[self.root]
        means = np.divide(w[self.root], root_n, out=np.full(root_n.shape, -np.inf), where=root_n > 0)
        chosen = int(np.lexsort((-means, -root_n))[0]) if root_n.max() > 0 else -1
        return {"root_state": self.root, "rows": rows, "visits": self.table.visits.tolist(), "path": self.path,
                "chosen": chosen}


def _count(msg: dict[str, Any], name: str, low: int, high: int, default: int) -> int:
    value = msg.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"{name} must be an integer in [{low}, {high}], got {value!r}")
    return value


class SearchSession:
    """The search page's side: a ``SearchView`` and a ``TableView`` on slippery FrozenLake 4x4.

    Both search from the start state with the same seed, one simulation each per simulation; a
    real step is the tree's (its most visited action, a sampled outcome) and moves the table's
    root to the same state. Replies are the tree's frame with the table's under ``"table"``.

    Messages (JSON objects): ``{"type": "hello"}`` (the frame as it stands),
    ``{"type": "simulate", "count": k}`` (k in 1..``MAX_SIMULATIONS`` simulations; the frame
    after the last), ``{"type": "step"}`` (a real step keeping the subtree; after a terminal
    outcome only ``reset`` goes on), ``{"type": "reset", "seed": s}``. A malformed message gets
    ``{"type": "error", "message": ...}`` (one line) and changes nothing.
    """

    def __init__(self, seed: int = 0, capacity: int = 400) -> None:
        import gymnasium as gym

        from dynaplan.envs.tabular import model_of

        env = gym.make("FrozenLake-v1", is_slippery=True)
        self.model = model_of(env)
        self.desc = ["".join(c.decode() for c in row) for row in env.unwrapped.desc]  # type: ignore[attr-defined]
        self.capacity = capacity
        self.view, self.table = self._new(seed)

    def _new(self, seed: int) -> tuple[SearchView, TableView]:
        return (SearchView(self.model, 0, capacity=self.capacity, depth=30, seed=seed, env_seed=seed + 1),
                TableView(self.model, 0, depth=30, seed=seed))

    def handle(self, msg: Any) -> dict[str, Any]:
        """The reply to one decoded message."""
        try:
            if not isinstance(msg, dict):
                raise ValueError(f"a message must be a JSON object, got {type(msg).__name__}")
            kind = msg.get("type")
            if kind == "simulate":
                k = _count(msg, "count", 1, MAX_SIMULATIONS, 1)
                if self.view.done:
                    raise ValueError("the episode has ended: reset to search again")
                for _ in range(k):
                    frame = self.view.simulate()
                    table = self.table.simulate()
            elif kind == "step":
                if self.view.done:
                    raise ValueError("the episode has ended: reset to search again")
                frame = self.view.real_step()
                table = self.table.move(frame["root_state"])
            elif kind == "reset":
                self.view, self.table = self._new(_count(msg, "seed", 0, 2**31 - 1, 0))
                frame, table = self.view.frame(), self.table.frame()
            elif kind == "hello":
                frame, table = self.view.frame(), self.table.frame()
            else:
                raise ValueError(f"unknown message type {kind!r} (hello, simulate, step, reset)")
        except ValueError as exc:
            return {"type": "error", "message": str(exc)}
        frame["layout"] = self.desc
        frame["table"] = table
        return frame
