"""Gymnasium's ``MountainCar-v0`` stepped in compiled code (book Example 10.1).

``step`` repeats ``gymnasium.envs.classic_control.MountainCarEnv.step`` operation for
operation in float64, and ``reset`` its one ``np_random.uniform(-0.6, -0.4)`` draw (NumPy's
``Generator.uniform`` is ``low + (high - low) * random()``), so the same PCG64 state gives the
same episode bit for bit (``tests/test_continuous_envs.py``). The observation is the state
rounded to float32, as Gymnasium returns it. Gymnasium's registered env adds a 200-step time
limit; the book's task (Figure 10.2) has none: that is the loop's ``max_episode_steps``.

``MountainCarWorld(float32_obs=False)`` is the book's task as its reference code
(ShangtongZhang's ``chapter10/mountain_car.py``) runs it: the same dynamics, start draw and
termination (its bounds ``[-1.2, 0.5]`` clip only where Gymnasium's episode has already ended),
but the agent sees the float64 state itself, not its float32 rounding. The state, rewards and
ends are unchanged; only the observation differs, and so only the tiles of a state within
float32 rounding of a tile edge (``benchmarks/linear.py --exact`` runs the reference code's
episodes step for step beside ours).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from dynaplan._jit import kernel
from dynaplan.core.worlds import register_world
from dynaplan.rng import rand


class MountainCarWorld(NamedTuple):
    """Mountain Car's parameters (Gymnasium's defaults). State float64[2] = (position, velocity).

    ``float32_obs``: the observation is the state rounded to float32 (Gymnasium's), else the state.
    """

    force: float = 0.001
    gravity: float = 0.0025
    max_speed: float = 0.07
    min_position: float = -1.2
    max_position: float = 0.6
    goal_position: float = 0.5
    goal_velocity: float = 0.0
    reset_low: float = -0.6
    reset_high: float = -0.4
    float32_obs: bool = True


@kernel(inline=True)
def _observe(world: MountainCarWorld, position: float, velocity: float, obs: np.ndarray) -> None:
    if world.float32_obs:
        obs[0] = np.float32(position)
        obs[1] = np.float32(velocity)
    else:
        obs[0] = position
        obs[1] = velocity


@kernel
def mountain_car_reset(world: MountainCarWorld, t: int, state: np.ndarray, obs: np.ndarray, rng: np.ndarray) -> None:
    state[0] = world.reset_low + (world.reset_high - world.reset_low) * rand(rng)
    state[1] = 0.0
    _observe(world, state[0], state[1], obs)


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
    _observe(world, position, velocity, obs)
    return -1.0, terminated


register_world(MountainCarWorld, reset=mountain_car_reset, step=mountain_car_step, sizes=lambda w: (2, 2))
