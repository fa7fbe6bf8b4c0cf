"""The search view's frames report the searches' own statistics, simulation by simulation.

Each test reads both: the frame the page draws (``explore.search_view``) and the kernel's record
(``PathTree``, ``StateTable``) by field name; the returns are checked against FrozenLake's rewards
(1 on reaching the goal, else 0) and the kept subtree against the tree before the real step.
"""

from __future__ import annotations

import itertools

import gymnasium as gym
import numpy as np
import pytest

from dynaplan.envs.tabular import model_of
from dynaplan.explore.search_view import (
    GrowingTable,
    GrowingTree,
    SearchSession,
    leading_action,
    tree_layout,
)
from dynaplan.planning.exact import finite_horizon_q
from dynaplan.rng import from_seed
from dynaplan.search.path_tree import new_path_tree, path_tree_reset, path_tree_run
from dynaplan.search.state_table import KEY_STATE, new_state_table, state_table_run

GAMMA = 0.95
GOAL = 15


@pytest.fixture(scope="module")
def lake():
    return model_of(gym.make("FrozenLake-v1", is_slippery=True))


def _subtree(parent: np.ndarray, size: int, root: int) -> list[int]:
    inside = {root}
    for i in range(root + 1, size):
        if int(parent[i]) in inside:
            inside.add(i)
    return sorted(inside)


def _check_returns(path: list[dict], gamma: float, leaf: float) -> None:
    """G_i = r_i + gamma G_{i+1}, G_L = leaf; FrozenLake pays 1 only on the step into the goal, which ends it."""
    for row, nxt in itertools.pairwise(path):
        assert row["reward"] == 0.0
        assert row["return"] == pytest.approx(gamma * nxt["return"], abs=1e-12)
    last = path[-1]
    assert last["return"] == pytest.approx(last["reward"] + gamma * leaf, abs=1e-12)


def test_one_simulation_at_a_time_is_the_same_search(lake):
    """k single simulations leave exactly the arrays of one path_tree_run / state_table_run of k."""
    q = np.zeros((lake.n_states, lake.n_actions))
    tree_view = GrowingTree(lake, 0, capacity=200, gamma=GAMMA, depth=30, seed=7)
    table_view = GrowingTable(lake, 0, c=2.0, gamma=GAMMA, depth=30, backup="bellman", seed=7)
    for _ in range(60):
        tree_view.simulate()
        table_view.simulate()
    tree = new_path_tree(200, lake.n_actions)
    path_tree_reset(tree, 0)
    rng = from_seed(np.random.SeedSequence(7))
    path_tree_run(lake, tree, q, 60, 0, 1.0, GAMMA, 30, 0, np.zeros((2, 30), dtype=np.int64), np.zeros(30), rng)
    size = int(tree.size[0])
    assert size == int(tree_view.tree.size[0]) > 10
    for name in ("state", "parent", "action", "n", "w", "mean", "visits"):
        np.testing.assert_array_equal(getattr(tree_view.tree, name)[:size], getattr(tree, name)[:size], err_msg=name)
    np.testing.assert_array_equal(tree_view.rng, rng)
    table = new_state_table(lake.n_states, lake.n_actions, 30, "state", "bellman")
    rng = from_seed(np.random.SeedSequence(7))
    state_table_run(lake, table, q, 0, 60, 2.0, GAMMA, 30, 0, KEY_STATE, np.zeros((2, 30), dtype=np.int64),
                    np.zeros(30), rng)
    for name in ("n", "w", "mean", "visits", "leaf"):
        np.testing.assert_array_equal(getattr(table_view.table, name), getattr(table, name), err_msg=name)


