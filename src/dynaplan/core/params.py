"""Parameter errors and the checks that raise them: the bottom of every layer.

``ParamError(key, message)`` is a ``ValueError`` naming the parameter, raised where input
enters (an agent's ``check_params``, a kind's ``check(cell)``, the object API's inputs), so the
layer that reports it (a spec file, the CLI) points at ``key``. The ``check_*`` helpers turn a
value into the type a kernel takes or raise it with one line naming the value and its range.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from typing import Any

import numpy as np


class ParamError(ValueError):
    """A bad parameter: ``key`` names it (``"alpha"``, ``"planning_steps"``), ``str(err)`` is the
    one-line message (``"alpha must be in (0, 1], got 2"``).

    Raised where input is checked (agent ``check_params``, a kind's ``check(cell)``), so the
    layer that reports it (a spec file, the CLI) points at the key without reading the message.
    A ``ValueError``: code that catches ``ValueError`` keeps working.
    """

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key

    def __reduce__(self) -> tuple[type[ParamError], tuple[str, str]]:
        # Rebuilt with both arguments when it crosses a process boundary (pool workers, Ray).
        return type(self), (self.key, str(self))


def check_unit(name: str, value: Any, *, low_open: bool = False) -> float:
    """``value`` as a float in [0, 1] (or (0, 1] with ``low_open``); ``ParamError`` naming it otherwise."""
    interval = "(0, 1]" if low_open else "[0, 1]"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ParamError(name, f"{name} must be a number in {interval}, got {value!r}")
    v = float(value)
    if not (0.0 < v <= 1.0 if low_open else 0.0 <= v <= 1.0):
        raise ParamError(name, f"{name} must be in {interval}, got {value!r}")
    return v


def check_count(name: str, value: Any) -> int:
    """``value`` as a non-negative integer a kernel can hold (int64); ``ParamError`` naming it otherwise."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or int(value) < 0:
        raise ParamError(name, f"{name} must be a non-negative integer, got {value!r}")
    if int(value) > INT64_MAX:
        raise ParamError(name, f"{name} must be at most {INT64_MAX} (a kernel's int64), got {value!r}")
    return int(value)


def check_positive_count(name: str, value: Any) -> int:
    """``value`` as a positive integer; ``ParamError`` naming it otherwise."""
    v = check_count(name, value)
    if v < 1:
        raise ParamError(name, f"{name} must be a positive integer, got {value!r}")
    return v


def check_known(params: Mapping[str, Any], allowed: Any, agent: str = "") -> None:
    """``ParamError`` naming the first key of ``params`` not in ``allowed`` (every agent's one
    message: ``unknown parameter(s) for dyna-q: kappa (its parameters: alpha, ...)``)."""
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        whose = f" for {agent}" if agent else ""
        raise ParamError(unknown[0], f"unknown parameter(s){whose}: {', '.join(unknown)} "
                                     f"(its parameters: {', '.join(sorted(allowed))})")


def check_int_in(name: str, value: Any, low: int, high: int = 10**9) -> int:
    """``value`` as an integer in ``[low, high]``; ``ParamError`` naming it otherwise."""
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Integral) or not low <= int(value) <= high:
        raise ParamError(name, f"{name} must be an integer in [{low}, {high:,}], got {value!r}")
    return int(value)


def check_real_in(name: str, value: Any, low: float, high: float, *, low_open: bool = True) -> float:
    """``value`` as a finite float in ``(low, high]`` (``[low, high]`` unless ``low_open``);
    ``ParamError`` naming it otherwise."""
    bad = isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real) or not math.isfinite(float(value))
    if not bad:
        v = float(value)
        bad = not ((low < v if low_open else low <= v) and v <= high)
    if bad:
        left = "(" if low_open else "["
        raise ParamError(name, f"{name} must be a number in {left}{low:g}, {high:g}], got {value!r}")
    return float(value)


