"""Run a JAX agent on Gymnasium envs: one run (the object API) or many seeds in lockstep (vmapped).

Both loops make the same calls in the same order: env ``i`` is reset with ``seed=seeds[i]`` for
its first episode (and without a seed after, continuing its own random stream), the agent acts,
the env steps, the agent observes; when an episode ends the env is reset. The batched loop steps
every seed's env once per iteration and hands the agent the stacked arrays, so a batched run
equals the single runs seed for seed (``tests/test_deep_dyna.py``) up to the float32 rounding
of vmapped matrix products.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

import gymnasium as gym
import numpy as np
import pandas as pd

from dynaplan.neural.jax_agent import JaxAgent

__all__ = ["run_one", "run_seeds"]

COLUMNS = ["seed", "episode", "env_steps", "return", "updates", "model_steps"]


def _env_action(agent: JaxAgent, a: Any) -> Any:
    return int(a) if agent.discrete else np.asarray(a, np.float32)


def run_one(agent_cls: type[JaxAgent], env_id: str, seed: int, steps: int, params: Mapping[str, Any] | None = None,
            env_kwargs: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """The object API: ``agent_cls(seed=seed)`` on ``gym.make(env_id)`` for ``steps`` real steps;
    one row per finished episode (columns ``seed, episode, env_steps, return, updates,
    model_steps``; ``env_steps`` counts real steps up to the episode's end)."""
    env = gym.make(env_id, **dict(env_kwargs or {}))
    agent = agent_cls(env.observation_space, env.action_space, seed=seed, **dict(params or {}))
    rows = []
    obs, _ = env.reset(seed=seed)
    total, episode = 0.0, 0
    for t in range(1, steps + 1):
        action = agent.act(obs)
        next_obs, reward, terminated, truncated, _ = env.step(_env_action(agent, action))
        agent.observe(obs, action, float(reward), next_obs, terminated, truncated)
        total += float(reward)
        obs = next_obs
        if terminated or truncated:
            episode += 1
            rows.append((seed, episode, t, total, agent.updates, agent.model_steps))
            obs, _ = env.reset()
            total = 0.0
    env.close()
    return pd.DataFrame(rows, columns=COLUMNS)


def run_seeds(agent_cls: type[JaxAgent], env_id: str, seeds: Sequence[int], steps: int,
              params: Mapping[str, Any] | None = None, env_kwargs: Mapping[str, Any] | None = None,
              progress: Any = None) -> tuple[pd.DataFrame, float]:
    """The batched runner: one agent carrying every seed (``seeds=...``), one env per seed, in
    lockstep for ``steps`` real steps. Returns the rows (as :func:`run_one`'s, all seeds) and the
    wall seconds the loop took (all seeds together)."""
    envs = [gym.make(env_id, **dict(env_kwargs or {})) for _ in seeds]
    agent = agent_cls(envs[0].observation_space, envs[0].action_space, seeds=seeds, **dict(params or {}))
    obs = np.stack([env.reset(seed=int(s))[0] for env, s in zip(envs, seeds)]).astype(np.float32)
    totals = np.zeros(len(seeds))
    episodes = np.zeros(len(seeds), np.int64)
    rows = []
    start = time.perf_counter()
    for t in range(1, steps + 1):
        actions = agent.act(obs)
        next_obs = np.empty_like(obs)
        rewards = np.empty(len(seeds), np.float32)
        term = np.zeros(len(seeds), bool)
        trunc = np.zeros(len(seeds), bool)
        for i, env in enumerate(envs):
            o, r, term[i], trunc[i], _ = env.step(_env_action(agent, actions[i]))
            next_obs[i], rewards[i] = o, r
        agent.observe(obs, actions, rewards, next_obs, term, trunc)
        totals += rewards
        obs = next_obs.copy()
        for j in map(int, np.flatnonzero(term | trunc)):
            episodes[j] += 1
            rows.append((int(seeds[j]), int(episodes[j]), t, float(totals[j]), agent.updates, agent.model_steps))
            obs[j] = envs[j].reset()[0]
            totals[j] = 0.0
        if progress is not None and t % 1000 == 0:
            progress(t, steps)
    seconds = time.perf_counter() - start
    for env in envs:
        env.close()
    return pd.DataFrame(rows, columns=COLUMNS), seconds
