"""The kernel protocol of linear agents (agents over feature vectors), and its registry.

A linear agent is a ``NamedTuple`` state plus two compiled functions over sparse feature
vectors (``idx: int64[k]`` active indices, ``val: float64[k]`` their values, as
``features.encode`` writes them):

* ``act(agent, idx, val, rng) -> action``
* ``observe(agent, idx, val, a, r, idx2, val2, terminated, truncated, rng) -> None``: learn
  from one real transition (direct update, model update, planning).

``register_linear_kernels(StateClass, act=..., observe=...)`` adds them; :func:`linear_act` and
:func:`linear_observe` dispatch on the state's type at compile time
(``numba.extending.overload``), exactly as ``core.kernels`` does for tabular agents, so
``core.linear_loop`` serves every linear agent on every world and features type, and the
object API (``agents.linear``) calls the same kernels through the ``*_once`` functions.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numba.extending import overload

from dynaplan._jit import kernel
from dynaplan._stamp import generic, note_kernels
from dynaplan.core.encoding import encode

_LINEAR: dict[type, tuple[Callable[..., Any], Callable[..., Any]]] = {}


def register_linear_kernels(state_cls: type, *, act: Callable[..., Any], observe: Callable[..., Any]) -> None:
    """Make ``act`` and ``observe`` (``@njit`` functions) the kernels of ``state_cls``."""
    _LINEAR[state_cls] = (act, observe)
    note_kernels((act, observe))


def linear_act(agent: Any, idx: np.ndarray, val: np.ndarray, rng: np.ndarray) -> int:
    """Choose an action for the feature vector (compiled code only)."""
    raise NotImplementedError("linear_act is only callable from compiled code")


def linear_observe(
    agent: Any,
    idx: np.ndarray,
    val: np.ndarray,
    a: int,
    r: float,
    idx2: np.ndarray,
    val2: np.ndarray,
    terminated: bool,
    truncated: bool,
    rng: np.ndarray,
) -> None:
    """Learn from one real transition (compiled code only)."""
    raise NotImplementedError("linear_observe is only callable from compiled code")


@overload(linear_act)
def _act_impl(agent, idx, val, rng):  # type: ignore[no-untyped-def]
    fns = _LINEAR.get(getattr(agent, "instance_class", None))  # type: ignore[arg-type]
    if fns is None:
        return None
    fn = fns[0]
    return lambda agent, idx, val, rng: fn(agent, idx, val, rng)


@overload(linear_observe)
def _observe_impl(agent, idx, val, a, r, idx2, val2, terminated, truncated, rng):  # type: ignore[no-untyped-def]
    fns = _LINEAR.get(getattr(agent, "instance_class", None))  # type: ignore[arg-type]
    if fns is None:
        return None
    fn = fns[1]
    return lambda agent, idx, val, a, r, idx2, val2, terminated, truncated, rng: fn(
        agent, idx, val, a, r, idx2, val2, terminated, truncated, rng
    )


@generic
@kernel
def linear_act_once(
    features: Any, agent: Any, obs: np.ndarray, idx: np.ndarray, val: np.ndarray, rng: np.ndarray
) -> int:
    """Encode ``obs`` and act (the object API)."""
    encode(features, obs, idx, val)
    return linear_act(agent, idx, val, rng)


@generic
@kernel
def linear_observe_once(
    features: Any,
    agent: Any,
    obs: np.ndarray,
    a: int,
    r: float,
    obs2: np.ndarray,
    terminated: bool,
    truncated: bool,
    idx: np.ndarray,
    val: np.ndarray,
    idx2: np.ndarray,
    val2: np.ndarray,
    rng: np.ndarray,
) -> None:
    """Encode both observations and learn from the transition (the object API)."""
    encode(features, obs, idx, val)
    encode(features, obs2, idx2, val2)
    linear_observe(agent, idx, val, a, r, idx2, val2, terminated, truncated, rng)
