"""Tracing twins of the background planners' ``observe`` kernels, used only by the explorer.

To draw *each planning backup as it happens* the explorer must know which pairs planning
updated. The production kernels (``planning.dyna_q``, ``planning.dyna_q_plus``,
``planning.prioritized_sweeping``) are left untouched, so they pay nothing for it: the
functions here do the same steps with the same helpers (``q_update``, ``sample_observed_pair``,
``pq_pop``...) in the same order, drawing the same random numbers, and also write the index
``s * A + a`` of every planning update into a caller's buffer ``trace: int64[n]`` (at most
``n`` are written; the count returned is the number made). For the same seed a traced agent
and an untraced one have bit-identical Q tables, models and random states
(``tests/test_explore.py``), and replaying the traced updates on the Q table from before the
step reproduces the one after it.

Covered: Dyna-Q (section 8.2), Q-planning on a learned model (8.1), Dyna-Q+ in both bonus modes
(8.3, Exercise 8.4) and prioritized sweeping with a sample model (8.4). Every other agent is
traced by ``explore.session`` from the Q table before and after the real step (see there).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dynaplan._jit import kernel
from dynaplan.models.sample import sample_model_update, sample_observed_pair
from dynaplan.planning.dyna_q import DynaQState
from dynaplan.planning.dyna_q_plus import ACTION_BONUS, DynaQPlusState, staleness
from dynaplan.planning.prioritized_sweeping import PrioritizedSweepingState, queue_real_pair, sweep
from dynaplan.planning.q_learning import q_update
from dynaplan.planning.q_planning import QPlanningState
from dynaplan.rng import randint


@kernel
def _traced_dyna_planning(q: np.ndarray, model: Any, n_updates: int, alpha: float, gamma: float,
                          rng: np.ndarray, trace: np.ndarray) -> int:
    """``planning.dyna_q.dyna_planning``, writing each updated pair to ``trace``."""
    if model.n_seen[0] == 0:
        return 0
    n_actions = q.shape[1]
    for i in range(n_updates):
        s, a = sample_observed_pair(model, rng)
        q_update(q, s, a, model.reward[s, a], model.next_state[s, a], model.terminated[s, a], alpha, gamma)
        if i < trace.shape[0]:
            trace[i] = s * n_actions + a
    return n_updates


@kernel
def traced_dyna_q_observe(agent: DynaQState, s: int, a: int, r: float, s2: int, terminated: bool,
                          rng: np.ndarray, trace: np.ndarray) -> int:
    """``planning.dyna_q.dyna_q_observe`` with its planning pairs traced; returns planning updates made."""
    q_update(agent.q, s, a, r, s2, terminated, agent.alpha, agent.gamma)
    if not terminated:
        agent.max_q[0] += 1
    sample_model_update(agent.model, s, a, r, s2, terminated, agent.t[0])
    agent.t[0] += 1
    done = _traced_dyna_planning(agent.q, agent.model, agent.planning_steps, agent.alpha, agent.gamma, rng, trace)
    # The max-Q counter, from the traced pairs (exact when the trace holds them all, as the
    # explorer sizes it: planning_steps).
    for i in range(min(done, trace.shape[0])):
        if not agent.model.terminated[trace[i] // agent.q.shape[1], trace[i] % agent.q.shape[1]]:
            agent.max_q[0] += 1
    return done


@kernel
def traced_q_planning_observe(agent: QPlanningState, s: int, a: int, r: float, s2: int, terminated: bool,
                              rng: np.ndarray, trace: np.ndarray) -> int:
    """``planning.q_planning.q_planning_observe`` (learned model: no direct update) traced."""
    sample_model_update(agent.model, s, a, r, s2, terminated, agent.t[0])
    agent.t[0] += 1
    return _traced_dyna_planning(agent.q, agent.model, agent.planning_steps, agent.alpha, agent.gamma, rng, trace)


@kernel
def traced_dyna_q_plus_observe(agent: DynaQPlusState, s: int, a: int, r: float, s2: int, terminated: bool,
                               rng: np.ndarray, trace: np.ndarray) -> int:
    """``planning.dyna_q_plus.dyna_q_plus_observe`` traced (both bonus modes)."""
    q = agent.q
    model = agent.model
    q_update(q, s, a, r, s2, terminated, agent.alpha, agent.gamma)
    sample_model_update(model, s, a, r, s2, terminated, agent.t[0])
    agent.t[0] += 1
    if agent.bonus == ACTION_BONUS:
        return _traced_dyna_planning(q, model, agent.planning_steps, agent.alpha, agent.gamma, rng, trace)
    t = agent.t[0]
    n_actions = q.shape[1]
    for i in range(agent.planning_steps):
        if agent.plan_untried:
            ps = model.seen_states[randint(rng, model.n_seen[0])]
            pa = randint(rng, n_actions)
        else:
            ps, pa = sample_observed_pair(model, rng)
        bonus = agent.kappa * np.sqrt(staleness(model, t, ps, pa))
        if model.next_state[ps, pa] < 0:
            q_update(q, ps, pa, bonus, ps, False, agent.alpha, agent.gamma)
        else:
            q_update(q, ps, pa, model.reward[ps, pa] + bonus, model.next_state[ps, pa], model.terminated[ps, pa],
                     agent.alpha, agent.gamma)
        if i < trace.shape[0]:
            trace[i] = ps * n_actions + pa
    return agent.planning_steps


@kernel
def traced_ps_observe(agent: PrioritizedSweepingState, s: int, a: int, r: float, s2: int, terminated: bool,
                      rng: np.ndarray, trace: np.ndarray) -> int:
    """``planning.prioritized_sweeping.ps_observe`` traced: the pairs popped from the queue, in order
    (the same ``sweep``, given the trace buffer)."""
    sample_model_update(agent.model, s, a, r, s2, terminated, agent.t[0])
    agent.t[0] += 1
    queue_real_pair(agent.q, agent.model, agent.queue, s, a, agent.gamma, agent.theta, agent.max_q)
    done = sweep(agent.q, agent.model, agent.queue, agent.planning_steps, agent.alpha, agent.gamma, agent.theta,
                 agent.max_q, trace)
    agent.updates[0] += done
    return done


#: The traced ``observe`` of each kernel state type the explorer can trace exactly.
TRACED = {
    DynaQState: traced_dyna_q_observe,
    QPlanningState: traced_q_planning_observe,
    DynaQPlusState: traced_dyna_q_plus_observe,
    PrioritizedSweepingState: traced_ps_observe,
}
