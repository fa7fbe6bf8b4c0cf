"""The kernel protocol every learning agent implements, and its registry.

An algorithm is a ``NamedTuple`` of arrays and hyperparameters (its *state*) plus two compiled
functions:

* ``act(agent, s, rng) -> action``
* ``observe(agent, s, a, r, s2, terminated, truncated, rng) -> None``: learn from one real
  transition (direct update, model update, planning...).

``register_kernels(StateClass, act=..., observe=...)`` adds them. Compiled code then calls the
generic :func:`act` and :func:`observe` below, and Numba picks the algorithm from the type of
``agent`` at compile time (``numba.extending.overload``): one episode loop serves every
algorithm with no run-time dispatch, the object API (``dynaplan.agents``) calls the same
functions through :func:`act_once` / :func:`observe_once`, and the compiled code is cached.

A *loop hook* watches a run from inside the episode loop (``core.loop.run_loop``): a
``NamedTuple`` (its data) registered with ``register_hook(HookClass, after_step=fn)``, where
``fn(hook, agent, t, episodes, s, a, r, s2, terminated, truncated) -> bool`` is compiled and
called after every real step (after the agent's ``observe`` and the episode's bookkeeping);
returning True stops the run there. Dispatched at compile time like the kernels: a loop
without a hook (``hook=None``) compiles no call at all.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numba import types
from numba.extending import overload

from dynaplan._jit import kernel
from dynaplan._stamp import generic, note_kernels

_KERNELS: dict[type, tuple[Callable[..., Any], Callable[..., Any]]] = {}
_HOOKS: dict[type, Callable[..., Any]] = {}


def register_kernels(state_cls: type, *, act: Callable[..., Any], observe: Callable[..., Any]) -> None:
    """Make ``act`` and ``observe`` (``@njit`` functions) the kernels of ``state_cls``.

    Compiled functions that call :func:`act` / :func:`observe` are marked ``@generic``
    (``dynaplan._stamp``): kernels registered from outside the package are part of their cache
    stamp, so editing them recompiles those functions.
    """
    _KERNELS[state_cls] = (act, observe)
    note_kernels((act, observe))


def register_hook(hook_cls: type, *, after_step: Callable[..., Any]) -> None:
    """Make ``after_step`` (an ``@njit`` function) the loop hook of ``hook_cls`` (see the module doc)."""
    _HOOKS[hook_cls] = after_step
    note_kernels((after_step,))


def _kernels_for(agent: Any) -> tuple[Callable[..., Any], Callable[..., Any]] | None:
    return _KERNELS.get(getattr(agent, "instance_class", None))  # type: ignore[arg-type]


def act(agent: Any, s: int, rng: np.ndarray) -> int:
    """Choose an action in state ``s`` (compiled code only)."""
    raise NotImplementedError("core.kernels.act is only callable from compiled code; use act_once")


def observe(
    agent: Any, s: int, a: int, r: float, s2: int, terminated: bool, truncated: bool, rng: np.ndarray
) -> None:
    """Learn from one real transition (compiled code only)."""
    raise NotImplementedError("core.kernels.observe is only callable from compiled code; use observe_once")


def after_step(
    hook: Any, agent: Any, t: int, episodes: int, s: int, a: int, r: float, s2: int, terminated: bool,
    truncated: bool,
) -> bool:
    """Whether the loop hook ``hook`` stops the run after this real step (compiled code only)."""
    raise NotImplementedError("core.kernels.after_step is only callable from compiled code")


@overload(act)
def _act_impl(agent, s, rng):  # type: ignore[no-untyped-def]
    kernels = _kernels_for(agent)
    if kernels is None:
        return None
    fn = kernels[0]
    return lambda agent, s, rng: fn(agent, s, rng)


@overload(observe)
def _observe_impl(agent, s, a, r, s2, terminated, truncated, rng):  # type: ignore[no-untyped-def]
    kernels = _kernels_for(agent)
    if kernels is None:
        return None
    fn = kernels[1]
    return lambda agent, s, a, r, s2, terminated, truncated, rng: fn(
        agent, s, a, r, s2, terminated, truncated, rng
    )


@overload(after_step)
def _after_step_impl(hook, agent, t, episodes, s, a, r, s2, terminated, truncated):  # type: ignore[no-untyped-def]
    if isinstance(hook, (types.NoneType, types.Omitted)):
        return lambda hook, agent, t, episodes, s, a, r, s2, terminated, truncated: False
    fn = _HOOKS.get(getattr(hook, "instance_class", None))  # type: ignore[arg-type]
    if fn is None:
        return None
    return lambda hook, agent, t, episodes, s, a, r, s2, terminated, truncated: fn(
        hook, agent, t, episodes, s, a, r, s2, terminated, truncated
    )


@generic
@kernel
def act_once(agent: Any, s: int, rng: np.ndarray) -> int:
    """``act`` callable from Python (the object API)."""
    return act(agent, s, rng)


@generic
@kernel
def observe_once(
    agent: Any, s: int, a: int, r: float, s2: int, terminated: bool, truncated: bool, rng: np.ndarray
) -> None:
    """``observe`` callable from Python (the object API)."""
    observe(agent, s, a, r, s2, terminated, truncated, rng)
