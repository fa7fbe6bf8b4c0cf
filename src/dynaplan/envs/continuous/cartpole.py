"""Gymnasium's ``CartPole-v1`` stepped in compiled code (Barto, Sutton & Anderson 1983).

``step`` repeats ``gymnasium.envs.classic_control.CartPoleEnv.step`` (Euler integration,
Gymnasium's defaults) operation for operation in float64 and ``reset`` its
``np_random.uniform(-0.05, 0.05, size=4)`` draws, so the same PCG64 state gives the same
episode bit for bit. Reward 1 on every step including the one that ends the episode.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from dynaplan._jit import kernel
from dynaplan.core.worlds import register_world
from dynaplan.rng import rand


class CartPoleWorld(NamedTuple):
    """CartPole's parameters. State float64[4] = (x, x_dot, theta, theta_dot)."""

    gravity: float = 9.8
    masspole: float = 0.1
    total_mass: float = 0.1 + 1.0
    length: float = 0.5
    polemass_length: float = 0.1 * 0.5
    force_mag: float = 10.0
    tau: float = 0.02
    theta_threshold_radians: float = 12 * 2 * math.pi / 360
    x_threshold: float = 2.4
    reset_low: float = -0.05
    reset_high: float = 0.05


@kernel
def cartpole_reset(world: CartPoleWorld, t: int, state: np.ndarray, obs: np.ndarray, rng: np.ndarray) -> None:
    span = world.reset_high - world.reset_low
    for i in range(4):
        state[i] = world.reset_low + span * rand(rng)
        obs[i] = np.float32(state[i])


@kernel
def cartpole_step(
    world: CartPoleWorld, t: int, state: np.ndarray, a: int, obs: np.ndarray, rng: np.ndarray
) -> tuple[float, bool]:
    x = state[0]
    x_dot = state[1]
    theta = state[2]
    theta_dot = state[3]
    force = world.force_mag if a == 1 else -world.force_mag
    costheta = math.cos(theta)
    sintheta = math.sin(theta)
    temp = (force + world.polemass_length * (theta_dot * theta_dot) * sintheta) / world.total_mass
    thetaacc = (world.gravity * sintheta - costheta * temp) / (
        world.length * (4.0 / 3.0 - world.masspole * (costheta * costheta) / world.total_mass)
    )
    xacc = temp - world.polemass_length * thetaacc * costheta / world.total_mass
    x = x + world.tau * x_dot
    x_dot = x_dot + world.tau * xacc
    theta = theta + world.tau * theta_dot
    theta_dot = theta_dot + world.tau * thetaacc
    state[0] = x
    state[1] = x_dot
    state[2] = theta
    state[3] = theta_dot
    for i in range(4):
        obs[i] = np.float32(state[i])
    terminated = (
        x < -world.x_threshold
        or x > world.x_threshold
        or theta < -world.theta_threshold_radians
        or theta > world.theta_threshold_radians
    )
    return 1.0, terminated


register_world(CartPoleWorld, reset=cartpole_reset, step=cartpole_step, sizes=lambda w: (4, 4))
