"""A world stepped in JAX: pure functions over a state vector, one record per world.

A :class:`JaxWorld` holds the functions that define a task, each a pure jittable function of
arrays (no Python state, no host calls), so a whole episode is one ``lax.scan`` and many seeds
are one ``vmap``:

* ``reset(key) -> state`` draws a start state;
* ``dynamics(state, action) -> next_state`` is the true transition (deterministic here);
* ``observe(state) -> obs`` is what an agent sees (Gymnasium's observation);
* ``reward(obs, action, next_obs) -> r`` and ``terminal(next_obs) -> bool`` are written on
  observations, so a planner can score a trajectory a learned model imagined (rewards known);
* ``obs_dynamics(obs, action) -> next_obs`` is the true model on observations: the reference
  row of the model-based agents ("MPC on the true model").

The record is a frozen dataclass of module-level functions, hashable, so it is passed to
``jax.jit`` as a static argument.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import jax
import jax.numpy as jnp

__all__ = ["JaxWorld", "angle_normalize", "true_model_step", "world_step"]


@dataclass(frozen=True)
class JaxWorld:
    """One task, as pure functions (see the module docstring).

    Attributes:
      env_id: the Gymnasium id whose steps this world reproduces (or registers).
      obs_dim, act_dim, state_dim: sizes of observation, action and internal state vectors.
      action_low, action_high: the action box (the same bound on every component).
      max_steps: the episode length of the Gymnasium registration (the TimeLimit).
    """

    env_id: str
    obs_dim: int
    act_dim: int
    state_dim: int
    action_low: float
    action_high: float
    max_steps: int
    reset: Callable[[jax.Array], jax.Array]
    dynamics: Callable[[jax.Array, jax.Array], jax.Array]
    observe: Callable[[jax.Array], jax.Array]
    reward: Callable[[jax.Array, jax.Array, jax.Array], jax.Array]
    terminal: Callable[[jax.Array], jax.Array]
    obs_dynamics: Callable[[jax.Array, jax.Array], jax.Array]


def world_step(world: JaxWorld, state: jax.Array,
               action: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array, jax.Array]:
    """One real step: ``(next_state, next_obs, reward, terminated)``.

    state: float32[state_dim]; action: float32[act_dim] (clipped by the world where Gymnasium
    clips; the reward sees the action as given, as Gymnasium's does).
    """
    obs = world.observe(state)
    next_state = world.dynamics(state, action)
    next_obs = world.observe(next_state)
    return next_state, next_obs, world.reward(obs, action, next_obs), world.terminal(next_obs)


def true_model_step(world: JaxWorld, obs: jax.Array, action: jax.Array) -> tuple[jax.Array, jax.Array]:
    """The true model on observations: ``(next_obs, reward)`` (the reference model of the MPC rows)."""
    next_obs = world.obs_dynamics(obs, action)
    return next_obs, world.reward(obs, action, next_obs)


def angle_normalize(x: jax.Array) -> jax.Array:
    """``x`` wrapped into [-pi, pi), Gymnasium's ``angle_normalize``."""
    return ((x + jnp.pi) % (2 * jnp.pi)) - jnp.pi
