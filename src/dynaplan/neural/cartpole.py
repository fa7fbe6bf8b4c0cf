"""Gymnasium's ``CartPole-v1`` stepped in JAX: the true model for search, and a batched real world.

The dynamics repeat ``gymnasium.envs.classic_control.CartPoleEnv.step`` (Barto, Sutton & Anderson
1983; Euler integration, Gymnasium's constants) in float32, so one step agrees with Gymnasium's
float64 step to float32 rounding (tested over whole episodes). Reward 1 on every step, including
the one that ends the episode; an episode is cut at 500 steps (``MAX_STEPS``), which is a
truncation, not a termination.

Everything is a pure function of arrays: ``cartpole_step`` maps ``obs: float32[..., 4]`` and
``action: int32[...]`` to the next observation, so it vmaps over seeds and serves search as the
true model (AlphaZero's setting) next to a learned one.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp

__all__ = [
    "MAX_STEPS", "N_ACTIONS", "OBS_DIM", "CartPoleState", "cartpole_reset", "cartpole_step", "cartpole_terminated",
]

OBS_DIM = 4
N_ACTIONS = 2
MAX_STEPS = 500

GRAVITY = 9.8
MASSPOLE = 0.1
TOTAL_MASS = MASSPOLE + 1.0
LENGTH = 0.5
POLEMASS_LENGTH = MASSPOLE * LENGTH
FORCE_MAG = 10.0
TAU = 0.02
THETA_THRESHOLD = 12 * 2 * math.pi / 360
X_THRESHOLD = 2.4


class CartPoleState(NamedTuple):
    """A batch of real episodes in progress.

    obs: float32[..., 4] (x, x_dot, theta, theta_dot)
    t: int32[...] (steps taken in the current episode)
    """

    obs: jax.Array
    t: jax.Array


def cartpole_reset(key: jax.Array) -> jax.Array:
    """A start observation: each coordinate uniform in [-0.05, 0.05] (Gymnasium's reset)."""
    return jax.random.uniform(key, (OBS_DIM,), jnp.float32, -0.05, 0.05)


def cartpole_terminated(obs: jax.Array) -> jax.Array:
    """Whether ``obs: float32[..., 4]`` is outside the track or the pole has fallen (bool[...])."""
    x, theta = obs[..., 0], obs[..., 2]
    return (jnp.abs(x) > X_THRESHOLD) | (jnp.abs(theta) > THETA_THRESHOLD)


def cartpole_step(obs: jax.Array, action: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
    """One Euler step: ``(next_obs float32[..., 4], reward float32[...], terminated bool[...])``."""
    x, x_dot, theta, theta_dot = (obs[..., i] for i in range(4))
    force = jnp.where(action == 1, FORCE_MAG, -FORCE_MAG)
    costheta, sintheta = jnp.cos(theta), jnp.sin(theta)
    temp = (force + POLEMASS_LENGTH * theta_dot**2 * sintheta) / TOTAL_MASS
    thetaacc = (GRAVITY * sintheta - costheta * temp) / (LENGTH * (4.0 / 3.0 - MASSPOLE * costheta**2 / TOTAL_MASS))
    xacc = temp - POLEMASS_LENGTH * thetaacc * costheta / TOTAL_MASS
    next_obs = jnp.stack(
        [x + TAU * x_dot, x_dot + TAU * xacc, theta + TAU * theta_dot, theta_dot + TAU * thetaacc], axis=-1
    ).astype(jnp.float32)
    return next_obs, jnp.ones(next_obs.shape[:-1], jnp.float32), cartpole_terminated(next_obs)
