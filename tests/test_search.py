"""Decision-time search against ground truth: backward induction, hand-worked trees, value iteration.

Budgets and tolerances are stated in each test; every statistical check runs fixed seeds.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import dynaplan
from conftest import object_api_run
from dynaplan import MCTS, DynaMCTS, Lookahead, RolloutPlanner, problem_of, run_agent
from dynaplan.envs.tabular import TabularModel
from dynaplan.models.distribution import distribution_model_update, new_distribution_model
from dynaplan.search import (
    finite_horizon_q,
    lookahead_search,
    mcts_search,
    new_state_table,
    optimal_actions,
    rollout_search,
)


def random_mdp(gen: np.random.Generator, n_states: int, n_actions: int, n_out: int) -> TabularModel:
    """A random MDP: n_out outcomes per pair (Dirichlet probabilities), rewards in [0, 1], 10% terminal."""
    prob = gen.dirichlet(np.ones(n_out), size=(n_states, n_actions))
    next_state = gen.integers(0, n_states, size=(n_states, n_actions, n_out))
    reward = gen.random((n_states, n_actions, n_out))
    terminated = gen.random((n_states, n_actions, n_out)) < 0.1
    start = np.full(n_states, 1.0 / n_states)
    return TabularModel(next_state.astype(np.int64), prob, reward, terminated, start)


def hand_model() -> TabularModel:
    """Three states, two actions, gamma = 1 (values worked out in ``test_rollout_and_lookahead_by_hand``).

    state 0: a0 -> state 1, r 0.   a1 -> state 2, r 0 (p 0.5) | end, r 1 (p 0.5)
    state 1: a0 -> end, r 0.       a1 -> end, r 2
    state 2: a0 -> end, r 1.2      a1 -> end, r 1.2
    """
    next_state = np.array([[[1, 1], [2, 0]], [[1, 1], [1, 1]], [[2, 2], [2, 2]]], dtype=np.int64)
    prob = np.array([[[1.0, 0.0], [0.5, 0.5]], [[1.0, 0.0], [1.0, 0.0]], [[1.0, 0.0], [1.0, 0.0]]])
    reward = np.array([[[0.0, 0.0], [0.0, 1.0]], [[0.0, 0.0], [2.0, 0.0]], [[1.2, 0.0], [1.2, 0.0]]])
    terminated = np.array([[[False, False], [False, True]], [[True, True], [True, True]], [[True, True], [True, True]]])
    return TabularModel(next_state, prob, reward, terminated, np.array([1.0, 0.0, 0.0]))


def test_rollout_and_lookahead_by_hand():
    model = hand_model()
    # Uniform random rollouts: q_rand(0, a0) = (0 + 2) / 2 = 1.0, q_rand(0, a1) = 0.5 * 1.2 + 0.5 * 1 = 1.1.
    # Optimal two-step values: q*(0, a0) = 2.0, q*(0, a1) = 1.1. Rollouts prefer a1, lookahead a0.
    uniform = np.full((3, 2), 0.5)
    assert np.allclose(finite_horizon_q(model, 2, 1.0, policy=uniform)[2, 0], [1.0, 1.1])
    assert np.allclose(finite_horizon_q(model, 2, 1.0)[2, 0], [2.0, 1.1])

    res = rollout_search(model, 0, simulations=20_000, gamma=1.0, depth=2, seed=3)
    # Standard errors: a0 returns are 0 or 2 (sd 1), a1 returns 1.2 or 1 (sd 0.1), 10,000 each.
    assert res.visits.tolist() == [10_000, 10_000]
    assert abs(res.values[0] - 1.0) < 4 * 1.0 / 100
    assert abs(res.values[1] - 1.1) < 4 * 0.1 / 100
    assert res.action == 1
    # a0 always takes 2 model steps; a1 takes 2 or 1 (p 0.5 each): 35,000 expected, sd 50.
    assert abs(res.model_steps - 35_000) < 200

    look = lookahead_search(model, 0, depth=2, gamma=1.0, seed=0)
    assert np.allclose(look.values, [2.0, 1.1]) and look.action == 0
    # Depth 1 with zero leaf values sees no reward behind a0; with q* at the leaves it is exact.
    assert np.allclose(lookahead_search(model, 0, depth=1, gamma=1.0).values, [0.0, 0.5])
    q_star = finite_horizon_q(model, 1, 1.0)[1]
    assert np.allclose(lookahead_search(model, 0, depth=1, gamma=1.0, q=q_star).values, [2.0, 1.1])
    # Greedy rollouts on q* follow the optimal policy: their values are q*.
    greedy = rollout_search(model, 0, simulations=2_000, gamma=1.0, depth=2, policy="greedy", q=q_star, seed=1)
    assert abs(greedy.values[0] - 2.0) < 1e-12 and greedy.action == 0


def test_lookahead_matches_backward_induction_on_random_mdps():
    gen = np.random.default_rng(11)
    for _ in range(5):
        model = random_mdp(gen, 6, 3, 3)
        leaf = gen.random((6, 3))
        exact = finite_horizon_q(model, 3, 0.9, leaf_values=leaf.max(axis=1))
        for s in range(6):
            res = lookahead_search(model, s, depth=3, gamma=0.9, q=leaf)
            assert np.allclose(res.values, exact[3, s], atol=1e-12)
            assert res.model_steps == 3 * 3 * (1 + 9 * (1 + 9)) - _terminal_savings(model, s)


def _terminal_savings(model: TabularModel, s: int) -> int:
    """Outcomes a depth-3 tree does not expand below terminal outcomes (all 3 outcomes have p > 0)."""
    saved = 0
    for a in range(3):
        for k in range(3):
            s2 = model.next_state[s, a, k]
            if model.terminated[s, a, k]:
                saved += 9 * (1 + 9)  # the two levels below
                continue
            for a2 in range(3):
                for k2 in range(3):
                    if model.terminated[s2, a2, k2]:
                        saved += 9
    return saved


def test_mcts_root_action_converges_to_backward_induction_on_random_mdps():
    """Horizon-keyed UCT, H = 3, gamma 0.9, c = 1, on 8 random MDPs (8 states, 3 actions, 2 outcomes):
    the most visited root action is optimal (backward induction) with a frequency that rises with the
    budget, to >= 0.9 at 10,000 simulations, and the root estimate of the optimal action approaches
    q*_3 (median error shrinking, < 0.03 at 10,000). Roots whose two best actions are within 0.05
    are skipped."""
    gen = np.random.default_rng(5)
    budgets = (10, 100, 1_000, 10_000)
    hits = np.zeros(len(budgets))
    errors = np.zeros((len(budgets), 0)).tolist()
    roots = 0
    for i in range(8):
        model = random_mdp(gen, 8, 3, 2)
        exact = finite_horizon_q(model, 3, 0.9)[3]
        for s in range(8):
            q_sorted = np.sort(exact[s])
            if q_sorted[-1] - q_sorted[-2] < 0.05:
                continue
            roots += 1
            best = int(np.argmax(exact[s]))
            for j, sims in enumerate(budgets):
                res = mcts_search(
                    model, s, simulations=sims, c=1.0, gamma=0.9, depth=3, key="horizon", seed=100 * i + s
                )
                hits[j] += res.action == best
                errors[j].append(abs(res.values[best] - exact[s, best]))
    freq = hits / roots
    median_error = np.median(np.array(errors), axis=1)
    assert roots >= 30
    assert np.all(np.diff(freq) >= 0) and freq[-1] - freq[0] >= 0.1 and freq[-1] >= 0.9, freq
    assert np.all(np.diff(median_error[1:]) < 0) and median_error[-1] < 0.03, median_error


def test_mcts_on_the_dyna_maze_picks_shortest_path_moves():
    """True Dyna maze model, horizon-keyed UCT with H = 8 and c = 1: at each free cell 2 to 7 steps
    from the goal where some move is worse (15 cells, 3 seeds each), the chosen move is one that
    backward induction (H = 8) calls optimal, more often with more simulations; >= 0.9 of the
    searches at 20,000 simulations."""
    env = gym.make("dynaplan/DynaMaze-v0")
    model = dynaplan.model_of(env)
    exact = finite_horizon_q(model, 8, 0.95)[8]
    layout = env.unwrapped.layout
    cells = [s for s in range(model.n_states) if not layout.walls.flat[s] and 0 < exact[s].max() < 1.0]
    cells = [s for s in cells if exact[s].max() > exact[s].min() + 1e-9 and exact[s].max() >= 0.95**6]
    budgets = (20, 200, 20_000)
    freq = []
    for sims in budgets:
        ok = 0
        for s in cells:
            for seed in range(3):
                res = mcts_search(model, s, simulations=sims, gamma=0.95, depth=8, key="horizon", seed=1000 * seed + s)
                ok += res.action in optimal_actions(exact[s], 1e-9)
        freq.append(ok / len(cells) / 3)
    assert len(cells) >= 15
    assert freq[0] < freq[1] < freq[2] and freq[2] >= 0.9, freq


def test_mcts_with_a_time_budget_and_a_kept_tree():
    model = dynaplan.model_of(gym.make("FrozenLake-v1"))
    tree = new_state_table(model.n_states, model.n_actions, 20)
    first = mcts_search(model, 0, seconds=0.05, gamma=0.99, depth=20, key="state", tree=tree, seed=0)
    assert first.simulations >= 64 and first.seconds >= 0.05
    # A kept tree carries the statistics on: the root's visits only grow.
    second = mcts_search(model, 0, simulations=100, gamma=0.99, depth=20, key="state", tree=tree, seed=1)
    assert np.all(second.visits >= first.visits) and second.visits.sum() >= first.visits.sum() + 100


def test_persistence_needs_fewer_simulations_for_the_same_paths():
    """Dyna maze (shortest path 14), true model, episodes 2-10 over 3 seeds: state-keyed MCTS keeping its
    per-state statistics with 25 simulations per decision walks shorter paths than MCTS starting each search
    empty with 100 (over 10 times shorter), and is within 25% of the shortest path."""
    problem = problem_of("dynaplan/DynaMaze-v0")

    def mean_steps(params):
        runs = [run_agent(MCTS, params, problem, seed, episodes=10) for seed in range(3)]
        return np.mean([r.episode_steps[1:].mean() for r in runs])

    kept = mean_steps({"simulations": 25, "persist": True, "key": "state"})
    fresh = mean_steps({"simulations": 100, "persist": False, "key": "state"})
    assert kept <= 14 * 1.25 and 10 * kept < fresh, (kept, fresh)


def test_write_back_puts_root_values_in_q():
    model = hand_model()
    agent = MCTS(model, simulations=500, gamma=1.0, depth=2, key="horizon", write_back=True, persist=False, seed=0)
    a = agent.act(0)
    stats = agent.last_search
    assert a == 0 and np.allclose(agent.q[0], stats["values"]) and stats["visits"].sum() == 500
    assert abs(agent.q[0, 0] - 2.0) < 0.2 and abs(agent.q[0, 1] - 1.1) < 0.2
    assert agent.stats["simulations"] == 500 and agent.stats["decisions"] == 1
    timed = agent.search(0, seconds=0.02)
    assert timed.simulations >= 64 and timed.seconds >= 0.02 and timed.action == 0


def test_dyna_with_search_learns_the_maze():
    """MCTS (300 simulations) over a learned sample model, Dyna-Q updates (n = 5), untried pairs worth
    the optimistic q_init = 1: the first episode is far shorter than a random walk's (869 steps on
    average, ``test_ground_truth``), and the last 5 of 15 episodes are within 20% of the shortest
    path (14), over 2 seeds."""
    problem = problem_of("dynaplan/DynaMaze-v0")
    runs = [run_agent(DynaMCTS, {"simulations": 300}, problem, seed, episodes=15) for seed in (0, 1)]
    assert all(r.episode_steps[0] < 500 for r in runs)
    assert np.mean([r.episode_steps[-5:].mean() for r in runs]) <= 14 * 1.2


def test_searches_over_a_learned_distribution_model_equal_the_true_one_when_it_is_complete():
    """A distribution model that has seen every pair of a deterministic maze is the true model:
    lookahead over it gives the exact values, and an unknown pair is worth q[s, a]."""
    env = gym.make("dynaplan/DynaMaze-v0")
    model = dynaplan.model_of(env)
    learned = new_distribution_model(model.n_states, model.n_actions, 2)
    for s in range(model.n_states):
        for a in range(model.n_actions):
            if (s, a) != (0, 0):
                ns, r, t = model.next_state[s, a, 0], model.reward[s, a, 0], model.terminated[s, a, 0]
                distribution_model_update(learned, s, a, r, ns, t)
    q = np.full((model.n_states, model.n_actions), 0.25)
    exact = finite_horizon_q(model, 3, 0.95, leaf_values=q.max(axis=1))[3]
    for s in (7, 8, 16, 17, 26):
        assert np.allclose(lookahead_search(learned, s, depth=3, q=q).values, exact[s])
    assert lookahead_search(learned, 0, depth=3, q=q).values[0] == 0.25


@pytest.mark.parametrize(
    ("env_id", "cls", "params"),
    [
        ("dynaplan/DynaMaze-v0", MCTS, {"simulations": 30}),
        ("dynaplan/DynaMaze-v0", DynaMCTS, {"simulations": 20, "epsilon": 0.1}),
        ("dynaplan/SlipperyDynaMaze-v0", DynaMCTS, {"simulations": 20, "model": "distribution"}),
        ("FrozenLake-v1", MCTS, {"simulations": 30, "gamma": 0.99, "key": "horizon", "depth": 20}),
        ("FrozenLake-v1", RolloutPlanner, {"simulations": 20, "depth": 20, "write_back": True}),
        ("FrozenLake-v1", Lookahead, {"depth": 2, "learn": True, "gamma": 0.99}),
    ],
)
def test_object_api_equals_compiled_runner(env_id, cls, params):
    env = gym.make(env_id)
    agent, steps, _ = object_api_run(env, cls, params, 7, 4)
    res = run_agent(cls, params, problem_of(env_id), 7, episodes=4)
    assert np.array_equal(res.episode_steps, steps)
    assert np.array_equal(res.agent.q, agent.q)
    assert np.array_equal(res.agent.counters, agent.state.counters)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"simulations": 0}, "simulations"),
        ({"c": -1.0}, "c must"),
        ({"model": "learnt"}, "model must"),
        ({"evaluation": "magic"}, "evaluation must"),
        ({"depth": 0}, "depth"),
        ({"persist": "yes"}, "persist"),
        ({"temperature": 1.0}, "unknown parameter"),
    ],
)
def test_bad_parameters_are_one_clear_error(params, message):
    with pytest.raises(ValueError, match=message):
        MCTS(gym.make("dynaplan/DynaMaze-v0"), **params)


def test_search_functions_reject_bad_input():
    model = hand_model()
    with pytest.raises(ValueError, match="state must be"):
        mcts_search(model, 3)
    with pytest.raises(ValueError, match="policy must"):
        rollout_search(model, 0, policy="smart")
    with pytest.raises(ValueError, match="a search needs a model"):
        lookahead_search({"P": 1}, 0)
    assert "mcts" in dynaplan.AGENTS and "dyna-mcts" in dynaplan.AGENTS


@pytest.mark.parametrize("agent", ["mcts", "dyna-2"])
def test_decision_time_counts_are_read_by_name(agent):
    """The kind's ``decisions`` and ``model_steps`` are the counters they are named for, in the
    book's tree (``int64[5]``) and in Dyna-2 (its own ``int64[4]``): one decision per real step,
    and a budget of 30 model steps per decision spent in full, overrun by at most the one
    simulation in progress (at most ``depth`` = 10 steps)."""
    from dynaplan.experiments.reproductions.decision_time import run_kind

    cell = {"env": "dynaplan/DynaMaze-v0", "agent": agent, "method": "m", "episodes": 2, "model_steps": 30,
            "depth": 10}
    table = run_kind(cell, [5])
    assert (table.decisions == table.steps).all()
    assert (table.model_steps >= 30 * table.decisions).all()
    assert (table.model_steps <= (30 + 10) * table.decisions).all()


def test_decision_time_kind_records_each_episode_of_the_run():
    """The reproduction's kind runs episode by episode; its rows add up to the single compiled run of
    ``run_agent`` with the same seed (same episodes, and all model steps and decisions counted)."""
    from dynaplan.experiments.reproductions.decision_time import check_cell, run_kind, search_counts

    cell = {"env": "dynaplan/DynaMaze-v0", "agent": "mcts", "method": "m", "episodes": 4, "simulations": 20}
    table = run_kind(cell, [3])
    res = run_agent(MCTS, {"simulations": 20}, problem_of("dynaplan/DynaMaze-v0"), 3, episodes=4)
    assert table.steps.tolist() == res.episode_steps.tolist()
    counts = search_counts(res.agent)
    assert counts is not None
    assert table.model_steps.sum() == counts.model_steps and table.decisions.sum() == counts.decisions
    with pytest.raises(ValueError, match="simulations"):
        check_cell({**cell, "simulations": -1})
    with pytest.raises(ValueError, match="agent: unknown agent"):
        check_cell({**cell, "agent": "alphazero"})
