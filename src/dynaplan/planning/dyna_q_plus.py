"""Dyna-Q+ (book section 8.3) and the Exercise 8.4 variant: exploration bonuses for stale pairs.

``tau(s, a)`` is the number of real time steps taken since pair ``(s, a)`` was last tried (for a
pair never tried: since the run began). With ``t`` real steps taken and the pair last tried at
step ``last_tried`` (0-based), ``tau = t - 1 - last_tried``: 0 right after trying it.

* ``bonus = PLANNING_BONUS`` (Dyna-Q+ as in the book): planning uses the reward
  ``r + kappa * sqrt(tau)``. A planning step draws a previously visited state, then *any*
  action; an action never tried there is planned as a self-loop with reward 0 (plus its bonus),
  the book's footnote (with ``plan_untried=False``, only tried actions are drawn, as Dyna-Q).
  Direct updates use the real reward.
* ``bonus = ACTION_BONUS`` (Exercise 8.4): the bonus enters only action selection,
  epsilon-greedy over ``Q(s, a) + kappa * sqrt(tau(s, a))``; direct and planning updates are
  Dyna-Q's, free of any bonus.

With ``kappa = 0`` and ``plan_untried = False`` both are Dyna-Q, draw for draw.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from dynaplan._jit import kernel
from dynaplan.core.egreedy import epsilon_greedy
from dynaplan.core.kernels import register_kernels
from dynaplan.models.sample import SampleModel, sample_model_update, sample_observed_pair
from dynaplan.planning.dyna_q import dyna_planning
from dynaplan.planning.probe import probe_record
from dynaplan.planning.q_learning import q_update
from dynaplan.rng import randint

PLANNING_BONUS = 0
ACTION_BONUS = 1


class DynaQPlusState(NamedTuple):
    """Dyna-Q+ agent.

    Attributes:
      q: float64[S, A]
      model: the learned ``SampleModel`` (``model.last_tried`` gives tau)
      t: int64[1], real steps taken so far
      bonus_values: float64[A], scratch row for action selection with the bonus
      alpha, gamma, epsilon: step size, discount, exploration rate
      planning_steps: planning updates per real step (n)
      kappa: bonus weight (the book's small kappa)
      bonus: ``PLANNING_BONUS`` (section 8.3) or ``ACTION_BONUS`` (Exercise 8.4)
      plan_untried: plan untried actions of visited states as reward-0 self-loops (footnote)
      probe: ``None`` or a ``planning.probe.PlanningProbe`` (the pairs planning updated)
    """

    q: np.ndarray
    model: SampleModel
    t: np.ndarray
    bonus_values: np.ndarray
    alpha: float
    gamma: float
    epsilon: float
    planning_steps: int
    kappa: float
    bonus: int
    plan_untried: bool
    probe: Any = None


@kernel(inline=True)
def staleness(model: SampleModel, t: int, s: int, a: int) -> int:
    """tau(s, a) after ``t`` real steps: steps since the pair was last tried (since 0 if never)."""
    return t - 1 - model.last_tried[s, a] if model.last_tried[s, a] >= 0 else t


@kernel
def dyna_q_plus_planning(
    q: np.ndarray,
    model: SampleModel,
    t: int,
    n_updates: int,
    alpha: float,
    gamma: float,
    kappa: float,
    plan_untried: bool,
    rng: np.ndarray,
    probe: Any = None,
) -> None:
    """``n_updates`` Q-planning updates with reward ``r + kappa sqrt(tau)`` (section 8.3).

    Each draws a visited state uniformly, then an action: any of the A (``plan_untried``; an
    untried one is a self-loop with reward 0, not terminal) or one tried there. Two draws.
    ``probe`` (optional, ``planning.probe``) records each pair updated.
    """
    if model.n_seen[0] == 0:
        return
    n_actions = q.shape[1]
    for _ in range(n_updates):
        if plan_untried:
            s = model.seen_states[randint(rng, model.n_seen[0])]
            a = randint(rng, n_actions)
        else:
            s, a = sample_observed_pair(model, rng)
        bonus = kappa * np.sqrt(staleness(model, t, s, a))
        if model.next_state[s, a] < 0:
            q_update(q, s, a, bonus, s, False, alpha, gamma)
        else:
            q_update(q, s, a, model.reward[s, a] + bonus, model.next_state[s, a], model.terminated[s, a], alpha, gamma)
        probe_record(probe, s * n_actions + a)


@kernel(inline=True)
def dyna_q_plus_act(agent: DynaQPlusState, s: int, rng: np.ndarray) -> int:
    if agent.bonus == ACTION_BONUS:
        t = agent.t[0]
        for a in range(agent.q.shape[1]):
            agent.bonus_values[a] = agent.q[s, a] + agent.kappa * np.sqrt(staleness(agent.model, t, s, a))
        return epsilon_greedy(agent.bonus_values, agent.epsilon, rng)
    return epsilon_greedy(agent.q[s], agent.epsilon, rng)


@kernel(inline=True)
def dyna_q_plus_observe(
    agent: DynaQPlusState, s: int, a: int, r: float, s2: int, terminated: bool, truncated: bool, rng: np.ndarray
) -> None:
    q_update(agent.q, s, a, r, s2, terminated, agent.alpha, agent.gamma)
    sample_model_update(agent.model, s, a, r, s2, terminated, agent.t[0])
    agent.t[0] += 1
    if agent.bonus == ACTION_BONUS:
        dyna_planning(agent.q, agent.model, agent.planning_steps, agent.alpha, agent.gamma, rng, agent.probe)
    else:
        dyna_q_plus_planning(
            agent.q, agent.model, agent.t[0], agent.planning_steps, agent.alpha, agent.gamma,
            agent.kappa, agent.plan_untried, rng, agent.probe,
        )


register_kernels(DynaQPlusState, act=dyna_q_plus_act, observe=dyna_q_plus_observe)
