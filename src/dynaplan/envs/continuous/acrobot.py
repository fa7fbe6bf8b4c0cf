"""Gymnasium's ``Acrobot-v1`` stepped in compiled code (Sutton 1996; Spong 1995).

``step`` repeats ``gymnasium.envs.classic_control.AcrobotEnv.step`` ("book" dynamics, no torque
noise): one classical Runge-Kutta step of 0.2 s over the augmented state (the 4 angles and
velocities plus the torque, whose derivative is 0), the same expressions in the same order,
then ``wrap`` / ``bound``. NumPy computes ``x**2`` on a float64 scalar with the C library's
``pow``, which can differ from ``x * x`` in the last bit; so does this kernel (the exponent is a
run-time field, ``two``, which keeps the compiler from rewriting ``pow(x, 2)`` as ``x * x``).
``reset`` draws ``np_random.uniform(-0.1, 0.1, size=4)`` and rounds the state to float32, as
Gymnasium does. Observation: float32 (cos t1, sin t1, cos t2, sin t2, dt1, dt2).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from dynaplan._jit import kernel
from dynaplan.core.worlds import register_world
from dynaplan.rng import rand

PI = math.pi


class AcrobotWorld(NamedTuple):
    """Acrobot's parameters (Gymnasium's class constants). State float64[4] = (t1, t2, dt1, dt2)."""

    dt: float = 0.2
    m1: float = 1.0
    m2: float = 1.0
    l1: float = 1.0
    lc1: float = 0.5
    lc2: float = 0.5
    i1: float = 1.0
    i2: float = 1.0
    g: float = 9.8
    max_vel_1: float = 4 * PI
    max_vel_2: float = 9 * PI
    reset_low: float = -0.1
    reset_high: float = 0.1
    two: float = 2.0


@kernel(inline=True)
def _dsdt(w: AcrobotWorld, a: float, theta1: float, theta2: float, dtheta1: float, dtheta2: float) -> tuple[
    float, float, float, float
]:
    # AcrobotEnv._dsdt, "book" branch, expression for expression.
    m1 = w.m1
    m2 = w.m2
    l1 = w.l1
    lc1 = w.lc1
    lc2 = w.lc2
    I1 = w.i1
    I2 = w.i2
    g = w.g
    two = w.two
    d1 = m1 * lc1**two + m2 * (l1**two + lc2**two + 2 * l1 * lc2 * math.cos(theta2)) + I1 + I2
    d2 = m2 * (lc2**two + l1 * lc2 * math.cos(theta2)) + I2
    phi2 = m2 * lc2 * g * math.cos(theta1 + theta2 - PI / 2.0)
    phi1 = (
        -m2 * l1 * lc2 * dtheta2**two * math.sin(theta2)
        - 2 * m2 * l1 * lc2 * dtheta2 * dtheta1 * math.sin(theta2)
        + (m1 * lc1 + m2 * l1) * g * math.cos(theta1 - PI / 2)
        + phi2
    )
    ddtheta2 = (a + d2 / d1 * phi1 - m2 * l1 * lc2 * dtheta1**two * math.sin(theta2) - phi2) / (
        m2 * lc2**two + I2 - d2**two / d1
    )
    ddtheta1 = -(d2 * ddtheta2 + phi1) / d1
    return dtheta1, dtheta2, ddtheta1, ddtheta2


@kernel(inline=True)
def _wrap(x: float, m: float, big_m: float) -> float:
    diff = big_m - m
    while x > big_m:
        x = x - diff
    while x < m:
        x = x + diff
    return x


@kernel(inline=True)
def _bound(x: float, m: float, big_m: float) -> float:
    # Python's min(max(x, m), M)
    y = m if m > x else x
    return big_m if big_m < y else y


@kernel(inline=True)
def _observe(state: np.ndarray, obs: np.ndarray) -> None:
    obs[0] = np.float32(math.cos(state[0]))
    obs[1] = np.float32(math.sin(state[0]))
    obs[2] = np.float32(math.cos(state[1]))
    obs[3] = np.float32(math.sin(state[1]))
    obs[4] = np.float32(state[2])
    obs[5] = np.float32(state[3])


@kernel
def acrobot_reset(world: AcrobotWorld, t: int, state: np.ndarray, obs: np.ndarray, rng: np.ndarray) -> None:
    span = world.reset_high - world.reset_low
    for i in range(4):
        state[i] = np.float64(np.float32(world.reset_low + span * rand(rng)))
    _observe(state, obs)


@kernel
def acrobot_step(
    world: AcrobotWorld, t: int, state: np.ndarray, a: int, obs: np.ndarray, rng: np.ndarray
) -> tuple[float, bool]:
    torque = -1.0 if a == 0 else (0.0 if a == 1 else 1.0)
    # rk4(self._dsdt, s_augmented, [0, dt]): one step; the torque component has derivative 0,
    # so it stays `torque` at every stage (torque + h * 0.0 == torque).
    dt = world.dt - 0
    dt2 = dt / 2.0
    y0 = state[0]
    y1 = state[1]
    y2 = state[2]
    y3 = state[3]
    k1a, k1b, k1c, k1d = _dsdt(world, torque, y0, y1, y2, y3)
    k2a, k2b, k2c, k2d = _dsdt(world, torque, y0 + dt2 * k1a, y1 + dt2 * k1b, y2 + dt2 * k1c, y3 + dt2 * k1d)
    k3a, k3b, k3c, k3d = _dsdt(world, torque, y0 + dt2 * k2a, y1 + dt2 * k2b, y2 + dt2 * k2c, y3 + dt2 * k2d)
    k4a, k4b, k4c, k4d = _dsdt(world, torque, y0 + dt * k3a, y1 + dt * k3b, y2 + dt * k3c, y3 + dt * k3d)
    h = dt / 6.0
    n0 = y0 + h * (k1a + 2 * k2a + 2 * k3a + k4a)
    n1 = y1 + h * (k1b + 2 * k2b + 2 * k3b + k4b)
    n2 = y2 + h * (k1c + 2 * k2c + 2 * k3c + k4c)
    n3 = y3 + h * (k1d + 2 * k2d + 2 * k3d + k4d)
    state[0] = _wrap(n0, -PI, PI)
    state[1] = _wrap(n1, -PI, PI)
    state[2] = _bound(n2, -world.max_vel_1, world.max_vel_1)
    state[3] = _bound(n3, -world.max_vel_2, world.max_vel_2)
    terminated = -math.cos(state[0]) - math.cos(state[1] + state[0]) > 1.0
    _observe(state, obs)
    return (-1.0 if not terminated else 0.0), terminated


register_world(AcrobotWorld, reset=acrobot_reset, step=acrobot_step, sizes=lambda w: (4, 6))
