"""Prioritized sweeping (book section 8.4), deterministic and stochastic.

Deterministic (the boxed algorithm, over a ``SampleModel``), each real step S, A -> R, S':

  (d) Model(S, A) <- R, S'
  (e) P <- |R + gamma max_a Q(S', a) - Q(S, A)|
  (f) if P > theta, insert S, A into PQueue with priority P
  (g) repeat n times, while PQueue is not empty:
        S, A <- first(PQueue); R, S' <- Model(S, A)
        Q(S, A) <- Q(S, A) + alpha [R + gamma max_a Q(S', a) - Q(S, A)]     (signed TD error)
        for all S_, A_ predicted to lead to S:
          R_ <- predicted reward for S_, A_, S
          P <- |R_ + gamma max_a Q(S, a) - Q(S_, A_)|
          if P > theta, insert S_, A_ into PQueue with priority P

There is no separate direct update: the real pair enters the queue and is updated when popped,
so a real step costs at most ``n`` updates. The queue (``planning.pqueue``) keeps the higher
priority when a pair is queued twice.

Stochastic (Moore & Atkeson 1993; Peng & Williams 1993), over a ``DistributionModel``: the same
loop with expected updates (eq. 8.1), ``Q(S, A) <- sum p_hat [r + gamma max_a Q(S', a)]``, and
priorities ``|expected target - Q|``; the predecessors of S are every pair seen to lead to S.
An expected update leaves no residual, so when the queue is empty every tried pair's Bellman
residual on the learned model is at most theta.

Every update is counted in ``updates[0]``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from dynaplan.models.distribution import DistributionModel, distribution_model_update, expected_target
from dynaplan.models.sample import SampleModel, sample_model_update
from dynaplan.planning.egreedy import epsilon_greedy, max_value
from dynaplan.planning.pqueue import PairQueue, pq_pop, pq_push
from dynaplan.planning.protocol import register_kernels


class PrioritizedSweepingState(NamedTuple):
    """Deterministic prioritized sweeping over a last-outcome sample model.

    Attributes:
      q: float64[S, A]
      model: ``SampleModel`` (with its predecessor index)
      queue: ``PairQueue`` over the S * A pairs
      t: int64[1], real steps taken
      updates: int64[1], Q updates made (all of them are planning updates)
      alpha, gamma, epsilon: step size, discount, exploration rate
      theta: queueing threshold on the priority
      planning_steps: at most this many updates per real step (n)
    """

    q: np.ndarray
    model: SampleModel
    queue: PairQueue
    t: np.ndarray
    updates: np.ndarray
    alpha: float
    gamma: float
    epsilon: float
    theta: float
    planning_steps: int


class StochasticPSState(NamedTuple):
    """Prioritized sweeping with expected updates over a learned distribution model.

    Attributes: q: float64[S, A]; model: ``DistributionModel``; queue: ``PairQueue``; t, updates:
    int64[1]; gamma, epsilon, theta, planning_steps. Expected updates take the full step
    (eq. 8.1), so there is no step size.
    """

    q: np.ndarray
    model: DistributionModel
    queue: PairQueue
    t: np.ndarray
    updates: np.ndarray
    gamma: float
    epsilon: float
    theta: float
    planning_steps: int


@njit(cache=True, inline="always")
def _sample_target(model: SampleModel, q: np.ndarray, s: int, a: int, gamma: float) -> float:
    target = model.reward[s, a]
    if not model.terminated[s, a]:
        target += gamma * max_value(q[model.next_state[s, a]])
    return target


@njit(cache=True, inline="always")
def ps_sweep(
    q: np.ndarray, model: SampleModel, queue: PairQueue, n_updates: int, alpha: float, gamma: float, theta: float
) -> int:
    """Step (g) of the boxed algorithm: at most ``n_updates`` updates from the queue; returns how many."""
    n_actions = q.shape[1]
    done = 0
    while done < n_updates and queue.size[0] > 0:
        pair, _ = pq_pop(queue)
        s = pair // n_actions
        a = pair - s * n_actions
        q[s, a] += alpha * (_sample_target(model, q, s, a, gamma) - q[s, a])
        done += 1
        node = model.pred_head[s]
        while node >= 0:
            ps_ = node // n_actions
            pa = node - ps_ * n_actions
            p = abs(_sample_target(model, q, ps_, pa, gamma) - q[ps_, pa])
            if p > theta:
                pq_push(queue, node, p)
            node = model.pred_next[node]
    return done


@njit(cache=True)
def ps_act(agent: PrioritizedSweepingState, s: int, rng: np.ndarray) -> int:
    return epsilon_greedy(agent.q[s], agent.epsilon, rng)


@njit(cache=True)
def ps_observe(
    agent: PrioritizedSweepingState,
    s: int, a: int, r: float, s2: int, terminated: bool, truncated: bool, rng: np.ndarray,
) -> None:
    sample_model_update(agent.model, s, a, r, s2, terminated, agent.t[0])
    agent.t[0] += 1
    p = abs(_sample_target(agent.model, agent.q, s, a, agent.gamma) - agent.q[s, a])
    if p > agent.theta:
        pq_push(agent.queue, s * agent.q.shape[1] + a, p)
    agent.updates[0] += ps_sweep(
        agent.q, agent.model, agent.queue, agent.planning_steps, agent.alpha, agent.gamma, agent.theta
    )


register_kernels(PrioritizedSweepingState, act=ps_act, observe=ps_observe)


@njit(cache=True, inline="always")
def stochastic_ps_sweep(
    q: np.ndarray, model: DistributionModel, queue: PairQueue, n_updates: int, gamma: float, theta: float
) -> int:
    """At most ``n_updates`` expected updates from the queue, then the predecessors' priorities."""
    n_actions = q.shape[1]
    k_max = model.next_state.shape[2]
    done = 0
    while done < n_updates and queue.size[0] > 0:
        pair, _ = pq_pop(queue)
        s = pair // n_actions
        a = pair - s * n_actions
        q[s, a] = expected_target(model, q, s, a, gamma)
        done += 1
        node = model.pred_head[s]
        while node >= 0:
            pred = node // k_max
            ps_ = pred // n_actions
            pa = pred - ps_ * n_actions
            p = abs(expected_target(model, q, ps_, pa, gamma) - q[ps_, pa])
            if p > theta:
                pq_push(queue, pred, p)
            node = model.pred_next[node]
    return done


@njit(cache=True)
def stochastic_ps_act(agent: StochasticPSState, s: int, rng: np.ndarray) -> int:
    return epsilon_greedy(agent.q[s], agent.epsilon, rng)


@njit(cache=True)
def stochastic_ps_observe(
    agent: StochasticPSState, s: int, a: int, r: float, s2: int, terminated: bool, truncated: bool, rng: np.ndarray
) -> None:
    distribution_model_update(agent.model, s, a, r, s2, terminated)
    agent.t[0] += 1
    p = abs(expected_target(agent.model, agent.q, s, a, agent.gamma) - agent.q[s, a])
    if p > agent.theta:
        pq_push(agent.queue, s * agent.q.shape[1] + a, p)
    agent.updates[0] += stochastic_ps_sweep(
        agent.q, agent.model, agent.queue, agent.planning_steps, agent.gamma, agent.theta
    )


register_kernels(StochasticPSState, act=stochastic_ps_act, observe=stochastic_ps_observe)
