"""The compiled agent-environment loop: any registered agent on any ``World``.

It does exactly what the object API does with a Gymnasium env (reset with one draw, one draw
per step, ``act`` then ``observe``), so the same seeds give the same episodes either way.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dynaplan._jit import kernel
from dynaplan.envs.tabular import World, phase_at, world_reset, world_step
from dynaplan.planning.protocol import act, generic, observe


@generic
@kernel
def run_loop(
    world: World,
    agent: Any,
    agent_rng: np.ndarray,
    env_rng: np.ndarray,
    n_episodes: int,
    total_steps: int,
    max_episode_steps: int,
    episode_steps: np.ndarray,
    episode_returns: np.ndarray,
    step_rewards: np.ndarray,
) -> tuple[int, int]:
    """Run until ``n_episodes`` episodes end (if > 0) or ``total_steps`` real steps (if > 0).

    An episode is truncated after ``max_episode_steps`` steps (if > 0), as Gymnasium's
    ``TimeLimit`` does. When the world changes phase (``World.switch_at``) the agent is moved
    by ``World.relocate`` and the episode goes on.

    Outputs (filled in place): ``episode_steps: int64[E]`` and ``episode_returns: float64[E]``
    for each finished episode; ``step_rewards: float64[T]`` the reward of each real step (pass a
    zero-length array to skip). Returns ``(episodes finished, real steps taken)``.
    """
    t = 0
    episodes = 0
    phase = 0
    s = world_reset(world, t, env_rng)
    steps = 0
    ret = 0.0
    while True:
        if n_episodes > 0 and episodes >= n_episodes:
            break
        if total_steps > 0 and t >= total_steps:
            break
        a = act(agent, s, agent_rng)
        s2, r, terminated = world_step(world, t, s, a, env_rng)
        t += 1
        steps += 1
        ret += r
        if step_rewards.shape[0] > 0 and t <= step_rewards.shape[0]:
            step_rewards[t - 1] = r
        truncated = (not terminated) and max_episode_steps > 0 and steps >= max_episode_steps
        observe(agent, s, a, r, s2, terminated, truncated, agent_rng)
        s = s2
        new_phase = phase_at(world, t)
        if new_phase != phase:
            phase = new_phase
            s = world.relocate[phase, s]
        if terminated or truncated:
            if episodes < episode_steps.shape[0]:
                episode_steps[episodes] = steps
                episode_returns[episodes] = ret
            episodes += 1
            steps = 0
            ret = 0.0
            if (n_episodes <= 0 or episodes < n_episodes) and (total_steps <= 0 or t < total_steps):
                s = world_reset(world, t, env_rng)
    return episodes, t
