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

Both are one loop (``sweep``): pop, update, re-prioritise the predecessors; the model's type
decides, at compile time, the target (a sample or an expected backup), how far the value moves
and how predecessor lists are read. Counters: every update in ``updates[0]``, and every max over
a row of Q (``max_a Q(S', a)``: one per sample target, one per non-terminal outcome of an
expected target, priorities included) in ``max_q[0]``, so prioritized sweeping and Dyna-Q can be
compared in either currency.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
from numba import njit
from numba.extending import overload

from dynaplan.core.egreedy import epsilon_greedy, max_value
from dynaplan.core.kernels import register_kernels
from dynaplan.models.distribution import DistributionModel, distribution_model_update, expected_target
from dynaplan.models.sample import SampleModel, sample_model_update
from dynaplan.planning.pqueue import PairQueue, pq_pop, pq_push
from dynaplan.planning.probe import probe_record


class PrioritizedSweepingState(NamedTuple):
    """Deterministic prioritized sweeping over a last-outcome sample model.

    Attributes:
      q: float64[S, A]
      model: ``SampleModel`` (with its predecessor index)
      queue: ``PairQueue`` over the S * A pairs
      t: int64[1], real steps taken
      updates: int64[1], Q updates made (all of them are planning updates)
      max_q: int64[1], maxima over a row of Q computed (targets and priorities)
      alpha, gamma, epsilon: step size, discount, exploration rate
      theta: queueing threshold on the priority
      planning_steps: at most this many updates per real step (n)
      probe: ``None`` or a ``planning.probe.PlanningProbe`` (the pairs popped and updated, in order)
    """

    q: np.ndarray
    model: SampleModel
    queue: PairQueue
    t: np.ndarray
    updates: np.ndarray
    max_q: np.ndarray
    alpha: float
    gamma: float
    epsilon: float
    theta: float
    planning_steps: int
    probe: Any = None


class StochasticPSState(NamedTuple):
    """Prioritized sweeping with expected updates over a learned distribution model.

    Attributes: q: float64[S, A]; model: ``DistributionModel``; queue: ``PairQueue``; t, updates,
    max_q: int64[1] (as ``PrioritizedSweepingState``); gamma, epsilon, theta, planning_steps.
    Expected updates take the full step (eq. 8.1), so there is no step size.
    """

    q: np.ndarray
    model: DistributionModel
    queue: PairQueue
    t: np.ndarray
    updates: np.ndarray
    max_q: np.ndarray
    gamma: float
    epsilon: float
    theta: float
    planning_steps: int


# -- the target, the only difference between the two planners --------------------------------
# Dispatched on the model's type at compile time: one sweep loop serves both.


def _target(model: Any, q: np.ndarray, s: int, a: int, gamma: float, max_q: np.ndarray) -> float:
    """The backup target of pair ``(s, a)`` under ``model``; adds its max-Q computations to ``max_q[0]``."""
    raise NotImplementedError("compiled code only")


def _update(model: Any, q: np.ndarray, s: int, a: int, target: float, alpha: float) -> None:
    """Move ``Q(s, a)`` to ``target``: by ``alpha`` (a sample update) or all the way (an expected one)."""
    raise NotImplementedError("compiled code only")


def _pred_pair(model: Any, node: int) -> int:
    """The pair index (``s * A + a``) of a node of the model's predecessor lists."""
    raise NotImplementedError("compiled code only")


def _model_class(model: Any) -> type | None:
    return getattr(model, "instance_class", None)


@overload(_target)
def _target_impl(model, q, s, a, gamma, max_q):  # type: ignore[no-untyped-def]
    if _model_class(model) is SampleModel:
        def sample(model, q, s, a, gamma, max_q):  # type: ignore[no-untyped-def]
            target = model.reward[s, a]
            if not model.terminated[s, a]:
                target += gamma * max_value(q[model.next_state[s, a]])
                max_q[0] += 1
            return target

        return sample
    if _model_class(model) is DistributionModel:
        def expected(model, q, s, a, gamma, max_q):  # type: ignore[no-untyped-def]
            for k in range(model.n_outcomes[s, a]):
                if not model.terminated[s, a, k]:
                    max_q[0] += 1
            return expected_target(model, q, s, a, gamma)

        return expected
    return None


@overload(_update)
def _update_impl(model, q, s, a, target, alpha):  # type: ignore[no-untyped-def]
    if _model_class(model) is SampleModel:
        def step(model, q, s, a, target, alpha):  # type: ignore[no-untyped-def]
            q[s, a] += alpha * (target - q[s, a])  # the signed TD error, as in the boxed algorithm

        return step
    if _model_class(model) is DistributionModel:
        def full(model, q, s, a, target, alpha):  # type: ignore[no-untyped-def]
            q[s, a] = target  # eq. 8.1: an expected update leaves no residual

        return full
    return None


@overload(_pred_pair)
def _pred_pair_impl(model, node):  # type: ignore[no-untyped-def]
    if _model_class(model) is SampleModel:
        return lambda model, node: node  # one node per pair
    if _model_class(model) is DistributionModel:
        return lambda model, node: node // model.next_state.shape[2]  # one node per (pair, outcome)
    return None


@njit(cache=True, inline="always")
def sweep(
    q: np.ndarray, model: Any, queue: PairQueue, n_updates: int, alpha: float, gamma: float, theta: float,
    max_q: np.ndarray, probe: Any = None,
) -> int:
    """Step (g) of the boxed algorithm, for either model: at most ``n_updates`` updates from the
    queue, each followed by the predecessors' priorities; returns how many updates were made.

    Pop the pair of highest priority, move its value to its target, then for every pair the
    model predicts leads to its state, queue it if its priority ``|target - Q|`` exceeds
    ``theta``. Every max over a row of Q (in targets and priorities) is added to ``max_q[0]``.
    ``probe`` (optional, ``planning.probe``): records each pair updated, in order (the explorer
    draws them); ``None`` compiles to nothing.
    """
    n_actions = q.shape[1]
    done = 0
    while done < n_updates and queue.size[0] > 0:
        pair, _ = pq_pop(queue)
        s = pair // n_actions
        a = pair - s * n_actions
        _update(model, q, s, a, _target(model, q, s, a, gamma, max_q), alpha)
        probe_record(probe, pair)
        done += 1
        node = model.pred_head[s]
        while node >= 0:
            pred = _pred_pair(model, node)
            ps_ = pred // n_actions
            pa = pred - ps_ * n_actions
            p = abs(_target(model, q, ps_, pa, gamma, max_q) - q[ps_, pa])
            if p > theta:
                pq_push(queue, pred, p)
            node = model.pred_next[node]
    return done


@njit(cache=True, inline="always")
def queue_real_pair(q: np.ndarray, model: Any, queue: PairQueue, s: int, a: int, gamma: float, theta: float,
                    max_q: np.ndarray) -> None:
    """Steps (e)-(f): queue the real pair ``(s, a)`` if its priority exceeds ``theta``."""
    p = abs(_target(model, q, s, a, gamma, max_q) - q[s, a])
    if p > theta:
        pq_push(queue, s * q.shape[1] + a, p)


@njit(cache=True)
def ps_sweep(
    q: np.ndarray, model: SampleModel, queue: PairQueue, n_updates: int, alpha: float, gamma: float, theta: float,
    max_q: np.ndarray,
) -> int:
    """``sweep`` over a sample model (sample updates with step ``alpha``)."""
    return sweep(q, model, queue, n_updates, alpha, gamma, theta, max_q)


@njit(cache=True)
def stochastic_ps_sweep(
    q: np.ndarray, model: DistributionModel, queue: PairQueue, n_updates: int, gamma: float, theta: float,
    max_q: np.ndarray,
) -> int:
    """``sweep`` over a distribution model (expected updates, no step size)."""
    return sweep(q, model, queue, n_updates, 1.0, gamma, theta, max_q)


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
    queue_real_pair(agent.q, agent.model, agent.queue, s, a, agent.gamma, agent.theta, agent.max_q)
    agent.updates[0] += sweep(
        agent.q, agent.model, agent.queue, agent.planning_steps, agent.alpha, agent.gamma, agent.theta, agent.max_q,
        agent.probe,
    )


register_kernels(PrioritizedSweepingState, act=ps_act, observe=ps_observe)


@njit(cache=True)
def stochastic_ps_act(agent: StochasticPSState, s: int, rng: np.ndarray) -> int:
    return epsilon_greedy(agent.q[s], agent.epsilon, rng)


@njit(cache=True)
def stochastic_ps_observe(
    agent: StochasticPSState, s: int, a: int, r: float, s2: int, terminated: bool, truncated: bool, rng: np.ndarray
) -> None:
    distribution_model_update(agent.model, s, a, r, s2, terminated)
    agent.t[0] += 1
    queue_real_pair(agent.q, agent.model, agent.queue, s, a, agent.gamma, agent.theta, agent.max_q)
    agent.updates[0] += sweep(
        agent.q, agent.model, agent.queue, agent.planning_steps, 1.0, agent.gamma, agent.theta, agent.max_q
    )


register_kernels(StochasticPSState, act=stochastic_ps_act, observe=stochastic_ps_observe)
