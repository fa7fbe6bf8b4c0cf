"""Monte Carlo Tree Search (book section 8.11), one family with two ways of keeping statistics.

* the **path tree** (``search.path_tree``, ``key="path"``, the default): the book's tree, a node
  per path from the root, the subtree of the action taken and the state reached kept for the
  next decision (tree reuse);
* the **state table** (``search.state_table``, ``key="state"`` or ``"horizon"``): UCT with a
  transposition table, a row per state (or per steps left and state), with every-visit,
  first-visit or Bellman backups.

Both share UCB1 selection, the descent's model step, the leaf evaluation and the move choice
(``search.ucb``), and both are written in the shape of mctx's ``search``: a run repeats
*simulate* (selection, expansion, evaluation) and *backward* (the backup). ``mcts_search`` is
the one Python entry point for both; the agents are ``dynaplan.MCTS`` and ``dynaplan.DynaMCTS``
(``agents.search``).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from dynaplan.rng import from_seed
from dynaplan.search.models import check_model, model_sizes
from dynaplan.search.path_tree import PathTree, grown, new_path_tree, path_tree_reset, path_tree_run
from dynaplan.search.result import SearchResult
from dynaplan.search.rollout import _check_search_args
from dynaplan.search.state_table import BACKUPS, KEY_HORIZON, KEY_STATE, StateTable, new_state_table, state_table_run
from dynaplan.search.ucb import EVAL_GREEDY_ROLLOUT, EVAL_ROLLOUT, EVAL_VALUE, EVALUATIONS, most_visited

__all__ = [
    "BACKUPS",
    "EVALUATIONS",
    "EVAL_GREEDY_ROLLOUT",
    "EVAL_ROLLOUT",
    "EVAL_VALUE",
    "KEYS",
    "KEY_HORIZON",
    "KEY_PATH",
    "KEY_STATE",
    "mcts_search",
]

KEY_PATH = 2
KEYS = {"path": KEY_PATH, "state": KEY_STATE, "horizon": KEY_HORIZON}


def _check_mcts_args(
    model: Any, state: int, simulations: int | None, seconds: float | None, c: float, gamma: float, depth: int,
    evaluation: str, key: str, backup: str,
) -> None:
    """ValueError naming the first bad argument of ``mcts_search``."""
    check_model(model, expected=backup == "bellman")
    n_states, _ = model_sizes(model)
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
    if backup != "every" and key == "path":
        raise ValueError(f"backup={backup!r} needs key='state' (a tree has no transpositions)")
    if not c >= 0:
        raise ValueError(f"c must be a non-negative number, got {c!r}")


def _timed(run: Any, seconds: float, chunk: int, before_chunk: Any = None) -> tuple[int, int]:
    """Call ``run(size)`` on chunks of ``chunk``, 2 ``chunk``, ... simulations while ``seconds`` remain;
    returns ``(simulations, model steps)``. ``before_chunk(size)`` runs first each time (tree growth)."""
    sims, steps, size = 0, 0, max(1, int(chunk))
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        if before_chunk is not None:
            before_chunk(size)
        steps += run(size)
        sims += size
        size *= 2
    return sims, steps


def _path_search(
    model: Any, state: int, simulations: int | None, seconds: float | None, args: tuple[Any, ...], q: np.ndarray,
    tree: PathTree | None, max_nodes: int | None, rng: np.ndarray, chunk: int,
) -> tuple[PathTree, int, int]:
    """``mcts_search`` on the path tree: ``(tree, simulations, model steps)``.

    ``args = (c, gamma, depth, evaluation, path, rews)``. A given ``tree`` whose root stands for
    ``state`` is continued (its capacity fixed); any other is reset to a root for ``state``.
    Without one, the tree holds ``max_nodes`` nodes (default: one per simulation plus the root;
    with a time budget it starts at 4,096 and doubles between chunks as needed).
    """
    n_actions = q.shape[1]
    own = tree is None
    if tree is None:
        cap = max_nodes if max_nodes is not None else (int(simulations or 0) + 1 if seconds is None else 4096)
        tree = new_path_tree(cap, n_actions)
    elif tree.n.shape[1] != n_actions:
        raise ValueError("tree does not match the model's number of actions")
    if not (tree.size[0] > 0 and tree.state[0] == state):
        path_tree_reset(tree, int(state))
    if seconds is None:
        assert simulations is not None
        return tree, int(simulations), path_tree_run(model, tree, q, int(simulations), 0, *args, rng)
    box = [tree]

    def grow(size: int) -> None:
        t = box[0]
        if own and max_nodes is None and t.size[0] + size > t.state.shape[0]:
            box[0] = grown(t, 2 * (t.state.shape[0] + size))

    sims, steps = _timed(lambda size: path_tree_run(model, box[0], q, size, 0, *args, rng), seconds, chunk, grow)
    return box[0], sims, steps


def _table_search(
    model: Any, state: int, simulations: int | None, seconds: float | None, args: tuple[Any, ...], q: np.ndarray,
    table: StateTable | None, key: str, backup: str, rng: np.ndarray, chunk: int,
) -> tuple[StateTable, int, int]:
    """``mcts_search`` on a state table (``args = (c, gamma, depth, evaluation, key, path, rews)``):
    ``(table, simulations, model steps)``."""
    n_states, n_actions = q.shape
    depth = int(args[2])
    if table is None:
        table = new_state_table(n_states, n_actions, depth, key, backup)
    elif table.n.shape != new_state_table(n_states, n_actions, depth, key).n.shape:
        raise ValueError("tree does not match the model's sizes, depth and key")
    if seconds is None:
        assert simulations is not None
        return table, int(simulations), state_table_run(model, table, q, int(state), int(simulations), *args, rng)
    sims, steps = _timed(lambda size: state_table_run(model, table, q, int(state), size, *args, rng), seconds, chunk)
    return table, sims, steps


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
    tree: PathTree | StateTable | None = None,
    max_nodes: int | None = None,
    seed: int | None = None,
    rng: np.ndarray | None = None,
    chunk: int = 64,
) -> SearchResult:
    """MCTS from ``state`` over ``model`` (a ``TabularModel``, ``SampleModel`` or ``DistributionModel``).

    ``key="path"`` (default) grows the book's tree (``search.path_tree``; ``tree`` a ``PathTree``,
    ``max_nodes`` its capacity); ``key="state"`` / ``"horizon"`` use a state table
    (``search.state_table``; ``tree`` from ``new_state_table``), with ``backup`` every-visit,
    first-visit or Bellman (``key="state"`` only).

    Budget: ``simulations``, or ``seconds`` of wall time (then ``simulations`` is ignored; the
    clock is read in Python between compiled chunks of simulations that start at ``chunk`` and
    double while time remains, so a search may overrun by one chunk). Passing a ``tree``
    continues from its statistics and leaves them there (persistence; a path tree is continued
    only if its root stands for ``state``); without one the search starts empty.
    ``q: float64[S, A]`` (zeros by default) values leaves and unknown pairs and guides greedy
    rollouts. Randomness: ``rng`` (a ``uint64[4]`` state, advanced in place) or ``seed``.
    """
    _check_mcts_args(model, state, simulations, seconds, c, gamma, depth, evaluation, key, backup)
    n_states, n_actions = model_sizes(model)
    q = np.zeros((n_states, n_actions)) if q is None else np.ascontiguousarray(q, dtype=np.float64)
    rng = from_seed(np.random.SeedSequence(seed)) if rng is None else rng
    path, rews = np.zeros((2, int(depth)), dtype=np.int64), np.zeros(int(depth))
    t0 = time.perf_counter()
    common = (float(c), float(gamma), int(depth), EVALUATIONS[evaluation])
    stats: PathTree | StateTable
    if key == "path":
        assert tree is None or isinstance(tree, PathTree)
        stats, sims, steps = _path_search(
            model, int(state), simulations, seconds, (*common, path, rews), q, tree, max_nodes, rng, chunk
        )
        root = 0
    else:
        assert tree is None or isinstance(tree, StateTable)
        stats, sims, steps = _table_search(
            model, int(state), simulations, seconds, (*common, KEYS[key], path, rews), q, tree, key, backup, rng, chunk
        )
        root = int(state) if key == "state" else int(depth) * n_states + int(state)
    action = most_visited(stats, root, rng)
    n_root = stats.n[root].copy()
    if backup == "bellman":
        values = np.where(n_root > 0, stats.mean[root], np.nan)
    else:
        values = np.divide(stats.w[root], n_root, out=np.full(n_actions, np.nan), where=n_root > 0)
    return SearchResult(int(action), n_root, values, sims, int(steps), time.perf_counter() - t0)
