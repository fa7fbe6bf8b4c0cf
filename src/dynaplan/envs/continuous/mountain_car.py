"""Gymnasium's ``MountainCar-v0`` stepped in compiled code (book Example 10.1).

``step`` repeats ``gymnasium.envs.classic_control.MountainCarEnv.step`` operation for
operation in float64, and ``reset`` its one ``np_random.uniform(-0.6, -0.4)`` draw (NumPy's
``Generator.uniform`` is ``low + (high - low) * random()``), so the same PCG64 state gives the
same episode bit for bit (``tests/test_continuous_envs.py``). The observation is the state
rounded to float32, as Gymnasium returns it. Gymnasium's registered env adds a 200-step time
limit; the book's task (Figure 10.2) has none: that is the loop's ``max_episode_steps``.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from dynaplan._jit import kernel
from dynaplan.envs.continuous.base import register_world
from dynaplan.rng import rand


class MountainCarWorld(NamedTuple):
    """Mountain Car's parameters (Gymnasium's defaults). State float64[2] = (position, velocity)."""

    force: float = 0.001
    gravity: float = 0.0025
    max_speed: float = 0.07
    min_position: float = -1.2
    max_position: float = 0.6
    goal_position: float = 0.5
    goal_velocity: float = 0.0
    reset_low: float = -0.6
    reset_high: float = -0.4


@kernel
def mountain_car_reset(world: MountainCarWorld, t: int, state: np.ndarray, obs: np.ndarray, rng: np.ndarray) -> None:
    state[0] = world.reset_low + (world.reset_high - world.reset_low) * rand(rng)
    state[1] = 0.0
    obs[0] = np.float32(state[0])
    obs[1] = np.float32(state[1])


@kernel
def mountain_car_step(
    world: MountainCarWorld, t: int, state: np.ndarray, a: int, obs: np.ndarray, rng: np.ndarray
) -> tuple[float, bool]:
    position = state[0]
    velocity = state[1]
    velocity += (a - 1) * world.force + math.cos(3 * position) * (-world.gravity)
    velocity = min(max(velocity, -world.max_speed), world.max_speed)
    position += velocity
    position = min(max(position, world.min_position), world.max_position)
    if position == world.min_position and velocity < 0:
        velocity = 0.0
    terminated = position >= world.goal_position and velocity >= world.goal_velocity
    state[0] = position
    state[1] = velocity
    obs[0] = np.float32(position)
    obs[1] = np.float32(velocity)
    return -1.0, terminated


register_world(MountainCarWorld, reset=mountain_car_reset, step=mountain_car_step, sizes=lambda w: (2, 2))
