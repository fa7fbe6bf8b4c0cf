"""Pendulum-v1 stepped in JAX, equal to Gymnasium's (``gymnasium.envs.classic_control.pendulum``).

State ``[theta, theta_dot]``; observation ``[cos theta, sin theta, theta_dot]``; torque clipped to
[-2, 2]; semi-implicit Euler with dt = 0.05, g = 10, m = l = 1; angular speed clipped to [-8, 8];
reward ``-(angle_normalize(theta)^2 + 0.1 theta_dot^2 + 0.001 u^2)`` on the state *before* the
step; start uniform in ``[-pi, pi] x [-1, 1]``; 200 steps (Gymnasium's TimeLimit), never
terminates.

Gymnasium computes in float64 and returns float32 observations; here everything is float32.
``tests/test_neural_worlds.py`` checks 10,000 steps from several seeds against
``gymnasium.make("Pendulum-v1")`` stepping the same actions from the same states.

gymnax's ``Pendulum-v1`` has the same equations, but its step also auto-resets and keeps a time
counter in its state; the three worlds here share one pure interface (:class:`JaxWorld`), so
this module writes the ten lines of physics itself.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from dynaplan.neural.worlds.base import JaxWorld, angle_normalize

__all__ = ["PENDULUM"]

MAX_SPEED, MAX_TORQUE, DT, G, M, L = 8.0, 2.0, 0.05, 10.0, 1.0, 1.0


def _reset(key: jax.Array) -> jax.Array:
    high = jnp.array([jnp.pi, 1.0], jnp.float32)
    return jax.random.uniform(key, (2,), jnp.float32, -high, high)


def _dynamics(state: jax.Array, action: jax.Array) -> jax.Array:
    th, thdot = state[0], state[1]
    u = jnp.clip(action[0], -MAX_TORQUE, MAX_TORQUE)
    newthdot = thdot + (3 * G / (2 * L) * jnp.sin(th) + 3.0 / (M * L**2) * u) * DT
    newthdot = jnp.clip(newthdot, -MAX_SPEED, MAX_SPEED)
    return jnp.stack([th + newthdot * DT, newthdot])


def _observe(state: jax.Array) -> jax.Array:
    return jnp.stack([jnp.cos(state[0]), jnp.sin(state[0]), state[1]])


def _reward(obs: jax.Array, action: jax.Array, next_obs: jax.Array) -> jax.Array:
    th = angle_normalize(jnp.arctan2(obs[1], obs[0]))
    u = jnp.clip(action[0], -MAX_TORQUE, MAX_TORQUE)
    return -(th**2 + 0.1 * obs[2] ** 2 + 0.001 * u**2)


def _terminal(next_obs: jax.Array) -> jax.Array:
    return jnp.zeros((), bool)


def _obs_dynamics(obs: jax.Array, action: jax.Array) -> jax.Array:
    return _observe(_dynamics(jnp.stack([jnp.arctan2(obs[1], obs[0]), obs[2]]), action))


PENDULUM = JaxWorld(
    env_id="Pendulum-v1", obs_dim=3, act_dim=1, state_dim=2, action_low=-MAX_TORQUE, action_high=MAX_TORQUE,
    max_steps=200, reset=_reset, dynamics=_dynamics, observe=_observe, reward=_reward, terminal=_terminal,
    obs_dynamics=_obs_dynamics,
)