def test_tree_frames_equal_the_tree_statistics_after_each_simulation(lake):
    view = GrowingTree(lake, 0, capacity=300, gamma=GAMMA, depth=30, seed=3)
    root_total = 0.0
    for k in range(1, 151):
        before = int(view.tree.size[0])
        view.simulate()
        f = view.frame()
        tree = view.tree
        size = int(tree.size[0])
        assert f["simulation"] == k and len(f["nodes"]) == size
        for node in f["nodes"]:
            i = node["id"]
            assert (node["parent"], node["action"], node["state"], node["visits"]) == (
                tree.parent[i], tree.action[i], tree.state[i], tree.visits[i])
            tried = tree.n[i].sum()
            assert node["value"] == (pytest.approx(tree.w[i].sum() / tried, abs=1e-12) if tried else None)
        edges = {(e["node"], e["action"]): (e["n"], e["mean"]) for e in f["edges"]}
        assert set(edges) == {(int(i), int(a)) for i, a in np.argwhere(tree.n[:size] > 0)}
        for (i, a), (n, m) in edges.items():
            assert n == tree.n[i, a] and m == pytest.approx(tree.w[i, a] / tree.n[i, a], abs=1e-12)
        # every simulation passes the root once: N(root) counts the simulations
        assert tree.visits[0] == k == sum(n for (i, _), (n, _) in edges.items() if i == 0) == sum(f["root_n"])
        path = f["path"]
        assert path and path[0]["node"] == 0
        for row, nxt in itertools.pairwise(path):  # a chain down the tree
            assert tree.parent[nxt["node"]] == row["node"] and tree.action[nxt["node"]] == row["action"]
        for row in path:  # the backup added one visit and this return to each edge of the path
            i, a = row["node"], row["action"]
            assert row["n"] == row["n_before"] + 1 == tree.n[i, a]
            old = row["n_before"] * row["value_before"] if row["n_before"] else 0.0
            assert row["value"] == pytest.approx((old + row["return"]) / row["n"], abs=1e-9)
            assert row["node_visits_before"] == tree.visits[i] - 1  # a path passes a node once
            tried = tree.n[i].sum() - 1
            assert row["node_value_before"] == (
                pytest.approx((tree.w[i].sum() - row["return"]) / tried, abs=1e-9) if tried else None)
        _check_returns(path, GAMMA, f["leaf"])
        root_total += path[0]["return"]
        assert tree.w[0].sum() == pytest.approx(root_total, abs=1e-9)
        assert f["expanded"] == (before if size > before else -1)
        if f["expanded"] >= 0:
            grown = f["expanded"]
            assert tree.parent[grown] == path[-1]["node"] and tree.action[grown] == path[-1]["action"]
            assert tree.visits[grown] == 1.0 and tree.n[grown].sum() == 0.0
        n0 = tree.n[0]
        assert n0[f["chosen"]] == n0.max()
    assert root_total > 0  # the goal was reached in some simulation


def test_table_frames_equal_the_table_statistics_after_each_simulation(lake):
    view = GrowingTable(lake, 0, c=2.0, gamma=GAMMA, depth=30, backup="bellman", seed=5)
    for k in range(1, 151):
        counts = view.table.n.copy()
        view.simulate()
        f = view.frame()
        t = view.table
        pairs = {(p["state"], p["action"]): (p["n"], p["value"]) for p in f["pairs"]}
        assert set(pairs) == {(int(s), int(a)) for s, a in np.argwhere(t.n > 0)}
        for (s, a), (n, v) in pairs.items():
            assert n == t.n[s, a] and v == t.mean[s, a]
        assert f["visits"] == t.visits.tolist() and f["root_n"] == t.n[0].tolist()
        assert f["simulation"] == k and t.n[0].sum() >= k  # the root is passed at least once per simulation
        path = f["path"]
        assert path[0]["node"] == 0
        for row, nxt in itertools.pairwise(path):  # each step an outcome the model allows
            s, a = row["node"], row["action"]
            assert nxt["node"] in lake.next_state[s, a][lake.prob[s, a] > 0]
        added = np.zeros_like(counts)
        for row in path:
            added[row["node"], row["action"]] += 1  # Bellman backups count every visit
        np.testing.assert_array_equal(t.n - counts, added)
        _check_returns(path, GAMMA, f["leaf"])
        if f["expanded"] >= 0:
            assert t.visits[f["expanded"]] >= 1.0
        assert f["chosen"] == leading_action(t.n[0], t.mean[0]) and t.n[0, f["chosen"]] == t.n[0].max()


def test_leading_action_breaks_ties_by_value_then_index():
    assert leading_action(np.zeros(4), np.full(4, np.inf)) == -1
    assert leading_action(np.array([3.0, 5, 5, 1]), np.array([9.0, 0.2, 0.4, 0])) == 2
    assert leading_action(np.array([5.0, 5, 0, 0]), np.array([0.3, 0.3, np.inf, np.inf])) == 0


