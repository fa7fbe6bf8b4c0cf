"""The decorator for dynaplan's hot kernels.

``@kernel`` is ``numba.njit(cache=True, _nrt=False)``: compiled, cached, and compiled without
Numba's reference counting. Kernels take NamedTuples of arrays; with reference counting on,
every use of such a record inside a loop increfs and decrefs each of its arrays with atomic
instructions through a function pointer, and a real step of the compiled episode loop took
about 500 ns instead of 8 ns (measured once when the decorator was chosen; no shipped benchmark
repeats it). A kernel may read and write
the arrays it is given and create views of them, but must not allocate arrays (use plain
``@njit(cache=True)`` for functions that do, such as the exact solvers).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from numba import njit

F = TypeVar("F", bound=Callable[..., Any])


def kernel(fn: F | None = None, *, inline: bool = False) -> Any:
    """``njit(cache=True, _nrt=False)``; ``inline=True`` also inlines it at the Numba IR level."""
    options: dict[str, Any] = {"cache": True, "_nrt": False}
    if inline:
        options["inline"] = "always"
    if fn is None:
        return njit(**options)
    return njit(**options)(fn)
