"""Shared fixtures and ground-truth helpers for the test suite."""

from __future__ import annotations

import numpy as np
import pytest

import dynaplan  # noqa: F401  (registers envs)
from dynaplan.envs.tabular import TabularModel


def random_walk_length(model: TabularModel, start: int, goals: set[int], blocked: np.ndarray) -> float:
    """Exact expected steps of a uniform random walk from ``start`` to a goal (absorbing chain)."""
    n_states, n_actions = model.n_states, model.n_actions
    P = np.zeros((n_states, n_states))
    for s in range(n_states):
        for a in range(n_actions):
            for k in range(model.prob.shape[2]):
                P[s, model.next_state[s, a, k]] += model.prob[s, a, k] / n_actions
    transient = [s for s in range(n_states) if s not in goals and not blocked[s]]
    index = {s: i for i, s in enumerate(transient)}
    Q = P[np.ix_(transient, transient)]
    t = np.linalg.solve(np.eye(len(transient)) - Q, np.ones(len(transient)))
    return float(t[index[start]])


@pytest.fixture
def dyna_maze():
    import gymnasium as gym

    return gym.make("dynaplan/DynaMaze-v0")


def object_api_run(env, cls, params, seed, episodes):
    """The object API the way a user drives it: (agent, steps per episode, returns per episode)."""
    agent = cls(env, seed=seed, **params)
    steps, returns = [], []
    obs, _ = env.reset(seed=seed)
    for _ in range(episodes):
        n, total = 0, 0.0
        while True:
            action = agent.act(obs)
            next_obs, reward, terminated, truncated, _ = env.step(action)
            agent.observe(obs, action, reward, next_obs, terminated, truncated)
            n, total, obs = n + 1, total + reward, next_obs
            if terminated or truncated:
                break
        steps.append(n)
        returns.append(total)
        obs, _ = env.reset()
    return agent, np.array(steps), np.array(returns)