def test_a_real_step_keeps_the_subtree_with_its_counts(lake):
    session = SearchSession(seed=11, capacity=400, depth=30, gamma=GAMMA)
    session.handle({"type": "simulate", "count": 300})
    tree = session.tree.tree
    size = int(tree.size[0])
    snap = {name: getattr(tree, name)[:size].copy() for name in ("state", "parent", "action", "n", "w", "visits")}
    table_before = session.table.frame()["pairs"]
    f = session.handle({"type": "step"})
    step = f["step"]
    old_root = step["kept_root_was"]
    assert step["action"] == leading_action(snap["n"][0], snap["w"][0] / np.maximum(snap["n"][0], 1))
    assert old_root > 0 and snap["parent"][old_root] == 0 and snap["action"][old_root] == step["action"]
    assert snap["state"][old_root] == step["next_state"] == f["tree"]["root_state"] == f["table"]["root_state"]
    kept = _subtree(snap["parent"], size, old_root)
    assert f["tree"]["reused"] == len(kept) == len(f["tree"]["nodes"]) > 1
    edges = {(e["node"], e["action"]): e["n"] for e in f["tree"]["edges"]}
    for new, old in enumerate(kept):
        node = f["tree"]["nodes"][new]
        assert node["state"] == snap["state"][old] and node["visits"] == snap["visits"][old]
        for a in range(4):
            assert edges.get((new, a), 0.0) == snap["n"][old, a]
    assert f["table"]["pairs"] == table_before  # the table keeps every row
    assert f["exact"] == finite_horizon_q(session.model, 30, GAMMA)[30, step["next_state"]].tolist()
    # new simulations grow the kept tree: the kept nodes stay the first ones
    g = session.handle({"type": "simulate", "count": 1})
    assert g["tree"]["reused"] == len(kept) and g["tree"]["nodes"][0]["visits"] == snap["visits"][old_root] + 1


def test_tree_layout_centres_parents():
    parent = np.array([-1, 0, 0, 1, 1, 2])
    depth, x = tree_layout(parent, 6)
    assert depth.tolist() == [0, 1, 1, 2, 2, 2]
    assert x.tolist() == [1.25, 0.5, 2.0, 0.0, 1.0, 2.0]


def test_bad_arguments_are_refused(lake):
    with pytest.raises(ValueError, match="evaluation must be one of"):
        GrowingTree(lake, 0, evaluation="nope")
    with pytest.raises(ValueError, match=r"state must be in \[0, 16\), got 99"):
        GrowingTable(lake, 99)
    with pytest.raises(ValueError, match=r"q must have shape \(16, 4\) \(states, actions\), got \(4, 16\)"):
        GrowingTree(lake, 0, q=np.zeros((4, 16)))


def test_session_refuses_malformed_messages_and_changes_nothing():
    session = SearchSession(seed=0, depth=30)
    refused = [
        ({"type": "step"}, "the tree has not searched this state yet: run a simulation first"),
        ([1], "a message must be a JSON object, got list"),
        ({"type": "grow"}, "unknown message type 'grow' (hello, simulate, step, reset)"),
        ({"type": "simulate", "count": 0}, "count must be an integer in [1, 1000], got 0"),
        ({"type": "simulate", "count": True}, "count must be an integer in [1, 1000], got True"),
        ({"type": "step", "by": "me"}, "by must be 'tree' or 'table', got 'me'"),
        ({"type": "reset", "seed": -1}, "seed must be an integer in [0, 2147483647], got -1"),
    ]
    session.handle({"type": "simulate", "count": 5})
    first = session.handle({"type": "hello"})
    for msg, line in refused[1:]:
        assert session.handle(msg) == {"type": "error", "message": line}
    assert session.handle({"type": "hello"}) == first
    assert first["tree"]["simulation"] == 5 and first["layout"][0] == "SFFF"
    assert SearchSession(seed=0, depth=30).handle(refused[0][0]) == {"type": "error", "message": refused[0][1]}
    # an episode that has ended takes no more simulations or steps until a reset
    for _ in range(300):
        session.handle({"type": "simulate", "count": 20})
        if session.handle({"type": "step", "by": "table"})["done"]:
            break
    assert session.done
    assert session.handle({"type": "step"})["type"] == "error"
    assert session.handle({"type": "simulate"})["type"] == "error"
    assert session.handle({"type": "reset", "seed": 4})["tree"]["simulation"] == 0
