"""Random-sample one-step tabular Q-planning (book section 8.1): planning alone.

Loop forever: a state S and an action A at random; R, S' from a sample model; the one-step
Q-learning update (eq. 6.8) on S, A, R, S'. The model is either the world's exact one (a next
state drawn from its distribution) or one learned from real experience (only tried pairs).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from dynaplan._jit import kernel
from dynaplan.core.egreedy import epsilon_greedy
from dynaplan.core.kernels import register_kernels
from dynaplan.envs.tabular import TabularModel
from dynaplan.models.sample import SampleModel, sample_model_update
from dynaplan.planning.dyna_q import dyna_planning


@kernel
def q_planning(q: np.ndarray, model: TabularModel, n_updates: int, alpha: float, gamma: float, rng: np.ndarray) -> None:
    """``n_updates`` Q-planning updates over an exact model, pairs drawn uniformly (3 draws each)."""
    dyna_planning(q, model, n_updates, alpha, gamma, rng)


class QPlanningState(NamedTuple):
    """An agent that learns only by planning: Q-planning on the model it learns.

    ``observe`` records the real transition in the model and makes ``planning_steps`` planning
    updates on tried pairs; it makes no direct update.

    Attributes: q: float64[S, A]; model: ``SampleModel``; t: int64[1]; alpha, gamma, epsilon,
    planning_steps; probe: ``None`` or a ``planning.probe.PlanningProbe`` (the pairs planning updated).
    """

    q: np.ndarray
    model: SampleModel
    t: np.ndarray
    alpha: float
    gamma: float
    epsilon: float
    planning_steps: int
    probe: Any = None


class ExactQPlanningState(NamedTuple):
    """An agent that plans on the world's exact model and ignores what it observes.

    Attributes: q: float64[S, A]; model: ``TabularModel``; alpha, gamma, epsilon,
    planning_steps (updates per real step).
    """

    q: np.ndarray
    model: TabularModel
    alpha: float
    gamma: float
    epsilon: float
    planning_steps: int


@kernel
def q_planning_act(agent: QPlanningState, s: int, rng: np.ndarray) -> int:
    return epsilon_greedy(agent.q[s], agent.epsilon, rng)


@kernel
def q_planning_observe(
    agent: QPlanningState, s: int, a: int, r: float, s2: int, terminated: bool, truncated: bool, rng: np.ndarray
) -> None:
    sample_model_update(agent.model, s, a, r, s2, terminated, agent.t[0])
    agent.t[0] += 1
    dyna_planning(agent.q, agent.model, agent.planning_steps, agent.alpha, agent.gamma, rng, agent.probe)


@kernel
def exact_q_planning_act(agent: ExactQPlanningState, s: int, rng: np.ndarray) -> int:
    return epsilon_greedy(agent.q[s], agent.epsilon, rng)


@kernel
def exact_q_planning_observe(
    agent: ExactQPlanningState, s: int, a: int, r: float, s2: int, terminated: bool, truncated: bool, rng: np.ndarray
) -> None:
    q_planning(agent.q, agent.model, agent.planning_steps, agent.alpha, agent.gamma, rng)


register_kernels(QPlanningState, act=q_planning_act, observe=q_planning_observe)
register_kernels(ExactQPlanningState, act=exact_q_planning_act, observe=exact_q_planning_observe)
