"""Object API: hyperparameter and space validation with one clear line."""

import gymnasium as gym
import numpy as np
import pytest

from dynaplan import AGENTS, DynaQ, QLearning, QPlanning


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"alpha": 0.0}, r"alpha must be in \(0, 1\]"),
        ({"alpha": 1.5}, r"alpha must be in \(0, 1\]"),
        ({"epsilon": -0.1}, r"epsilon must be in \[0, 1\]"),
        ({"gamma": 1.01}, r"gamma must be in \[0, 1\]"),
        ({"gamma": "high"}, r"gamma must be a number in \[0, 1\]"),
        ({"planning_steps": -1}, "planning_steps must be a non-negative integer"),
        ({"planning_steps": 2.5}, "planning_steps must be a non-negative integer"),
        ({"planning_steps": True}, "planning_steps must be a non-negative integer"),
        ({"kappa": 1.0}, "unknown parameter"),
    ],
)
def test_bad_hyperparameters(dyna_maze, params, message):
    with pytest.raises(ValueError, match=message):
        DynaQ(dyna_maze, **params)


def test_non_discrete_spaces_are_refused():
    with pytest.raises(ValueError, match="Discrete observation space"):
        QLearning(gym.make("CartPole-v1"))


def test_q_planning_model_choice(dyna_maze):
    with pytest.raises(ValueError, match="model must be 'learned' or 'exact'"):
        QPlanning(dyna_maze, model="perfect")


def test_q_table_shape_and_init(dyna_maze):
    agent = DynaQ(dyna_maze, q_init=0.5, seed=0)
    assert agent.q.shape == (54, 4) and np.all(agent.q == 0.5)
    assert agent.greedy_policy().shape == (54,)


def test_any_discrete_gymnasium_env_learns():
    """FrozenLake 8x8 (not slippery), through Gymnasium: Dyna-Q's greedy policy becomes optimal.

    Checked exactly: the greedy policy's value from the start (policy evaluation on the true
    model) equals the optimal value 0.99 ** 13 of value iteration (14 steps to the goal).
    """
    from dynaplan import model_of, policy_evaluation, value_iteration

    env = gym.make("FrozenLake-v1", map_name="8x8", is_slippery=False)
    model = model_of(env)
    v_star = value_iteration(model, 0.99, tol=1e-12).v[0]
    assert v_star == pytest.approx(0.99**13)
    agent = DynaQ(env, planning_steps=50, gamma=0.99, seed=0)
    agent.run_episode(env, seed=0)
    for _ in range(150):
        agent.run_episode(env)
    assert policy_evaluation(model, agent.greedy_policy(), 0.99)[0] == pytest.approx(v_star)


def test_registry_names():
    assert {"q-learning", "dyna-q", "q-planning"} <= set(AGENTS)
