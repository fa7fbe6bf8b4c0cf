"""The world protocol of the linear loop: worlds whose states are vectors of floats.

A world type is a ``NamedTuple`` of parameters plus two compiled functions

* ``reset(world, t, state, obs, rng) -> None``: draw a start state into ``state: float64[n]``
  and write the observation the agent sees into ``obs: float64[m]``;
* ``step(world, t, state, a, obs, rng) -> (reward, terminated)``: one real step in place,

where ``t`` is the total number of real steps so far and ``rng`` the env's PCG64 state
(``dynaplan.rng``). ``register_world(RecordClass, reset=..., step=...)`` adds them;
:func:`world_reset` / :func:`world_step` dispatch on the record's type at compile time
(``numba.extending.overload``), so ``planning.linear_loop`` is written once for every world.

Observations are what the Gymnasium env returns, as float64: a float32 observation (Mountain
Car, CartPole, Acrobot) is rounded to float32 first, so features computed from ``obs`` equal
features computed from the env's own arrays. A tabular ``World`` (``envs.tabular``) is
registered too: its state and observation are the state index, ``obs[0] = s``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numba.extending import overload

from dynaplan._jit import kernel
from dynaplan._stamp import generic, note_kernels
from dynaplan.envs.tabular import World, phase_at
from dynaplan.envs.tabular import world_reset as tabular_reset
from dynaplan.envs.tabular import world_step as tabular_step

_WORLDS: dict[type, tuple[Callable[..., Any], Callable[..., Any]]] = {}

#: record class -> (state size, observation size) of a world record, for allocating buffers.
SIZES: dict[type, Callable[[Any], tuple[int, int]]] = {}


def register_world(
    record_cls: type,
    *,
    reset: Callable[..., Any],
    step: Callable[..., Any],
    sizes: Callable[[Any], tuple[int, int]],
) -> None:
    """Make ``reset`` / ``step`` (``@njit`` functions) the kernels of ``record_cls``.

    ``sizes(world) -> (state size, observation size)``.
    """
    _WORLDS[record_cls] = (reset, step)
    note_kernels((reset, step))
    SIZES[record_cls] = sizes


def buffer_sizes(world: Any) -> tuple[int, int]:
    """(state size, observation size) of a registered world record."""
    fn = SIZES.get(type(world))
    if fn is None:
        raise ValueError(f"{type(world).__name__} is not a registered world record")
    return fn(world)


def world_reset(world: Any, t: int, state: np.ndarray, obs: np.ndarray, rng: np.ndarray) -> None:
    """Draw a start state (compiled code only)."""
    raise NotImplementedError("world_reset is only callable from compiled code")


def world_step(
    world: Any, t: int, state: np.ndarray, a: int, obs: np.ndarray, rng: np.ndarray
) -> tuple[float, bool]:
    """One real step (compiled code only)."""
    raise NotImplementedError("world_step is only callable from compiled code")


@overload(world_reset)
def _reset_impl(world, t, state, obs, rng):  # type: ignore[no-untyped-def]
    fns = _WORLDS.get(getattr(world, "instance_class", None))  # type: ignore[arg-type]
    if fns is None:
        return None
    fn = fns[0]
    return lambda world, t, state, obs, rng: fn(world, t, state, obs, rng)


@overload(world_step)
def _step_impl(world, t, state, a, obs, rng):  # type: ignore[no-untyped-def]
    fns = _WORLDS.get(getattr(world, "instance_class", None))  # type: ignore[arg-type]
    if fns is None:
        return None
    fn = fns[1]
    return lambda world, t, state, a, obs, rng: fn(world, t, state, a, obs, rng)


@generic
@kernel
def reset_once(world: Any, state: np.ndarray, obs: np.ndarray, rng: np.ndarray) -> None:
    """``world_reset`` at t = 0, callable from Python."""
    world_reset(world, 0, state, obs, rng)


@generic
@kernel
def step_once(world: Any, state: np.ndarray, a: int, obs: np.ndarray, rng: np.ndarray) -> tuple[float, bool]:
    """``world_step`` at t = 0, callable from Python."""
    return world_step(world, 0, state, a, obs, rng)


@kernel
def _tabular_reset(world: World, t: int, state: np.ndarray, obs: np.ndarray, rng: np.ndarray) -> None:
    s = tabular_reset(world, t, rng)
    state[0] = s
    obs[0] = s


@kernel
def _tabular_step(
    world: World, t: int, state: np.ndarray, a: int, obs: np.ndarray, rng: np.ndarray
) -> tuple[float, bool]:
    # As planning.loop.run_loop: when a new phase begins after this step, relocate the agent.
    s2, r, terminated = tabular_step(world, t, int(state[0]), a, rng)
    new_phase = phase_at(world, t + 1)
    if new_phase != phase_at(world, t):
        s2 = world.relocate[new_phase, s2]
    state[0] = s2
    obs[0] = s2
    return r, terminated


register_world(World, reset=_tabular_reset, step=_tabular_step, sizes=lambda w: (1, 1))
