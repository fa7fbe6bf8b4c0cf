"""The model protocol: what a planner asks of a model, and the registry through which a model
type answers.

A model (the world's exact model or one an agent learns, book section 8.1) is a ``NamedTuple``
of arrays. Planners never look inside it: they call the generic functions below from compiled
code, and Numba picks the registered kernel from the model's type at compile time
(``numba.extending.overload``, as ``core.kernels`` does for agents). A planner is written
once and compiled per model type, with no run-time dispatch and no ``if type is ...`` anywhere.

What a model answers (``S`` states, ``A`` actions; a *pair* is ``(s, a)``):

* ``model_known(model, s, a) -> bool``: whether the model can say anything about the pair (an
  exact model always can; a learned one for the pairs tried in the real world);
* ``model_n_known(model) -> int`` and ``model_draw_known(model, rng) -> (s, a)``: how many pairs
  are known, and one drawn at random (Dyna's "random previously observed state, then a random
  action previously taken in it", section 8.2; any pair, uniformly, for an exact model);
* ``model_sample(model, s, a, rng) -> (next_state, reward, terminated)``: one simulated step of
  a known pair (a *sample model*; the order of Gymnasium's ``step``);
* ``model_width(model) -> K`` and ``model_outcome(model, s, a, k) -> (prob, next_state, reward,
  terminated)``: the outcome slots of a known pair (a *distribution model*), prob 0 for an
  unused slot;
* ``model_backup(model, values, s, a, gamma) -> float``: the expected one-step backup
  ``sum_k p_k [r_k + gamma v(s'_k)]`` (eq. 4.6 / 8.1), no future value after a terminal outcome;
  ``values`` is ``float64[S]`` (``v(s') = values[s']``) or ``float64[S, A]`` (``v(s') =
  max_a' values[s', a']``, see :func:`state_value`);
* ``model_planning_target(model, q, s, a, gamma, rng) -> float``: the target a one-step planning
  update of ``q[s, a]`` moves toward: the expected backup for a model registered with
  ``planning="expected"``, else a sampled ``r + gamma max_a' q(s', a')``;
* ``model_update(model, s, a, r, s2, terminated, t) -> None``: record a real transition at real
  step ``t`` (learned models; nothing for a fixed one);
* ``model_sizes(model) -> (S, A)``, from Python (not compiled): the sizes entry points check
  states against.

:func:`register_model` adds a model type. ``known`` and ``sample`` are required; the rest is
optional: without ``width`` / ``outcome`` the model serves sample-based planners only (rollouts,
MCTS, Q-planning) and :func:`check_model` refuses it for expected ones; without ``backup`` the
expected backup is computed from the outcome slots; without ``update`` the model is fixed. The
kernels are ``@njit`` functions (``dynaplan._jit.kernel(inline=True)`` for hot ones) that must
not allocate arrays. ``TabularModel`` (the env's exact model) is registered here;
``SampleModel`` and ``DistributionModel`` register in their modules.

Random draws are made unconditionally where they sit on hot paths: a draw inside a branch makes
Numba wrap the inlined code in reference-count operations on the random state, which costs far
more than the draw itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numba.extending import overload

from dynaplan._jit import kernel
from dynaplan._stamp import note_kernels
from dynaplan.envs.tabular import TabularModel
from dynaplan.rng import rand, randint

PLANNING = ("sample", "expected")


@dataclass(frozen=True)
class ModelKernels:
    """The kernels a model type registered (``None``: not provided). See the module docstring."""

    known: Callable[..., Any]
    sample: Callable[..., Any]
    n_known: Callable[..., Any] | None = None
    draw_known: Callable[..., Any] | None = None
    width: Callable[..., Any] | None = None
    outcome: Callable[..., Any] | None = None
    backup: Callable[..., Any] | None = None
    update: Callable[..., Any] | None = None
    planning: str = "sample"
    sizes: Callable[[Any], tuple[int, int]] | None = None


MODELS: dict[type, ModelKernels] = {}


def register_model(
    model_cls: type,
    *,
    known: Callable[..., Any],
    sample: Callable[..., Any],
    n_known: Callable[..., Any] | None = None,
    draw_known: Callable[..., Any] | None = None,
    width: Callable[..., Any] | None = None,
    outcome: Callable[..., Any] | None = None,
    backup: Callable[..., Any] | None = None,
    update: Callable[..., Any] | None = None,
    planning: str = "sample",
    sizes: Callable[[Any], tuple[int, int]] | None = None,
) -> None:
    """Make ``model_cls`` (a ``NamedTuple`` of arrays) a model every planner can use.

    Signatures (compiled functions; see the module docstring for what each returns):
    ``known(model, s, a)``, ``sample(model, s, a, rng)``, ``n_known(model)``,
    ``draw_known(model, rng)``, ``width(model)``, ``outcome(model, s, a, k)``,
    ``backup(model, values, s, a, gamma)``, ``update(model, s, a, r, s2, terminated, t)``.
    ``planning``: ``"sample"`` (background planning makes sample updates, section 8.1) or
    ``"expected"`` (expected updates, eq. 8.1; needs ``backup`` or ``outcome``).
    ``sizes(model) -> (S, A)`` is a plain Python function (default: the first two dimensions of
    ``model.next_state``), read by the Python-side entry points (``mcts_search``...).
    """
    if planning not in PLANNING:
        raise ValueError(f"planning must be one of {', '.join(PLANNING)}, got {planning!r}")
    if (width is None) != (outcome is None):
        raise ValueError("register width and outcome together (or neither)")
    if planning == "expected" and backup is None and outcome is None:
        raise ValueError("planning='expected' needs a backup or outcome kernel")
    kernels = ModelKernels(known, sample, n_known, draw_known, width, outcome, backup, update, planning, sizes)
    MODELS[model_cls] = kernels
    note_kernels((known, sample, n_known, draw_known, width, outcome, backup, update))


def kernels_of(model: Any) -> ModelKernels | None:
    """The kernels registered for a model value or a Numba type of one (``None``: not a model)."""
    cls = getattr(model, "instance_class", None) or type(model)
    return MODELS.get(cls)


def model_sizes(model: Any) -> tuple[int, int]:
    """``(n_states, n_actions)`` of a model of a registered type (Python side)."""
    kernels = kernels_of(model)
    if kernels is not None and kernels.sizes is not None:
        n_states, n_actions = kernels.sizes(model)
        return int(n_states), int(n_actions)
    shape = model.next_state.shape
    return int(shape[0]), int(shape[1])


_NEEDS = {
    "outcome": "outcome slots (width and outcome kernels)",
    "draw_known": "known pairs to draw (n_known and draw_known kernels)",
}


def check_model(model: Any, *, needs: tuple[str, ...] = (), what: str = "a planner") -> None:
    """ValueError unless ``model`` is of a registered model type providing ``needs``.

    ``needs`` names optional kernels: ``"outcome"`` (expected updates, lookahead) and
    ``"draw_known"`` (background planning).
    """
    kernels = kernels_of(model)
    if kernels is None:
        names = ", ".join(sorted(t.__name__ for t in MODELS))
        raise ValueError(f"{what} needs a model of a registered type ({names}); got {type(model).__name__}")
    for need in needs:
        if getattr(kernels, need) is None:
            raise ValueError(f"{what} needs a model with {_NEEDS[need]}; {type(model).__name__} has none")


# -- the generic functions (compiled code only) ---------------------------------------------


def model_known(model: Any, s: int, a: int) -> bool:
    """Whether pair ``(s, a)`` is known (compiled code only)."""
    raise NotImplementedError("model_known is only callable from compiled code")


def model_n_known(model: Any) -> int:
    """How many pairs are known (compiled code only)."""
    raise NotImplementedError("model_n_known is only callable from compiled code")


def model_draw_known(model: Any, rng: np.ndarray) -> tuple[int, int]:
    """A known pair drawn at random; requires ``model_n_known(model) > 0`` (compiled code only)."""
    raise NotImplementedError("model_draw_known is only callable from compiled code")


def model_sample(model: Any, s: int, a: int, rng: np.ndarray) -> tuple[int, float, bool]:
    """One simulated step of a known pair: ``(next_state, reward, terminated)`` (compiled code only)."""
    raise NotImplementedError("model_sample is only callable from compiled code")


def model_width(model: Any) -> int:
    """The number of outcome slots per pair, K (compiled code only)."""
    raise NotImplementedError("model_width is only callable from compiled code")


def model_outcome(model: Any, s: int, a: int, k: int) -> tuple[float, int, float, bool]:
    """Outcome slot ``k`` of a known pair: ``(prob, next_state, reward, terminated)`` (compiled code only)."""
    raise NotImplementedError("model_outcome is only callable from compiled code")


def model_backup(model: Any, values: np.ndarray, s: int, a: int, gamma: float) -> float:
    """The expected one-step backup of a known pair (eq. 4.6 / 8.1; compiled code only)."""
    raise NotImplementedError("model_backup is only callable from compiled code")


def model_planning_target(model: Any, q: np.ndarray, s: int, a: int, gamma: float, rng: np.ndarray) -> float:
    """The target of a one-step planning update of ``q[s, a]`` (compiled code only)."""
    raise NotImplementedError("model_planning_target is only callable from compiled code")


def model_update(model: Any, s: int, a: int, r: float, s2: int, terminated: bool, t: int) -> None:
    """Record a real transition in the model (compiled code only)."""
    raise NotImplementedError("model_update is only callable from compiled code")


def state_value(values: np.ndarray, s: int) -> float:
    """``values[s]`` for state values ``float64[S]``, ``max_a values[s, a]`` for action values."""
    raise NotImplementedError("state_value is only callable from compiled code")


@overload(state_value, inline="always")
def _state_value_impl(values, s):  # type: ignore[no-untyped-def]
    if getattr(values, "ndim", 0) == 1:
        return lambda values, s: values[s]
    if getattr(values, "ndim", 0) == 2:

        def row_max(values, s):  # type: ignore[no-untyped-def]
            best = values[s, 0]
            for j in range(1, values.shape[1]):
                if values[s, j] > best:
                    best = values[s, j]
            return best

        return row_max
    return None


def _kernel(model: Any, name: str) -> Callable[..., Any] | None:
    kernels = kernels_of(model)
    return None if kernels is None else getattr(kernels, name)


@overload(model_known, inline="always")
def _known_impl(model, s, a):  # type: ignore[no-untyped-def]
    fn = _kernel(model, "known")
    return None if fn is None else (lambda model, s, a: fn(model, s, a))


@overload(model_n_known, inline="always")
def _n_known_impl(model):  # type: ignore[no-untyped-def]
    fn = _kernel(model, "n_known")
    return None if fn is None else (lambda model: fn(model))


@overload(model_draw_known, inline="always")
def _draw_known_impl(model, rng):  # type: ignore[no-untyped-def]
    fn = _kernel(model, "draw_known")
    return None if fn is None else (lambda model, rng: fn(model, rng))


@overload(model_sample, inline="always")
def _sample_impl(model, s, a, rng):  # type: ignore[no-untyped-def]
    fn = _kernel(model, "sample")
    return None if fn is None else (lambda model, s, a, rng: fn(model, s, a, rng))


@overload(model_width, inline="always")
def _width_impl(model):  # type: ignore[no-untyped-def]
    fn = _kernel(model, "width")
    return None if fn is None else (lambda model: fn(model))


@overload(model_outcome, inline="always")
def _outcome_impl(model, s, a, k):  # type: ignore[no-untyped-def]
    fn = _kernel(model, "outcome")
    return None if fn is None else (lambda model, s, a, k: fn(model, s, a, k))


@overload(model_backup, inline="always")
def _backup_impl(model, values, s, a, gamma):  # type: ignore[no-untyped-def]
    kernels = kernels_of(model)
    if kernels is None:
        return None
    fn = kernels.backup
    if fn is not None:
        return lambda model, values, s, a, gamma: fn(model, values, s, a, gamma)
    if kernels.outcome is None:
        return None

    def from_outcomes(model, values, s, a, gamma):  # type: ignore[no-untyped-def]
        # Summed as p r + p gamma v(s') per outcome. Another order changes values in the last
        # bits and, through exact ties, the action RTDP breaks a tie to: the racetrack and
        # Figure 8.8 numbers were measured in this one.
        total = 0.0
        for k in range(model_width(model)):
            p, s2, r, term = model_outcome(model, s, a, k)
            if p > 0.0:
                total += p * r
                if not term:
                    total += p * gamma * state_value(values, s2)
        return total

    return from_outcomes


@overload(model_planning_target, inline="always")
def _planning_target_impl(model, q, s, a, gamma, rng):  # type: ignore[no-untyped-def]
    kernels = kernels_of(model)
    if kernels is None:
        return None
    if kernels.planning == "expected":
        return lambda model, q, s, a, gamma, rng: model_backup(model, q, s, a, gamma)

    def sampled(model, q, s, a, gamma, rng):  # type: ignore[no-untyped-def]
        s2, r, term = model_sample(model, s, a, rng)
        target = r
        if not term:
            target += gamma * state_value(q, s2)
        return target

    return sampled


@overload(model_update, inline="always")
def _update_impl(model, s, a, r, s2, terminated, t):  # type: ignore[no-untyped-def]
    kernels = kernels_of(model)
    if kernels is None:
        return None
    fn = kernels.update
    if fn is None:
        return lambda model, s, a, r, s2, terminated, t: None
    return lambda model, s, a, r, s2, terminated, t: fn(model, s, a, r, s2, terminated, t)


# -- the exact model of a world ----------------------------------------------------------------


@kernel(inline=True)
def tabular_known(model: TabularModel, s: int, a: int) -> bool:
    return True


@kernel(inline=True)
def tabular_n_known(model: TabularModel) -> int:
    return model.next_state.shape[0] * model.next_state.shape[1]


@kernel(inline=True)
def tabular_draw_known(model: TabularModel, rng: np.ndarray) -> tuple[int, int]:
    """A pair uniformly at random: a state, then an action (two draws)."""
    s = randint(rng, model.next_state.shape[0])
    a = randint(rng, model.next_state.shape[1])
    return s, a


@kernel(inline=True)
def tabular_sample(model: TabularModel, s: int, a: int, rng: np.ndarray) -> tuple[int, float, bool]:
    """One outcome drawn as Gymnasium's ``categorical_sample`` (one uniform, slot 0 if rounding
    leaves none above it), drawn even for a single-outcome pair (see the module docstring)."""
    u = rand(rng)
    k = 0
    total = 0.0
    for j in range(model.prob.shape[2]):
        total += model.prob[s, a, j]
        if total > u:
            k = j
            break
    return model.next_state[s, a, k], model.reward[s, a, k], model.terminated[s, a, k]


@kernel(inline=True)
def tabular_width(model: TabularModel) -> int:
    return model.next_state.shape[2]


@kernel(inline=True)
def tabular_outcome(model: TabularModel, s: int, a: int, k: int) -> tuple[float, int, float, bool]:
    return model.prob[s, a, k], model.next_state[s, a, k], model.reward[s, a, k], model.terminated[s, a, k]


register_model(
    TabularModel,
    known=tabular_known,
    n_known=tabular_n_known,
    draw_known=tabular_draw_known,
    sample=tabular_sample,
    width=tabular_width,
    outcome=tabular_outcome,
)
