"""The features protocol: a compiled map from an observation to a sparse feature vector.

A features type is a ``NamedTuple`` record plus one compiled function

* ``encode(features, obs, idx, val) -> None``: write the ``n_active`` active feature indices of
  the observation ``obs: float64[m]`` into ``idx: int64[k]`` and their values into
  ``val: float64[k]`` (``k = features.n_active``; 1.0 for binary features).

``register_features(RecordClass, encode=...)`` adds it. Compiled code calls :func:`encode`
below and Numba picks the implementation from the record's type at compile time
(``numba.extending.overload``), as ``core.kernels`` does for agents: the linear loop
(``core.linear_loop``) is written once for every features type. A value estimate is then
``sum_j w[idx[j]] * val[j]`` (Sutton & Barto section 9.4, linear methods).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numba.extending import overload

from dynaplan._jit import kernel
from dynaplan._stamp import generic, note_kernels

_ENCODERS: dict[type, Callable[..., Any]] = {}


def register_features(record_cls: type, *, encode: Callable[..., Any]) -> None:
    """Make ``encode`` (an ``@njit`` function) the encoder of ``record_cls``."""
    _ENCODERS[record_cls] = encode
    note_kernels((encode,))


def encode(features: Any, obs: np.ndarray, idx: np.ndarray, val: np.ndarray) -> None:
    """Write the active features of ``obs`` into ``idx`` / ``val`` (compiled code only)."""
    raise NotImplementedError("features.encode is only callable from compiled code; use encode_once")


@overload(encode)
def _encode_impl(features, obs, idx, val):  # type: ignore[no-untyped-def]
    fn = _ENCODERS.get(getattr(features, "instance_class", None))  # type: ignore[arg-type]
    if fn is None:
        return None
    return lambda features, obs, idx, val: fn(features, obs, idx, val)


@generic
@kernel
def encode_once(features: Any, obs: np.ndarray, idx: np.ndarray, val: np.ndarray) -> None:
    """``encode`` callable from Python (the object API)."""
    encode(features, obs, idx, val)


@kernel(inline=True)
def raise_bound(bound: np.ndarray, idx: np.ndarray, idx2: np.ndarray) -> int:
    """Raise ``bound[0]`` (int64[1]) to at least one past every index in ``idx`` and ``idx2``, the
    active features of a transition; returns it. Sparse kernels visit features ``0 .. bound - 1``
    only, the ones seen so far."""
    hi = bound[0]
    for j in range(idx.shape[0]):
        if idx[j] + 1 > hi:
            hi = idx[j] + 1
    for j in range(idx2.shape[0]):
        if idx2[j] + 1 > hi:
            hi = idx2[j] + 1
    bound[0] = hi
    return hi