def check_td_params(params: Mapping[str, Any], allowed: set[str], **defaults: Any) -> dict[str, Any]:
    """Common hyperparameters of TD agents (tabular and linear): alpha in (0, 1], epsilon and gamma
    in [0, 1], q_init a number; ``allowed`` names the agent's other keys, ``defaults`` overrides
    the defaults (alpha 0.1, epsilon 0.1, gamma 0.95, q_init 0)."""
    check_known(params, allowed | {"alpha", "epsilon", "gamma", "q_init"})
    out = {"alpha": 0.1, "epsilon": 0.1, "gamma": 0.95, "q_init": 0.0, **defaults, **params}
    out["alpha"] = check_unit("alpha", out["alpha"], low_open=True)
    out["epsilon"] = check_unit("epsilon", out["epsilon"])
    out["gamma"] = check_unit("gamma", out["gamma"])
    out["q_init"] = check_number("q_init", out["q_init"])
    return out


def check_number(name: str, value: Any) -> float:
    """``value`` as a finite or infinite float (a bool or a string is refused); ``ParamError`` naming it otherwise."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ParamError(name, f"{name} must be a number, got {value!r}")
    return float(value)


def check_choice(name: str, value: Any, choices: Any) -> str:
    """``value`` if it is one of ``choices`` (strings); ``ParamError`` naming it otherwise."""
    if not isinstance(value, str) or value not in choices:
        shown = [repr(c) for c in choices]
        options = " or ".join(shown) if len(shown) == 2 else f"one of {', '.join(shown)}"
        raise ParamError(name, f"{name} must be {options}, got {value!r}")
    return value


def check_flag(name: str, value: Any) -> bool:
    """``value`` as a bool (a NumPy bool too, never a number); ``ParamError`` naming it otherwise."""
    if not isinstance(value, bool | np.bool_):
        raise ParamError(name, f"{name} must be true or false, got {value!r}")
    return bool(value)


def check_positive(name: str, value: Any) -> float:
    """``value`` as a float > 0; ``ParamError`` naming it otherwise."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not float(value) > 0:
        raise ParamError(name, f"{name} must be a positive number, got {value!r}")
    return float(value)


INT64_MAX = 2**63 - 1
"""The largest count a compiled kernel accepts (its counters are int64)."""


def check_budget(name: str, value: Any) -> int:
    """``value`` as an integer in [0, 2**63 - 1] (a count a kernel loops over); ``ParamError`` naming it otherwise."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or not 0 <= int(value) <= INT64_MAX:
        raise ParamError(name, f"{name} must be an integer in [0, {INT64_MAX}], got {value!r}")
    return int(value)


def check_index(name: str, value: Any, n: int, what: str) -> int:
    """``value`` as an int in [0, n) (a state or action a kernel indexes with); ValueError naming it otherwise.

    The compiled kernels index their arrays unchecked (bounds checks would cost in every inner
    loop), so a state or action from outside the env's spaces must be refused before a kernel
    sees it: read out of bounds, it gives garbage, writes over memory or kills the interpreter.
    """
    if type(value) is int and 0 <= value < n:  # the common case first, without the slower ABC checks
        return value
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer, numbers.Integral)):
        raise ValueError(f"{name} must be an integer {what} in [0, {n - 1}], got {value!r}")
    v = int(value)
    if not 0 <= v < n:
        article = "an" if what[0] in "aeiou" else "a"
        raise ValueError(f"{name} must be {article} {what} in [0, {n - 1}] (the env has {n} {what}s), got {v}")
    return v


def check_reward(value: Any, name: str = "reward") -> float:
    """``value`` as a finite float (a reward); ValueError naming ``name`` otherwise (NaN or an
    infinity would poison every value it is backed up into)."""
    if type(value) is float and math.isfinite(value):  # the common case first
        return value
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a number, got {value!r}")
    v = float(value)
    if not math.isfinite(v):
        raise ValueError(f"{name} must be a finite number, got {v!r}")
    return v


def check_done(value: Any, name: str) -> bool:
    """``value`` as a bool (``terminated`` / ``truncated``: Python or NumPy bool, as Gymnasium
    returns them); ValueError naming ``name`` otherwise (``"no"`` is truthy: never guess)."""
    if value is True or value is False:
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    raise ValueError(f"{name} must be true or false (a bool), got {value!r}")


def check_vector(value: Any, shape: tuple[int, ...], name: str = "obs") -> np.ndarray:
    """``value`` as a finite float64 vector of ``shape`` flattened; ValueError naming ``name`` otherwise."""
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be an array of numbers of shape {shape}, got {value!r}") from None
    if arr.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} must be finite, got {arr.tolist()!r}")
    return arr.reshape(-1)
