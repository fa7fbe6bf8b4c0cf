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
"""

from __future__ import annotations

import hashlib
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from numba.extending import overload

from dynaplan._cache import PACKAGE_DIR, SOURCE_HASH
from dynaplan._jit import kernel

_KERNELS: dict[type, tuple[Callable[..., Any], Callable[..., Any]]] = {}
_GENERIC: list[Any] = []


def register_kernels(state_cls: type, *, act: Callable[..., Any], observe: Callable[..., Any]) -> None:
    """Make ``act`` and ``observe`` (``@njit`` functions) the kernels of ``state_cls``."""
    _KERNELS[state_cls] = (act, observe)
    if _external_files():
        for dispatcher in _GENERIC:
            _restamp(dispatcher)


def generic(dispatcher: Any) -> Any:
    """Mark a compiled function that calls :func:`act` / :func:`observe` (a decorator, outermost).

    Its cached machine code embeds the kernels of every agent type it was compiled for. The
    package's own kernels are covered by the package-wide source hash (``dynaplan._cache``);
    for kernels registered from outside the package (a user's own algorithm), the hash of their
    source files is folded into this function's cache stamp, so editing them recompiles it.
    """
    _GENERIC.append(dispatcher)
    _restamp(dispatcher)
    return dispatcher


def _external_files() -> list[str]:
    files = set()
    for fns in _KERNELS.values():
        for fn in fns:
            path = inspect.getsourcefile(getattr(fn, "py_func", fn))
            if path and not Path(path).resolve().is_relative_to(PACKAGE_DIR):
                files.add(path)
    return sorted(files)


def _restamp(dispatcher: Any) -> None:
    # Numba's index file pickles the argument types of every compiled signature, and unpickles
    # them before it checks the stamp: a user's state class must never enter the index that
    # other processes read. Kernels from outside the package therefore get index and data files
    # of their own, named by the hash of their sources (and stamped with it).
    cache_file = getattr(getattr(dispatcher, "_cache", None), "_cache_file", None)
    if cache_file is None or not hasattr(cache_file, "_index_path"):
        return
    if not hasattr(cache_file, "_dynaplan_files"):
        cache_file._dynaplan_files = (cache_file._index_path, cache_file._data_name_pattern)
    index_path, data_pattern = cache_file._dynaplan_files
    files = _external_files()
    if not files:
        cache_file._index_path, cache_file._data_name_pattern = index_path, data_pattern
        cache_file._source_stamp = SOURCE_HASH
        return
    digest = hashlib.sha256(SOURCE_HASH.encode())
    for path in files:
        digest.update(path.encode())
        digest.update(Path(path).read_bytes())
    tag = "-x" + digest.hexdigest()[:12]
    cache_file._index_path = index_path[: -len(".nbi")] + tag + ".nbi"
    cache_file._data_name_pattern = data_pattern.replace(".{number:d}.nbc", tag + ".{number:d}.nbc")
    cache_file._source_stamp = digest.hexdigest()[:16]


def _kernels_for(agent: Any) -> tuple[Callable[..., Any], Callable[..., Any]] | None:
    return _KERNELS.get(getattr(agent, "instance_class", None))  # type: ignore[arg-type]


def act(agent: Any, s: int, rng: np.ndarray) -> int:
    """Choose an action in state ``s`` (compiled code only)."""
    raise NotImplementedError("protocol.act is only callable from compiled code; use act_once")


def observe(
    agent: Any, s: int, a: int, r: float, s2: int, terminated: bool, truncated: bool, rng: np.ndarray
) -> None:
    """Learn from one real transition (compiled code only)."""
    raise NotImplementedError("protocol.observe is only callable from compiled code; use observe_once")


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
