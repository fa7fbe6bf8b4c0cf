"""Two ways in, one kernel: the object API and the compiled runner give identical runs.

Every registered agent (``AGENTS``, every family) is checked by ``dynaplan.testing.check_agent`` on
its declared example (``example_params`` on ``example_env``, see ``core.agent.Agent``), so an
agent is covered the moment it registers; the cases below add Gymnasium's own stochastic and
time-limited envs.
"""

import gymnasium as gym
import numpy as np
import pytest

import dynaplan
from conftest import object_api_run
from dynaplan import AGENTS, MCTS, Dyna2, DynaQ, QLearning, QPlanning, problem_of, run_agent
from dynaplan.testing import check_agent

CASES = [
    ("dynaplan/DynaMaze-v0", {}, QLearning, {}),
    ("dynaplan/DynaMaze-v0", {}, DynaQ, {"planning_steps": 5}),
    ("dynaplan/DynaMaze-v0", {}, DynaQ, {"planning_steps": 50, "alpha": 0.5, "epsilon": 0.2}),
    ("dynaplan/DynaMaze-v0", {}, QPlanning, {"planning_steps": 10}),
    ("dynaplan/DynaMaze-v0", {}, QPlanning, {"planning_steps": 10, "model": "exact"}),
    # Gymnasium's own envs, stochastic and time-limited: the compiled runner replays their RNG.
    ("FrozenLake-v1", {"is_slippery": True}, DynaQ, {"planning_steps": 10, "gamma": 0.99}),
    ("CliffWalking-v1", {}, QLearning, {"gamma": 1.0}),
    ("Taxi-v4", {}, DynaQ, {"planning_steps": 3, "gamma": 0.99}),
    ("FrozenLake-v1", {"is_slippery": True}, Dyna2, {"simulations": 5, "gamma": 0.99}),
    ("FrozenLake-v1", {"is_slippery": True}, MCTS, {"simulations": 20, "gamma": 0.99, "depth": 30}),
]


@pytest.mark.parametrize("name", sorted(AGENTS))
def test_every_registered_agent_meets_the_contract(name):
    """``dynaplan.testing.check_agent`` on every registered agent, of every family: same seed, same
    episodes and returns, the same final state (every array), determinism, bad input refused."""
    check_agent(AGENTS[name])


@pytest.mark.parametrize(("env_id", "env_kwargs", "cls", "params"), CASES)
def test_object_api_equals_compiled_runner(env_id, env_kwargs, cls, params):
    episodes = 12
    for seed in (0, 17):
        env = gym.make(env_id, **env_kwargs)
        agent, steps, returns = object_api_run(env, cls, params, seed, episodes)
        res = run_agent(cls, params, problem_of(env_id, **env_kwargs), seed, episodes=episodes)
        assert np.array_equal(res.episode_steps, steps)
        assert np.array_equal(res.episode_returns, returns)
        assert np.array_equal(res.agent.q, agent.q)


def test_q_learning_is_dyna_q_with_zero_planning_steps():
    problem = problem_of("dynaplan/DynaMaze-v0")
    a = run_agent(QLearning, {}, problem, 5, episodes=20)
    b = run_agent(DynaQ, {"planning_steps": 0}, problem, 5, episodes=20)
    assert np.array_equal(a.episode_steps, b.episode_steps)
    assert np.array_equal(a.agent.q, b.agent.q)


def test_run_batch_matches_single_runs_and_seeds_matter():
    problem = problem_of("dynaplan/DynaMaze-v0")
    seeds = dynaplan.run_seeds(0, 4)
    batch = dynaplan.run_batch(DynaQ, {"planning_steps": 5}, problem, seeds, episodes=5)
    for seed, res in zip(seeds, batch):
        assert np.array_equal(
            res.episode_steps, run_agent(DynaQ, {"planning_steps": 5}, problem, int(seed), episodes=5).episode_steps
        )
    assert len({tuple(r.episode_steps) for r in batch}) > 1


def test_step_budget_and_step_rewards():
    problem = problem_of("dynaplan/DynaMaze-v0")
    res = run_agent(DynaQ, {"planning_steps": 5}, problem, 1, steps=3000, record_step_rewards=True)
    assert res.total_steps == 3000
    assert res.step_rewards.sum() == len(res.episode_steps) == res.episode_returns.sum()
    assert res.episode_steps.sum() <= 3000
