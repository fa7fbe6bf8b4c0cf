"""Dyna-2 (Silver, Sutton & Mueller 2008) against ground truth: policy evaluation, the shortest path,
and the reset rules of its transient memory."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import dynaplan
from conftest import object_api_run
from dynaplan import Dyna2, problem_of, run_agent
from dynaplan.envs.tabular import TabularModel
from dynaplan.planning.value_iteration import policy_evaluation, q_from_v
from dynaplan.search.dyna2 import dyna2_search


def random_mdp(gen: np.random.Generator, n_states: int, n_actions: int, n_out: int) -> TabularModel:
    prob = gen.dirichlet(np.ones(n_out), size=(n_states, n_actions))
    next_state = gen.integers(0, n_states, size=(n_states, n_actions, n_out))
    reward = gen.random((n_states, n_actions, n_out))
    terminated = gen.random((n_states, n_actions, n_out)) < 0.2
    return TabularModel(next_state.astype(np.int64), prob, reward, terminated, np.full(n_states, 1.0 / n_states))


def test_transient_memory_learns_the_search_policy_values():
    """With the permanent memory at 0 (alpha = 0) and uniformly random simulated actions
    (search_epsilon = 1), TD search from a state is Sarsa(0) on the uniform random policy, whose
    fixed point is q_pi (exact policy evaluation). 100,000 simulated episodes per search
    (alpha_t = 0.002, at most 200 steps, gamma 0.9, 20% terminal outcomes) leave noise of about
    0.04 in each run (a constant step size); the mean of the root values over 8 independent runs
    is within 0.04 of q_pi, on 3 random MDPs (values 0.8 to 2.5)."""
    gen = np.random.default_rng(2)
    for i in range(3):
        model = random_mdp(gen, 6, 3, 2)
        q_pi = q_from_v(model, policy_evaluation(model, np.full((6, 3), 1.0 / 3), 0.9), 0.9)
        roots = []
        for seed in range(8):
            agent = Dyna2(
                model, simulations=100_000, depth=200, alpha=0.0, alpha_transient=0.002, gamma=0.9,
                search_epsilon=1.0, reset="decision", seed=100 * i + seed,
            )
            dyna2_search(agent.state, 0, agent.rng)
            assert np.all(agent.q == 0.0)
            roots.append(agent.transient[0].copy())
        assert np.max(np.abs(np.mean(roots, axis=0) - q_pi[0])) < 0.04, (np.mean(roots, axis=0), q_pi[0])


def test_dyna2_walks_the_shortest_path_of_the_dyna_maze():
    """Exact model, 20 simulated episodes per decision: episodes 6-15 average within 15% of the
    shortest path (14 steps), over 3 independent runs, and the permanent memory has learned from
    the real steps (the goal's reward reached it)."""
    problem = problem_of("dynaplan/DynaMaze-v0")
    runs = [run_agent(Dyna2, {"simulations": 20, "alpha": 0.5}, problem, seed, episodes=15) for seed in range(3)]
    assert np.mean([r.episode_steps[5:].mean() for r in runs]) <= 14 * 1.15
    assert all(r.agent.q.max() > 0 for r in runs)


@pytest.mark.parametrize("reset", ["decision", "episode", "never"])
def test_transient_memory_resets_as_asked(reset):
    """T after a decision equals what one search makes from T = 0 (same permanent memory, same
    random state) exactly when T was to be cleared: every decision (``"decision"``), the first
    decision of an episode (``"episode"``, the paper), never (``"never"``)."""
    model = random_mdp(np.random.default_rng(0), 6, 3, 2)  # dense rewards: every search moves T
    start = 0

    def decide(agent, s):
        """Act in s; return whether T equals a search from zero by a twin with the same state."""
        twin = Dyna2(model, simulations=5, reset="decision", seed=0)
        twin.q[:] = agent.q
        twin.rng[:] = agent.rng
        agent.act(s)
        twin.act(s)
        return np.array_equal(agent.transient, twin.transient) and np.any(agent.transient != 0)

    agent = Dyna2(model, simulations=5, reset=reset, seed=1)
    first = decide(agent, start)
    agent.observe(start, 0, 0.5, 5, False)
    second = decide(agent, 5)
    agent.observe(5, 0, 1.0, 2, True)  # the episode ends: the next decision starts a new one
    third = decide(agent, start)
    expected = {"decision": (True, True, True), "episode": (True, False, True), "never": (True, False, False)}
    assert (first, second, third) == expected[reset]


@pytest.mark.parametrize(
    ("env_id", "params"),
    [
        ("dynaplan/DynaMaze-v0", {"simulations": 5}),
        ("dynaplan/SlipperyDynaMaze-v0", {"simulations": 5, "model": "distribution", "q_init": 1.0, "epsilon": 0.1}),
        ("FrozenLake-v1", {"model_steps": 200, "gamma": 0.99, "reset": "never", "model": "sample"}),
    ],
)
def test_object_api_equals_compiled_runner(env_id, params):
    env = gym.make(env_id)
    agent, steps, _ = object_api_run(env, Dyna2, params, 5, 4)
    res = run_agent(Dyna2, params, problem_of(env_id), 5, episodes=4)
    assert np.array_equal(res.episode_steps, steps)
    assert np.array_equal(res.agent.q, agent.q) and np.array_equal(res.agent.transient, agent.transient)
    assert np.array_equal(res.agent.counters, agent.state.counters)


def test_model_step_budget_and_bad_parameters():
    problem = problem_of("dynaplan/SlipperyDynaMaze-v0")
    c = run_agent(Dyna2, {"model_steps": 300}, problem, 0, episodes=2).agent.counters
    assert 300 <= c[2] / c[0] <= 350  # an episode of at most depth = 50 steps may overrun the budget
    env = gym.make("dynaplan/DynaMaze-v0")
    for params, message in (
        ({"reset": "sometimes"}, "reset must"),
        ({"alpha_transient": 2.0}, "alpha_transient"),
        ({"depth": 0}, "depth"),
        ({"lambda": 0.5}, "unknown parameter"),
    ):
        with pytest.raises(ValueError, match=message):
            Dyna2(env, **params)
    assert dynaplan.AGENTS["dyna-2"] is Dyna2
