"""A continuous cart-pole swing-up (the task of PETS, Chua et al. 2018, section 5), stepped in JAX.

Dynamics: the classic cart-pole (Barto, Sutton & Anderson 1983, with the corrected equations of
Florian 2007) as Gymnasium's ``CartPole`` and mbrl-lib's ``mbrl/env/cartpole_continuous.py``
write them, with a continuous force ``10 * a`` for an action ``a`` in [-1, 1] and an explicit
Euler step of 0.02 s: gravity 9.8, cart 1.0 kg, pole 0.1 kg, half-length 0.5 m.

The swing-up task (ours, in the form of PETS's cart-pole): the pole starts hanging down
(``theta = pi``, 0 is upright) with every state component perturbed by U(-0.05, 0.05); the cart
runs on an unbounded track; nothing terminates; 200 steps (4 s). Reward per step
``exp(-d^2 / L^2) - 0.01 a^2`` where ``d`` is the distance of the pole's tip from its upright
position above the origin and ``L = 1`` m the pole's length (PETS uses the same Gaussian of the
tip's distance with width 0.6 for its 0.6 m pole): 1 per step upright over the origin, about
0.02 hanging down.

State ``[x, x_dot, theta, theta_dot]``; observation ``[x, x_dot, cos theta, sin theta,
theta_dot]`` (the angle as its cosine and sine, so that a network need not learn the wrap).
Registered with Gymnasium as ``dynaplan/CartpoleSwingup-v0``
(:class:`dynaplan.neural.worlds.gym_env.JaxWorldEnv`).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from dynaplan.neural.worlds.base import JaxWorld

__all__ = ["CARTPOLE_SWINGUP"]

GRAVITY, MASS_CART, MASS_POLE, HALF_LENGTH, FORCE_MAG, TAU = 9.8, 1.0, 0.1, 0.5, 10.0, 0.02
TOTAL_MASS = MASS_CART + MASS_POLE
POLEMASS_LENGTH = MASS_POLE * HALF_LENGTH
POLE_LENGTH = 2 * HALF_LENGTH


def _reset(key: jax.Array) -> jax.Array:
    noise = jax.random.uniform(key, (4,), jnp.float32, -0.05, 0.05)
    return noise + jnp.array([0.0, 0.0, jnp.pi, 0.0], jnp.float32)


def _dynamics(state: jax.Array, action: jax.Array) -> jax.Array:
    x, x_dot, theta, theta_dot = state[0], state[1], state[2], state[3]
    force = FORCE_MAG * jnp.clip(action[0], -1.0, 1.0)
    cos, sin = jnp.cos(theta), jnp.sin(theta)
    temp = (force + POLEMASS_LENGTH * theta_dot**2 * sin) / TOTAL_MASS
    theta_acc = (GRAVITY * sin - cos * temp) / (HALF_LENGTH * (4.0 / 3.0 - MASS_POLE * cos**2 / TOTAL_MASS))
    x_acc = temp - POLEMASS_LENGTH * theta_acc * cos / TOTAL_MASS
    return jnp.stack([x + TAU * x_dot, x_dot + TAU * x_acc, theta + TAU * theta_dot, theta_dot + TAU * theta_acc])


def _observe(state: jax.Array) -> jax.Array:
    return jnp.stack([state[0], state[1], jnp.cos(state[2]), jnp.sin(state[2]), state[3]])


def _state_of(obs: jax.Array) -> jax.Array:
    return jnp.stack([obs[0], obs[1], jnp.arctan2(obs[3], obs[2]), obs[4]])


def _reward(obs: jax.Array, action: jax.Array, next_obs: jax.Array) -> jax.Array:
    tip_x = next_obs[0] + POLE_LENGTH * next_obs[3]
    tip_y = POLE_LENGTH * next_obs[2]
    d2 = tip_x**2 + (tip_y - POLE_LENGTH) ** 2
    return jnp.exp(-d2 / POLE_LENGTH**2) - 0.01 * jnp.clip(action[0], -1.0, 1.0) ** 2


def _terminal(next_obs: jax.Array) -> jax.Array:
    return jnp.zeros((), bool)


def _obs_dynamics(obs: jax.Array, action: jax.Array) -> jax.Array:
    return _observe(_dynamics(_state_of(obs), action))


CARTPOLE_SWINGUP = JaxWorld(
    env_id="dynaplan/CartpoleSwingup-v0", obs_dim=5, act_dim=1, state_dim=4, action_low=-1.0, action_high=1.0,
    max_steps=200, reset=_reset, dynamics=_dynamics, observe=_observe, reward=_reward, terminal=_terminal,
    obs_dynamics=_obs_dynamics,
)
