"""Linear Dyna and linear prioritized sweeping (Sutton, Szepesvari, Geramifard & Bowling 2008).

The value function is linear in the state's features, ``v(s) = theta^T phi(s)``; the model is
``models.linear.LinearModel`` (per action, ``phi' ~ F_a phi``, ``r ~ b_a^T phi``), learned
from real transitions. Planning makes TD(0) updates on *simulated* transitions from feature
vectors instead of real ones:

* **policy evaluation** (the paper's Algorithm 1): one model for the policy being evaluated;
  from a feature vector ``phi`` the update is
  ``theta += alpha (b^T phi + gamma theta^T F phi - theta^T phi) phi``;
* **control**, linear Dyna-Q (section 4): a model per action, the backup takes the best action,
  ``theta += alpha (max_a [b_a^T phi + gamma theta^T F_a phi] - theta^T phi) phi``, and the
  agent acts epsilon-greedily on the same one-step lookahead ``b_a^T phi + gamma theta^T F_a phi``;
* **prioritized sweeping** (Algorithms 2-3): planning backs up single features (``phi = e_i``)
  taken from a queue of feature indices ordered by how much their backup would change
  ``theta``. A real TD error ``delta`` queues each active feature ``i`` with priority
  ``|delta phi_i|``; after feature ``i`` changes by ``alpha delta``, every feature ``j`` whose
  model predicts ``i`` (``F_a[i, j] != 0``) is queued with priority ``max_a |F_a[i, j] delta|``.
  This is the book's tabular ordering (section 8.4: back up the popped item, queue its
  predecessors), one backup per pop; the paper's algorithms, as we read them, back up every
  predecessor ``j`` of the popped feature and queue each with its own ``|delta_j|``, many
  backups per pop. That variant is not implemented here.

The single-feature backups are asynchronous value iteration on ``theta <- max_a (b_a + gamma
F_a^T theta)``: a max-norm contraction when ``gamma sum_j |F_a[j, i]| < 1`` for every feature
``i``, which an LMS model need not satisfy (on tile-coded Mountain Car its columns' absolute
sums reach 2-5 and its spectral radius passes 1); ``model="substochastic"`` keeps every column
nonnegative with sum <= 1, a non-expansion for gamma = 1 (``models.linear``).

Every agent also makes the direct TD(0) update from the real transition (as the paper's
algorithms do). Planning sources (``sources``): 0 = feature vectors of real visits, uniformly
from a buffer of the last ``capacity``; 1 = the most recent one; 2 = unit vectors ``e_i`` of
features seen so far, uniformly.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from dynaplan._jit import kernel
from dynaplan.core.egreedy import epsilon_greedy
from dynaplan.core.linear_kernels import register_linear_kernels
from dynaplan.models.linear import LinearModel, model_update, predicted_value, predicted_value_basis
from dynaplan.planning.linear_td import dot, policy_act, td_update
from dynaplan.planning.pqueue import PairQueue, pq_pop, pq_push
from dynaplan.rng import randint

SOURCES = {"visited": 0, "recent": 1, "basis": 2}


class LinearDynaState(NamedTuple):
    """Linear Dyna for policy evaluation (Algorithm 1) of the uniform random policy.

    Attributes:
      theta: float64[d]
      model: LinearModel with one "action" (the policy's model)
      src_idx: int64[N, k], src_val: float64[N, k], ring buffer of real feature vectors
      src_count: int64[2], (stored, next slot)
      one_idx: int64[1], one_val: float64[1], scratch for a unit vector
      updates: int64[1], value updates made (direct + planning)
      n_actions, planning_steps, sources, alpha, gamma
    """

    theta: np.ndarray
    model: LinearModel
    src_idx: np.ndarray
    src_val: np.ndarray
    src_count: np.ndarray
    one_idx: np.ndarray
    one_val: np.ndarray
    updates: np.ndarray
    n_actions: int
    planning_steps: int
    sources: int
    alpha: float
    gamma: float


class LinearDynaQState(NamedTuple):
    """Linear Dyna-Q (control, section 4). Fields as ``LinearDynaState`` plus
    ``qbuf: float64[A]`` and ``epsilon``; ``model`` has one ``F_a, b_a`` per action."""

    theta: np.ndarray
    model: LinearModel
    src_idx: np.ndarray
    src_val: np.ndarray
    src_count: np.ndarray
    one_idx: np.ndarray
    one_val: np.ndarray
    updates: np.ndarray
    qbuf: np.ndarray
    n_actions: int
    planning_steps: int
    sources: int
    alpha: float
    gamma: float
    epsilon: float


class LinearPSState(NamedTuple):
    """Linear prioritized sweeping (Algorithms 2-3): ``control`` False = policy evaluation.

    Attributes:
      theta, model, updates, qbuf, n_actions, planning_steps, alpha, gamma, epsilon: as above
      queue: PairQueue over feature indices 0..d-1
      threshold: smallest priority queued
      control: True = max over actions (Algorithm 3), False = the policy's model (Algorithm 2)
    """

    theta: np.ndarray
    model: LinearModel
    queue: PairQueue
    updates: np.ndarray
    qbuf: np.ndarray
    n_actions: int
    planning_steps: int
    alpha: float
    gamma: float
    epsilon: float
    threshold: float
    control: bool


@kernel(inline=True)
def _store(src_idx: np.ndarray, src_val: np.ndarray, src_count: np.ndarray, idx: np.ndarray, val: np.ndarray) -> None:
    slot = src_count[1]
    for j in range(idx.shape[0]):
        src_idx[slot, j] = idx[j]
        src_val[slot, j] = val[j]
    src_count[1] = (slot + 1) % src_idx.shape[0]
    if src_count[0] < src_idx.shape[0]:
        src_count[0] += 1


@kernel(inline=True)
def _backup(m: LinearModel, theta: np.ndarray, idx: np.ndarray, val: np.ndarray, n_model: int, gamma: float) -> float:
    best = predicted_value(m, 0, theta, idx, val, gamma)
    for b in range(1, n_model):
        v = predicted_value(m, b, theta, idx, val, gamma)
        if v > best:
            best = v
    return best


@kernel(inline=True)
def _dyna_step(
    agent: LinearDynaState, model_action: int, n_model: int, idx: np.ndarray, val: np.ndarray, r: float,
    idx2: np.ndarray, val2: np.ndarray, terminated: bool, rng: np.ndarray,
) -> None:
    """One real step of linear Dyna (Algorithm 1): a TD(0) update, the model of ``model_action``
    learns the transition, ``phi`` joins the buffer of sources, then planning over ``n_model``
    model actions."""
    td_update(agent.theta, idx, val, r, idx2, val2, terminated, agent.alpha, agent.gamma)
    agent.updates[0] += 1
    model_update(agent.model, model_action, idx, val, r, idx2, val2, terminated)
    _store(agent.src_idx, agent.src_val, agent.src_count, idx, val)
    dyna_plan(agent, n_model, agent.planning_steps, rng)


@kernel
def linear_dyna_observe(
    agent: LinearDynaState, idx: np.ndarray, val: np.ndarray, a: int, r: float,
    idx2: np.ndarray, val2: np.ndarray, terminated: bool, truncated: bool, rng: np.ndarray,
) -> None:
    _dyna_step(agent, 0, 1, idx, val, r, idx2, val2, terminated, rng)


@kernel(inline=True)
def lookahead_act(agent: LinearDynaQState, idx: np.ndarray, val: np.ndarray, rng: np.ndarray) -> int:
    """Epsilon-greedy on ``b_a^T phi + gamma theta^T F_a phi`` (ties at random)."""
    for b in range(agent.n_actions):
        agent.qbuf[b] = predicted_value(agent.model, b, agent.theta, idx, val, agent.gamma)
    return epsilon_greedy(agent.qbuf, agent.epsilon, rng)


@kernel
def linear_dyna_q_observe(
    agent: LinearDynaQState, idx: np.ndarray, val: np.ndarray, a: int, r: float,
    idx2: np.ndarray, val2: np.ndarray, terminated: bool, truncated: bool, rng: np.ndarray,
) -> None:
    _dyna_step(agent, a, agent.n_actions, idx, val, r, idx2, val2, terminated, rng)


@kernel
def ps_plan(agent: LinearPSState, n_steps: int) -> None:
    """Up to ``n_steps`` backups of single features, highest priority first."""
    m = agent.model
    theta = agent.theta
    n_model = agent.n_actions if agent.control else 1
    ft = m.ft
    for _ in range(n_steps):
        if agent.queue.size[0] == 0:
            return
        i, _p = pq_pop(agent.queue)
        best = predicted_value_basis(m, 0, theta, i, agent.gamma)
        for b in range(1, n_model):
            v = predicted_value_basis(m, b, theta, i, agent.gamma)
            if v > best:
                best = v
        delta = best - theta[i]
        theta[i] += agent.alpha * delta
        agent.updates[0] += 1
        ad = abs(delta)
        for j in range(m.hi[0]):
            f = 0.0
            for b in range(n_model):
                x = abs(ft[b, j, i])
                if x > f:
                    f = x
            p = f * ad
            if p > agent.threshold:
                pq_push(agent.queue, j, p)


@kernel(inline=True)
def ps_act(agent: LinearPSState, idx: np.ndarray, val: np.ndarray, rng: np.ndarray) -> int:
    """Evaluation: the uniform random policy (``policy_act``); control: ``lookahead_act``."""
    if not agent.control:
        return policy_act(agent, idx, val, rng)
    return lookahead_act(agent, idx, val, rng)


@kernel
def linear_ps_observe(
    agent: LinearPSState, idx: np.ndarray, val: np.ndarray, a: int, r: float,
    idx2: np.ndarray, val2: np.ndarray, terminated: bool, truncated: bool, rng: np.ndarray,
) -> None:
    delta = td_update(agent.theta, idx, val, r, idx2, val2, terminated, agent.alpha, agent.gamma)
    agent.updates[0] += 1
    model_update(agent.model, a if agent.control else 0, idx, val, r, idx2, val2, terminated)
    for j in range(idx.shape[0]):
        p = abs(delta * val[j])
        if p > agent.threshold:
            pq_push(agent.queue, idx[j], p)
    ps_plan(agent, agent.planning_steps)


register_linear_kernels(LinearDynaState, act=policy_act, observe=linear_dyna_observe)
register_linear_kernels(LinearDynaQState, act=lookahead_act, observe=linear_dyna_q_observe)
register_linear_kernels(LinearPSState, act=ps_act, observe=linear_ps_observe)


@kernel
def dyna_plan(agent: LinearDynaQState, n_model: int, n_steps: int, rng: np.ndarray) -> None:
    """``n_steps`` planning updates without a real step (sources: the agent's own)."""
    for _ in range(n_steps):
        _plan_one(agent, n_model, rng)


@kernel(inline=True)
def _plan_one(agent: LinearDynaQState, n_model: int, rng: np.ndarray) -> None:
    theta = agent.theta
    m = agent.model
    if agent.sources == 2:
        if m.hi[0] == 0:
            return
        agent.one_idx[0] = randint(rng, m.hi[0])
        agent.one_val[0] = 1.0
        idx = agent.one_idx
        val = agent.one_val
    else:
        if agent.src_count[0] == 0:
            return
        slot = (agent.src_count[1] - 1) % agent.src_idx.shape[0] if agent.sources == 1 else randint(
            rng, agent.src_count[0]
        )
        idx = agent.src_idx[slot]
        val = agent.src_val[slot]
    delta = _backup(m, theta, idx, val, n_model, agent.gamma) - dot(theta, idx, val)
    for j in range(idx.shape[0]):
        theta[idx[j]] += agent.alpha * delta * val[j]
    agent.updates[0] += 1
