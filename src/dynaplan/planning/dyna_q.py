"""Tabular Dyna-Q (book section 8.2, boxed algorithm).

Each real step: (d) direct Q-learning update, (e) model update, (f) ``planning_steps`` times:
a random previously observed state S, a random action A previously taken in S, R, S' from the
model, and the Q-learning update (eq. 6.8) on the simulated transition. With 0 planning steps
this is exactly Q-learning.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from dynaplan._jit import kernel
from dynaplan._stamp import generic
from dynaplan.core.egreedy import epsilon_greedy
from dynaplan.core.kernels import register_kernels
from dynaplan.models.protocol import model_draw_known, model_n_known, model_planning_target
from dynaplan.models.sample import SampleModel, sample_model_update
from dynaplan.planning.probe import probe_direct, probe_planned
from dynaplan.planning.q_learning import q_update


class DynaQState(NamedTuple):
    """Dyna-Q agent.

    Attributes:
      q: float64[S, A]
      model: the learned ``SampleModel``
      t: int64[1], real steps taken so far
      alpha, gamma, epsilon: step size, discount, exploration rate
      planning_steps: planning updates per real step (n)
      probe: ``None`` (compiled away), or a ``planning.probe.PlanningProbe`` recording the pairs
        planning updated and the maxima over a row of Q the updates took (the currency shared
        with prioritized sweeping)
    """

    q: np.ndarray
    model: SampleModel
    t: np.ndarray
    alpha: float
    gamma: float
    epsilon: float
    planning_steps: int
    probe: Any = None


@generic
@kernel
def dyna_planning(q: np.ndarray, model: Any, n_updates: int, alpha: float, gamma: float, rng: np.ndarray,
                  probe: Any = None) -> None:
    """``n_updates`` one-step Q-planning updates on pairs drawn from the model (step f; section 8.1).

    Works on any registered model (``models.protocol``): a known pair drawn at random
    (``model_draw_known``: a previously observed state and an action taken in it for a learned
    model, any pair for an exact one), then ``q[s, a] += alpha (target - q[s, a])`` toward the
    model's planning target (a sampled ``r + gamma max_a' q(s', a')``, eq. 6.8, or the expected
    backup, eq. 8.1, for a distribution model). Nothing happens while no pair is known.
    ``probe`` (optional, ``planning.probe``): records each pair updated (and, for a sample model,
    the maxima taken); ``None`` compiles to nothing.
    """
    if model_n_known(model) == 0:
        return
    n_actions = q.shape[1]
    for _ in range(n_updates):
        s, a = model_draw_known(model, rng)
        q[s, a] += alpha * (model_planning_target(model, q, s, a, gamma, rng) - q[s, a])
        probe_planned(probe, model, s, a, n_actions)


@kernel(inline=True)
def dyna_q_act(agent: DynaQState, s: int, rng: np.ndarray) -> int:
    return epsilon_greedy(agent.q[s], agent.epsilon, rng)


@kernel(inline=True)
def dyna_q_observe(
    agent: DynaQState, s: int, a: int, r: float, s2: int, terminated: bool, truncated: bool, rng: np.ndarray
) -> None:
    q_update(agent.q, s, a, r, s2, terminated, agent.alpha, agent.gamma)
    probe_direct(agent.probe, terminated)
    sample_model_update(agent.model, s, a, r, s2, terminated, agent.t[0])
    agent.t[0] += 1
    dyna_planning(agent.q, agent.model, agent.planning_steps, agent.alpha, agent.gamma, rng, agent.probe)


register_kernels(DynaQState, act=dyna_q_act, observe=dyna_q_observe)
