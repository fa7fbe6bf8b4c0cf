"""``make_env``: ``gym.make`` for the runners, with other families' ids turned into tabular worlds.

An id that names a Minigrid env (``MiniGrid-*``, ``BabyAI-*``) gives its ``MinigridWorld`` (a
Discrete-observation env with an exact model; ``layout_seed`` and ``max_states`` among the
keyword arguments go to it); every other id is ``gym.make(env_id, **kwargs)``.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym

from dynaplan.envs.minigrid_world import is_minigrid_id, make_minigrid, minigrid_step_limit, register_minigrid

__all__ = ["is_known_id", "make_env", "step_limit"]


def is_known_id(env_id: str) -> bool:
    """Whether ``env_id`` is registered with Gymnasium (Minigrid's ids once Minigrid is imported)."""
    register_minigrid(env_id)
    return env_id in gym.registry


def make_env(env_id: str, **kwargs: Any) -> gym.Env[Any, Any]:
    """The env the runners step for ``env_id``."""
    if is_minigrid_id(env_id):
        return make_minigrid(env_id, **kwargs)
    return gym.make(env_id, **kwargs)


def step_limit(env_id: str, **kwargs: Any) -> int:
    """The episode limit the env sets (its ``max_episode_steps``, a Minigrid env's ``max_steps``; 0: none)."""
    if is_minigrid_id(env_id):
        return minigrid_step_limit(env_id, **kwargs)
    limit = kwargs.get("max_episode_steps", gym.spec(env_id).max_episode_steps)
    return int(limit or 0)
