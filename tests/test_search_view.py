"""The search view's frames report the path tree's own statistics, simulation by simulation."""

from __future__ import annotations

import itertools

import gymnasium as gym
import numpy as np
import pytest

from dynaplan.envs.tabular import model_of
from dynaplan.explore.search_view import SearchSession, SearchView, TableView, tree_layout
from dynaplan.rng import from_seed
from dynaplan.search.mcts import KEY_STATE, mcts_run, new_tree
from dynaplan.search.tree import SIZE, new_search_tree, tree_reset, tree_run

GAMMA = 0.95


@pytest.fixture(scope="module")
def lake():
    return model_of(gym.make("FrozenLake-v1", is_slippery=True))


def _subtree(parent: np.ndarray, size: int, root: int) -> list[int]:
    inside = {root}
    for i in range(root + 1, size):
        if int(parent[i]) in inside:
            inside.add(i)
    return sorted(inside)


def test_one_simulation_at_a_time_is_the_same_search(lake):
    """k single simulations leave exactly the arrays of one tree_run of k from the same seed."""
    view = SearchView(lake, 0, capacity=200, gamma=GAMMA, depth=30, seed=7)
    for _ in range(60):
        view.simulate()
    tree = new_search_tree(200, lake.n_actions)
    tree_reset(tree, 0)
    rng = from_seed(np.random.SeedSequence(7))
    tree_run(lake, tree, np.zeros((lake.n_states, lake.n_actions)), 60, 0, 1.0, GAMMA, 30, 0,
             np.zeros((2, 30), dtype=np.int64), np.zeros(30), rng)
    size = int(tree.info[SIZE])
    assert size == int(view.tree.info[SIZE]) > 10
    for name in ("state", "parent", "action", "n", "w", "visits"):
        np.testing.assert_array_equal(getattr(view.tree, name)[:size], getattr(tree, name)[:size], err_msg=name)
    np.testing.assert_array_equal(view.rng, rng)


def test_frames_equal_the_tree_statistics(lake):
    view = SearchView(lake, 0, capacity=300, gamma=GAMMA, depth=30, seed=3)
    root_total = 0.0
    for k in range(1, 201):
        before = int(view.tree.info[SIZE])
        f = view.simulate()
        tree = view.tree
        size = int(tree.info[SIZE])
        assert f["simulation"] == k and len(f["nodes"]) == size
        for i, p, a, s, n, _, _ in f["nodes"]:
            assert (p, a, s, n) == (tree.parent[i], tree.action[i], tree.state[i], tree.visits[i])
        edges = {(i, a): (n, m) for i, a, n, m in f["edges"]}
        visited = np.argwhere(tree.n[:size] > 0)
        assert set(edges) == {(int(i), int(a)) for i, a in visited}
        for (i, a), (n, m) in edges.items():
            assert n == tree.n[i, a] and m == pytest.approx(tree.w[i, a] / tree.n[i, a], abs=1e-12)
        # every simulation visits the root once: N(root) counts the simulations
        assert tree.visits[0] == k == sum(n for (i, _), (n, _) in edges.items() if i == 0)
        path = f["path"]
        assert path and path[0][0] == 0
        for (n0, a0, _), (n1, _, _) in itertools.pairwise(path):
            assert tree.parent[n1] == n0 and tree.action[n1] == a0  # a chain down the tree
        # the returns backed up along the path: g_i = r_i + gamma g_{i+1} in the model's rewards
        for (_, _, g0), (_, _, g1) in itertools.pairwise(path):
            assert g0 == pytest.approx(GAMMA * g1, abs=1e-12)  # FrozenLake pays only at the goal
        root_total += path[0][2]
        assert sum(tree.w[0, :]) == pytest.approx(root_total, abs=1e-9)
        assert f["expanded"] == (before if size > before else -1)
        if f["expanded"] >= 0:
            assert tree.parent[f["expanded"]] == path[-1][0] and tree.action[f["expanded"]] == path[-1][1]
        n0 = tree.n[0]
        best = [a for a in range(4) if n0[a] == n0.max()]
        assert f["chosen"] in best
    assert root_total > 0  # the goal was reached in some rollout


