"""MountainCarContinuous-v0 stepped in JAX, equal to Gymnasium's
(``gymnasium.envs.classic_control.continuous_mountain_car``; Moore 1990, Sutton & Barto 10.1).

State = observation = ``[position, velocity]``; force = action clipped to [-1, 1];
``velocity += 0.0015 force - 0.0025 cos(3 position)`` clipped to +-0.07; position clipped to
[-1.2, 0.6] and the car stopped at the left wall; terminates when position >= 0.45 (and
velocity >= 0); reward 100 on termination minus ``0.1 a^2`` (the action as given, unclipped, as
Gymnasium computes it); start position uniform in [-0.6, -0.4], velocity 0; 999 steps.

gymnax's ``MountainCarContinuous-v0`` does not match Gymnasium: it zeroes a negative velocity
when the car is at the *goal* (``position >= goal_position``), where Gymnasium stops the car at
the *left wall* (``position == min_position``), so its trajectories differ from Gymnasium's
after the first bounce on the wall. This module follows Gymnasium.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from dynaplan.neural.worlds.base import JaxWorld

__all__ = ["MOUNTAIN_CAR"]

MIN_POS, MAX_POS, MAX_SPEED, GOAL_POS, GOAL_VEL, POWER = -1.2, 0.6, 0.07, 0.45, 0.0, 0.0015


def _reset(key: jax.Array) -> jax.Array:
    return jnp.stack([jax.random.uniform(key, (), jnp.float32, -0.6, -0.4), jnp.zeros((), jnp.float32)])


def _dynamics(state: jax.Array, action: jax.Array) -> jax.Array:
    position, velocity = state[0], state[1]
    force = jnp.clip(action[0], -1.0, 1.0)
    velocity = jnp.clip(velocity + force * POWER - 0.0025 * jnp.cos(3 * position), -MAX_SPEED, MAX_SPEED)
    position = jnp.clip(position + velocity, MIN_POS, MAX_POS)
    velocity = jnp.where((position <= MIN_POS) & (velocity < 0), 0.0, velocity)
    return jnp.stack([position, velocity])


def _observe(state: jax.Array) -> jax.Array:
    return state


def _terminal(next_obs: jax.Array) -> jax.Array:
    return (next_obs[0] >= GOAL_POS) & (next_obs[1] >= GOAL_VEL)


def _reward(obs: jax.Array, action: jax.Array, next_obs: jax.Array) -> jax.Array:
    return jnp.where(_terminal(next_obs), 100.0, 0.0) - 0.1 * action[0] ** 2


MOUNTAIN_CAR = JaxWorld(
    env_id="MountainCarContinuous-v0", obs_dim=2, act_dim=1, state_dim=2, action_low=-1.0, action_high=1.0,
    max_steps=999, reset=_reset, dynamics=_dynamics, observe=_observe, reward=_reward, terminal=_terminal,
    obs_dynamics=_dynamics,
)
