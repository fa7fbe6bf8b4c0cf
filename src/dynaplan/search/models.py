"""One view of every model a decision-time planner searches: exact, sample or distribution.

A planner asks a model four things, from compiled code:

* ``model_known(model, s, a)``: whether the model can say anything about the pair (an exact
  model always can; a learned one only for pairs tried in the real world);
* ``model_sample(model, s, a, rng) -> (next_state, reward, terminated)``: one simulated step
  (a *sample model*, section 8.1);
* ``model_width(model)`` and ``model_outcome(model, s, a, k) -> (prob, next_state, reward,
  terminated)``: the outcome list of a pair (a *distribution model*), for exact expectations.

The functions dispatch on the model's type at compile time (``numba.extending.overload``), like
``planning.protocol``: a planner is written once and compiled per model type, with no run-time
dispatch. Supported types:

* ``TabularModel`` (the env's exact model): K outcomes per pair, sampled with one uniform draw
  as Gymnasium's ``categorical_sample`` does (drawn even when a pair has one outcome: see below);
* ``SampleModel`` (last outcome seen per tried pair, section 8.2): one outcome, probability 1;
* ``DistributionModel`` (counts of outcomes per tried pair): ``p_hat = count / total`` and the
  outcome's mean reward; sampling draws one uniform.

Random draws are made unconditionally where they sit on hot paths: a draw inside a branch makes
Numba wrap the inlined code in reference-count operations on the random state, which costs far
more than the draw itself.

Untried pairs of a learned model are *unknown*: planners do not simulate them but value them
with the agent's action-value table, ``q[s, a]`` (its initial value ``q_init`` until the
agent learns otherwise; an optimistic ``q_init`` makes search seek unknown pairs).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba.extending import overload

from dynaplan.envs.tabular import TabularModel
from dynaplan.models.distribution import DistributionModel
from dynaplan.models.sample import SampleModel
from dynaplan.rng import rand

MODEL_TYPES = (TabularModel, SampleModel, DistributionModel)


def _kind(model: Any) -> type | None:
    cls = getattr(model, "instance_class", None)
    return cls if cls in MODEL_TYPES else None


def model_known(model: Any, s: int, a: int) -> bool:
    """Whether pair ``(s, a)`` can be simulated (compiled code only)."""
    raise NotImplementedError("model_known is only callable from compiled code")


def model_sample(model: Any, s: int, a: int, rng: np.ndarray) -> tuple[int, float, bool]:
    """One simulated step of a known pair: ``(next_state, reward, terminated)`` (compiled code only)."""
    raise NotImplementedError("model_sample is only callable from compiled code")


def model_width(model: Any) -> int:
    """The number of outcome slots per pair, K (compiled code only)."""
    raise NotImplementedError("model_width is only callable from compiled code")


def model_outcome(model: Any, s: int, a: int, k: int) -> tuple[float, int, float, bool]:
    """Outcome slot ``k`` of a known pair: ``(prob, next_state, reward, terminated)``; prob 0 if unused."""
    raise NotImplementedError("model_outcome is only callable from compiled code")


@overload(model_known, inline="always")
def _known_impl(model, s, a):  # type: ignore[no-untyped-def]
    kind = _kind(model)
    if kind is TabularModel:
        return lambda model, s, a: True
    if kind is SampleModel:
        return lambda model, s, a: model.next_state[s, a] >= 0
    if kind is DistributionModel:
        return lambda model, s, a: model.total[s, a] > 0
    return None


@overload(model_sample, inline="always")
def _sample_impl(model, s, a, rng):  # type: ignore[no-untyped-def]
    kind = _kind(model)
    if kind is TabularModel:

        def tabular(model, s, a, rng):  # type: ignore[no-untyped-def]
            # The uniform is drawn even for a single-outcome pair: a draw inside a branch makes
            # Numba add reference-count operations on every call (about 20x slower here).
            u = rand(rng)
            n_slots = model.prob.shape[2]
            k = 0
            total = 0.0
            for j in range(n_slots):
                total += model.prob[s, a, j]
                if total > u:
                    k = j
                    break
            return model.next_state[s, a, k], model.reward[s, a, k], model.terminated[s, a, k]

        return tabular
    if kind is SampleModel:
        return lambda model, s, a, rng: (model.next_state[s, a], model.reward[s, a], model.terminated[s, a])
    if kind is DistributionModel:

        def distribution(model, s, a, rng):  # type: ignore[no-untyped-def]
            u = rand(rng) * model.total[s, a]
            n = model.n_outcomes[s, a]
            k = n - 1
            acc = 0.0
            for j in range(n):
                acc += model.counts[s, a, j]
                if acc > u:
                    k = j
                    break
            mean_reward = model.reward_sum[s, a, k] / model.counts[s, a, k]
            return model.next_state[s, a, k], mean_reward, model.terminated[s, a, k]

        return distribution
    return None


@overload(model_width, inline="always")
def _width_impl(model):  # type: ignore[no-untyped-def]
    kind = _kind(model)
    if kind is TabularModel or kind is DistributionModel:
        return lambda model: model.next_state.shape[2]
    if kind is SampleModel:
        return lambda model: 1
    return None


@overload(model_outcome, inline="always")
def _outcome_impl(model, s, a, k):  # type: ignore[no-untyped-def]
    kind = _kind(model)
    if kind is TabularModel:
        return lambda model, s, a, k: (
            model.prob[s, a, k], model.next_state[s, a, k], model.reward[s, a, k], model.terminated[s, a, k]
        )
    if kind is SampleModel:
        return lambda model, s, a, k: (1.0, model.next_state[s, a], model.reward[s, a], model.terminated[s, a])
    if kind is DistributionModel:

        def distribution(model, s, a, k):  # type: ignore[no-untyped-def]
            c = model.counts[s, a, k]
            if c == 0:
                return 0.0, model.next_state[s, a, k], 0.0, model.terminated[s, a, k]
            p = c / model.total[s, a]
            return p, model.next_state[s, a, k], model.reward_sum[s, a, k] / c, model.terminated[s, a, k]

        return distribution
    return None


def check_model(model: Any) -> None:
    """ValueError unless ``model`` is one of the supported model records."""
    if not isinstance(model, MODEL_TYPES):
        names = ", ".join(t.__name__ for t in MODEL_TYPES)
        raise ValueError(f"a search needs a model of type {names}; got {type(model).__name__}")