def test_real_step_keeps_the_subtree_with_its_counts(lake):
    view = SearchView(lake, 0, capacity=400, gamma=GAMMA, depth=30, seed=11, env_seed=5)
    for _ in range(300):
        view.simulate()
    tree = view.tree
    size = int(tree.info[SIZE])
    snap = {name: getattr(tree, name)[:size].copy() for name in ("state", "parent", "n", "w", "visits")}
    f = view.real_step()
    step = f["step"]
    old_root = step["kept_root_was"]
    assert old_root > 0 and snap["parent"][old_root] == 0
    assert snap["state"][old_root] == step["next_state"]
    kept = _subtree(snap["parent"], size, old_root)
    assert f["reused"] == len(kept) == len(f["nodes"]) > 1
    assert f["root_state"] == step["next_state"]
    edges = {(i, a): n for i, a, n, _ in f["edges"]}
    for new, old in enumerate(kept):
        row = f["nodes"][new]
        assert row[3] == snap["state"][old] and row[4] == snap["visits"][old]
        for a in range(4):
            assert edges.get((new, a), 0.0) == snap["n"][old, a]
    # new simulations grow the kept tree: the kept ids stay below `reused`
    g = view.simulate()
    assert g["reused"] == len(kept) and g["nodes"][0][4] == snap["visits"][old_root] + 1


def test_tree_layout_centres_parents():
    parent = np.array([-1, 0, 0, 1, 1, 2])
    depth, x = tree_layout(parent, 6)
    assert depth.tolist() == [0, 1, 1, 2, 2, 2]
    assert x[3] == 0.0 and x[4] == 1.0 and x[5] == 2.0 and x[1] == 0.5 and x[2] == 2.0 and x[0] == 1.25


def test_bad_arguments_are_refused(lake):
    with pytest.raises(ValueError, match="evaluation"):
        SearchView(lake, 0, evaluation="nope")
    with pytest.raises(ValueError, match="state"):
        SearchView(lake, 99)


def test_session_refuses_malformed_messages_and_changes_nothing():
    session = SearchSession(seed=0)
    session.handle({"type": "simulate", "count": 5})
    refused = [
        ([1], "a message must be a JSON object, got list"),
        ({"type": "grow"}, "unknown message type 'grow' (hello, simulate, step, reset)"),
        ({"type": "simulate", "count": 0}, "count must be an integer in [1, 1000], got 0"),
        ({"type": "simulate", "count": True}, "count must be an integer in [1, 1000], got True"),
        ({"type": "reset", "seed": -1}, "seed must be an integer in [0, 2147483647], got -1"),
    ]
    for msg, line in refused:
        assert session.handle(msg) == {"type": "error", "message": line}
    frame = session.handle({"type": "hello"})
    assert frame["simulation"] == 5 and frame["layout"][0] == "SFFF"
    # an episode that has ended takes no more simulations or steps until a reset
    for _ in range(500):
        session.handle({"type": "simulate", "count": 20})
        if session.handle({"type": "step"})["done"]:
            break
    assert session.view.done
    assert session.handle({"type": "step"})["type"] == "error"
    assert session.handle({"type": "simulate"})["type"] == "error"
    assert session.handle({"type": "reset", "seed": 4})["simulation"] == 0


def test_table_view_is_the_state_keyed_search_one_simulation_at_a_time(lake):
    view = TableView(lake, 0, gamma=GAMMA, depth=30, seed=5)
    table = new_tree(lake.n_states, lake.n_actions, 30)
    rng = from_seed(np.random.SeedSequence(5))
    for k in range(1, 61):
        before = view.table.n.copy()
        f = view.simulate()
        mcts_run(lake, table, np.zeros((lake.n_states, lake.n_actions)), 0, 1, 1.0, GAMMA, 30, 0, KEY_STATE,
                 np.zeros((2, 30), dtype=np.int64), np.zeros(30), rng)
        np.testing.assert_array_equal(view.table.n, table.n)
        np.testing.assert_array_equal(view.table.w, table.w)
        rows = {(s, a): (n, m) for s, a, n, m in f["rows"]}
        assert set(rows) == {(int(s), int(a)) for s, a in np.argwhere(table.n > 0)}
        for (s, a), (n, m) in rows.items():
            assert n == table.n[s, a] and m == pytest.approx(table.w[s, a] / table.n[s, a], abs=1e-12)
        assert f["visits"] == table.visits.tolist() and table.visits[0] >= k
        # the path: starts at the root, follows the model, and is exactly the edges counted once more
        path = f["path"]
        assert path[0][0] == 0
        for (s, a), (s2, _) in itertools.pairwise(path):
            assert s2 in lake.next_state[s, a][lake.prob[s, a] > 0]
        added = np.zeros_like(before)
        for s, a in path:
            added[s, a] += 1
        np.testing.assert_array_equal(view.table.n - before, added)
    moved = view.move(4)
    assert moved["root_state"] == 4 and moved["rows"] == f["rows"]  # a real step keeps every statistic


def test_session_moves_the_table_with_the_tree(lake):
    session = SearchSession(seed=2)
    f = session.handle({"type": "simulate", "count": 100})
    assert f["table"]["root_state"] == 0 and f["table"]["visits"][0] >= 100
    g = session.handle({"type": "step"})
    assert g["table"]["root_state"] == g["root_state"] == g["step"]["next_state"]
    assert g["table"]["rows"] == f["table"]["rows"]
