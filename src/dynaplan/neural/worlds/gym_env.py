"""Any :class:`JaxWorld` as a Gymnasium env (its steps are the JAX functions, jitted once).

``JaxWorldEnv(world)`` resets with ``reset(seed=s)`` to the start state the batched JAX runner
draws for seed ``s`` (``world.reset(jax.random.PRNGKey(s))`` folded with the env stream, see
:func:`env_key`), so the object API and the vmapped runner see the same episodes.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import gymnasium as gym
import jax
import numpy as np

from dynaplan.neural.worlds.base import JaxWorld, world_step

__all__ = ["JaxWorldEnv", "env_key"]


def env_key(seed: int | jax.Array, episode: int | jax.Array) -> jax.Array:
    """The JAX key of episode ``episode``'s start state for run seed ``seed`` (env stream 1)."""
    return jax.random.fold_in(jax.random.fold_in(jax.random.PRNGKey(seed), 1), episode)


@partial(jax.jit, static_argnums=0)
def _step(world: JaxWorld, state: jax.Array, action: jax.Array) -> tuple[jax.Array, ...]:
    return world_step(world, state, action)


@partial(jax.jit, static_argnums=0)
def _reset(world: JaxWorld, key: jax.Array) -> tuple[jax.Array, jax.Array]:
    state = world.reset(key)
    return state, world.observe(state)


class JaxWorldEnv(gym.Env[np.ndarray, np.ndarray]):
    """A Gymnasium env stepping a :class:`JaxWorld` (float32 observations, Box actions).

    ``reset(seed=s)`` starts episode 0 of seed ``s``; each later ``reset()`` without a seed starts
    the next episode of the same seed (``env_key(s, episode)``), as the batched runner does.
    Truncation is left to the ``TimeLimit`` wrapper of the registration (``world.max_steps``).
    """

    metadata = {"render_modes": []}  # noqa: RUF012 (Gymnasium declares it an instance attribute)

    def __init__(self, world: JaxWorld) -> None:
        self.world = world
        high = np.full(world.obs_dim, np.inf, np.float32)
        self.observation_space = gym.spaces.Box(-high, high, dtype=np.float32)
        self.action_space = gym.spaces.Box(world.action_low, world.action_high, (world.act_dim,), np.float32)
        self._seed = 0
        self._episode = -1
        self._state: jax.Array | None = None

    def reset(self, *, seed: int | None = None,
              options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        if seed is not None:
            self._seed, self._episode = int(seed), 0
        else:
            self._episode += 1
        self._state, obs = _reset(self.world, env_key(self._seed, max(self._episode, 0)))
        return np.asarray(obs), {}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        if self._state is None:
            raise RuntimeError("call reset() before step()")
        a = np.asarray(action, np.float32).reshape(self.world.act_dim)
        self._state, obs, reward, terminated = _step(self.world, self._state, a)
        return np.asarray(obs), float(reward), bool(terminated), False, {}


def make_cartpole_swingup() -> JaxWorldEnv:
    """The Gymnasium entry point of ``dynaplan/CartpoleSwingup-v0``."""
    from dynaplan.neural.worlds.cartpole_swingup import CARTPOLE_SWINGUP

    return JaxWorldEnv(CARTPOLE_SWINGUP)
