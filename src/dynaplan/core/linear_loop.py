"""The compiled loop over (world, features, linear agent), written once.

It does what the object API does with a Gymnasium env: reset (the env's draws), encode the
observation, ``act``, step (the env's draws), encode, ``observe``; so the same seeds give the
same episodes either way (``tests/test_linear.py``). World, features and agent are each
dispatched at compile time through their protocols (``core.worlds``,
``core.encoding``, ``core.linear_kernels``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dynaplan._jit import kernel
from dynaplan._stamp import generic
from dynaplan.core.encoding import encode
from dynaplan.core.linear_kernels import linear_act, linear_observe
from dynaplan.core.loop import budget_left, is_truncated, record_episode
from dynaplan.core.worlds import world_reset, world_step


class LoopBuffers:
    """Scratch arrays of one run: world state, observation, two feature vectors."""

    def __init__(self, n_state: int, n_obs: int, n_active: int) -> None:
        self.state = np.zeros(n_state)
        self.obs = np.zeros(n_obs)
        self.idx = np.zeros(n_active, dtype=np.int64)
        self.val = np.zeros(n_active)
        self.idx2 = np.zeros(n_active, dtype=np.int64)
        self.val2 = np.zeros(n_active)


@generic
@kernel
def run_linear_loop(
    world: Any,
    features: Any,
    agent: Any,
    agent_rng: np.ndarray,
    env_rng: np.ndarray,
    n_episodes: int,
    total_steps: int,
    max_episode_steps: int,
    episode_steps: np.ndarray,
    episode_returns: np.ndarray,
    state: np.ndarray,
    obs: np.ndarray,
    idx: np.ndarray,
    val: np.ndarray,
    idx2: np.ndarray,
    val2: np.ndarray,
) -> tuple[int, int]:
    """Run until ``n_episodes`` episodes end (if > 0) or ``total_steps`` real steps (if > 0).

    An episode is truncated after ``max_episode_steps`` steps (if > 0), as Gymnasium's
    ``TimeLimit`` does. Outputs filled in place: ``episode_steps: int64[E]``,
    ``episode_returns: float64[E]``. Returns ``(episodes finished, real steps taken)``.
    """
    t = 0
    episodes = 0
    world_reset(world, t, state, obs, env_rng)
    encode(features, obs, idx, val)
    steps = 0
    ret = 0.0
    k = idx.shape[0]
    while True:
        if not budget_left(n_episodes, total_steps, episodes, t):
            break
        a = linear_act(agent, idx, val, agent_rng)
        r, terminated = world_step(world, t, state, a, obs, env_rng)
        encode(features, obs, idx2, val2)
        t += 1
        steps += 1
        ret += r
        truncated = is_truncated(terminated, steps, max_episode_steps)
        linear_observe(agent, idx, val, a, r, idx2, val2, terminated, truncated, agent_rng)
        for j in range(k):
            idx[j] = idx2[j]
            val[j] = val2[j]
        if terminated or truncated:
            episodes = record_episode(episode_steps, episode_returns, episodes, steps, ret)
            steps = 0
            ret = 0.0
            if budget_left(n_episodes, total_steps, episodes, t):
                world_reset(world, t, state, obs, env_rng)
                encode(features, obs, idx, val)
    return episodes, t
