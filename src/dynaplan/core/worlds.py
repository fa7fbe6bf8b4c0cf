"""The world protocols of the loops: table worlds (``core.loop``) and vector worlds (``core.linear_loop``).

**Table worlds** (states are indices, the ``"table"`` encoding). A world type is a
``NamedTuple`` plus four compiled functions, registered with
``register_table_world(RecordClass, reset=..., step=..., phase=..., relocate=...)``:

* ``reset(world, t, rng) -> s``: draw a start state (one draw, as Gymnasium's ``reset``);
* ``step(world, t, s, a, rng) -> (s2, reward, terminated)``: one real step (one draw);
* ``phase(world, t) -> int``: the world's phase at total real step ``t`` (a changing world);
* ``relocate(world, phase, s) -> s``: where an agent in ``s`` stands when ``phase`` begins.

:func:`table_reset`, :func:`table_step`, :func:`table_phase`, :func:`table_relocate` dispatch
on the record's type at compile time. ``envs.tabular.World`` registers itself.

**Vector worlds** (states are vectors of floats, the linear loop). A world type is a
``NamedTuple`` of parameters plus two compiled functions

* ``reset(world, t, state, obs, rng) -> None``: draw a start state into ``state: float64[n]``
  and write the observation the agent sees into ``obs: float64[m]``;
* ``step(world, t, state, a, obs, rng) -> (reward, terminated)``: one real step in place,

where ``t`` is the total number of real steps so far and ``rng`` the env's PCG64 state
(``dynaplan.rng``). ``register_world(RecordClass, reset=..., step=...)`` adds them;
:func:`world_reset` / :func:`world_step` dispatch on the record's type at compile time
(``numba.extending.overload``), so ``core.linear_loop`` is written once for every world.

Observations are what the Gymnasium env returns, as float64: a float32 observation (Mountain
Car, CartPole, Acrobot) is rounded to float32 first, so features computed from ``obs`` equal
features computed from the env's own arrays. A tabular ``World`` (``envs.tabular``) is
registered as a vector world too: its state and observation are the state index, ``obs[0] = s``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numba.extending import overload

from dynaplan._jit import kernel
from dynaplan._stamp import generic, note_kernels

_WORLDS: dict[type, tuple[Callable[..., Any], Callable[..., Any]]] = {}
_TABLE_WORLDS: dict[type, tuple[Callable[..., Any], ...]] = {}

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


def register_table_world(
    record_cls: type,
    *,
    reset: Callable[..., Any],
    step: Callable[..., Any],
    phase: Callable[..., Any],
    relocate: Callable[..., Any],
) -> None:
    """Make ``reset`` / ``step`` / ``phase`` / ``relocate`` (``@njit`` functions) the table-world
    kernels of ``record_cls`` (see the module doc)."""
    _TABLE_WORLDS[record_cls] = (reset, step, phase, relocate)
    note_kernels((reset, step, phase, relocate))


def _table_kernel(world: Any, i: int) -> Callable[..., Any] | None:
    fns = _TABLE_WORLDS.get(getattr(world, "instance_class", None))  # type: ignore[arg-type]
    return None if fns is None else fns[i]


def table_reset(world: Any, t: int, rng: np.ndarray) -> int:
    """Draw a start state (compiled code only)."""
    raise NotImplementedError("table_reset is only callable from compiled code")


def table_step(world: Any, t: int, s: int, a: int, rng: np.ndarray) -> tuple[int, float, bool]:
    """One real step: ``(s2, reward, terminated)`` (compiled code only)."""
    raise NotImplementedError("table_step is only callable from compiled code")


def table_phase(world: Any, t: int) -> int:
    """The phase at total real step ``t`` (compiled code only)."""
    raise NotImplementedError("table_phase is only callable from compiled code")


def table_relocate(world: Any, phase: int, s: int) -> int:
    """Where an agent in ``s`` stands when ``phase`` begins (compiled code only)."""
    raise NotImplementedError("table_relocate is only callable from compiled code")


@overload(table_reset)
def _table_reset_impl(world, t, rng):  # type: ignore[no-untyped-def]
    fn = _table_kernel(world, 0)
    return None if fn is None else (lambda world, t, rng: fn(world, t, rng))


@overload(table_step)
def _table_step_impl(world, t, s, a, rng):  # type: ignore[no-untyped-def]
    fn = _table_kernel(world, 1)
    return None if fn is None else (lambda world, t, s, a, rng: fn(world, t, s, a, rng))


@overload(table_phase)
def _table_phase_impl(world, t):  # type: ignore[no-untyped-def]
    fn = _table_kernel(world, 2)
    return None if fn is None else (lambda world, t: fn(world, t))


@overload(table_relocate)
def _table_relocate_impl(world, phase, s):  # type: ignore[no-untyped-def]
    fn = _table_kernel(world, 3)
    return None if fn is None else (lambda world, phase, s: fn(world, phase, s))
