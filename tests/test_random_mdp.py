"""RandomMDP-v0: the random episodic tasks of section 8.6 (Figure 8.8)."""

import gymnasium as gym
import numpy as np
import pytest

from dynaplan.envs.random_mdp import random_mdp_model
from dynaplan.envs.tabular import model_of


@pytest.mark.parametrize("b", [1, 3, 10])
def test_task_structure(b):
    m = random_mdp_model(1000, b, task_seed=4)
    assert m.next_state.shape == (1000, 2, b + 1)
    np.testing.assert_allclose(m.prob.sum(axis=2), 1.0)
    # b equally likely successors, then termination with probability 0.1 and reward 0
    np.testing.assert_allclose(m.prob[:, :, :b], 0.9 / b)
    np.testing.assert_allclose(m.prob[:, :, b], 0.1)
    assert m.terminated[:, :, b].all() and not m.terminated[:, :, :b].any()
    assert (m.reward[:, :, b] == 0).all()
    assert m.start[0] == 1.0 and m.start.sum() == 1.0
    # successors spread over all states (uniform draws): every decile is hit
    counts = np.bincount(m.next_state[:, :, :b].ravel() // 100, minlength=10)
    assert counts.min() > 0


def test_rewards_are_standard_normal():
    m = random_mdp_model(10_000, 3, task_seed=1)
    r = m.reward[:, :, :3].ravel()  # 60,000 draws: SE of the mean 0.0041, of the variance 0.0058
    assert abs(r.mean()) < 0.02
    assert abs(r.var() - 1.0) < 0.03


def test_task_is_a_function_of_task_seed():
    a, b, c = (random_mdp_model(500, 3, task_seed=s) for s in (7, 7, 8))
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not np.array_equal(a.next_state, c.next_state)


def test_env_exposes_its_model_and_episodes_last_ten_steps():
    env = gym.make("dynaplan/RandomMDP-v0", n_states=100, branching=3, task_seed=2)
    model = model_of(env)
    assert np.array_equal(model.next_state, random_mdp_model(100, 3, task_seed=2).next_state)
    lengths = []
    env.reset(seed=0)
    for _ in range(2000):
        n, done = 0, False
        while not done:
            _, _, done, _, _ = env.step(int(env.action_space.sample()))
            n += 1
        lengths.append(n)
        env.reset()
    # geometric with p = 0.1: mean 10, sd 9.5 -> SE 0.21 over 2000 episodes
    assert abs(np.mean(lengths) - 10.0) < 1.0


@pytest.mark.parametrize(
    "kwargs, word",
    [({"n_states": 0}, "n_states"), ({"branching": 0}, "branching"), ({"termination": 0.0}, "termination"),
     ({"n_actions": 0}, "n_actions")],
)
def test_bad_parameters_name_the_parameter(kwargs, word):
    with pytest.raises(ValueError, match=word):
        random_mdp_model(**{"n_states": 10, **kwargs})
