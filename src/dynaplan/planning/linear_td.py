"""Model-free linear agents: Q-learning, semi-gradient Sarsa, Sarsa(lambda), TD(0), LSTD.

Action values are linear in state features with one weight vector per action:
``q(s, a) = sum_j w[idx_j, a] * val_j`` (book section 10.1 with state-action features
``x(s, a)`` = the state's features in the block of action ``a``; tile coding with the action
as an extra integer, as the book's code does, gives the same features). ``w: float64[d, A]``,
so on one-hot features ``w`` is the Q table itself.

Sarsa's next action is chosen inside ``observe`` (it is needed for the target) and kept in
``pending``; the next ``act`` returns it, so the behaviour is the book's (section 10.1, the box
"Episodic Semi-gradient Sarsa") with the act / observe protocol.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from dynaplan._jit import kernel
from dynaplan.core.egreedy import epsilon_greedy, max_value
from dynaplan.core.encoding import raise_bound
from dynaplan.core.linear_kernels import register_linear_kernels
from dynaplan.rng import randint


@kernel(inline=True)
def q_values(w: np.ndarray, idx: np.ndarray, val: np.ndarray, out: np.ndarray) -> None:
    """``out[a] = sum_j w[idx_j, a] val_j`` for every action."""
    for a in range(out.shape[0]):
        out[a] = 0.0
    for j in range(idx.shape[0]):
        i = idx[j]
        v = val[j]
        for a in range(out.shape[0]):
            out[a] += w[i, a] * v


@kernel(inline=True)
def q_value(w: np.ndarray, idx: np.ndarray, val: np.ndarray, a: int) -> float:
    total = 0.0
    for j in range(idx.shape[0]):
        total += w[idx[j], a] * val[j]
    return total


@kernel(inline=True)
def dot(theta: np.ndarray, idx: np.ndarray, val: np.ndarray) -> float:
    """``theta^T phi`` for a sparse ``phi``."""
    total = 0.0
    for j in range(idx.shape[0]):
        total += theta[idx[j]] * val[j]
    return total


@kernel(inline=True)
def semi_gradient_q(w: np.ndarray, idx: np.ndarray, val: np.ndarray, a: int, alpha: float, delta: float) -> None:
    """``w[:, a] += alpha delta phi`` for a sparse ``phi``: the semi-gradient step of eq. 10.1."""
    for j in range(idx.shape[0]):
        w[idx[j], a] += alpha * delta * val[j]


@kernel(inline=True)
def td_update(theta: np.ndarray, idx: np.ndarray, val: np.ndarray, r: float,
              idx2: np.ndarray, val2: np.ndarray, terminated: bool, alpha: float, gamma: float) -> float:
    """Semi-gradient TD(0) (eq. 9.7): ``theta += alpha delta phi`` with
    ``delta = r + gamma theta^T phi' - theta^T phi`` (``phi' = 0`` when ``terminated``); returns delta."""
    target = r
    if not terminated:
        target += gamma * dot(theta, idx2, val2)
    delta = target - dot(theta, idx, val)
    for j in range(idx.shape[0]):
        theta[idx[j]] += alpha * delta * val[j]
    return delta


class LinearQState(NamedTuple):
    """Linear Q-learning (section 6.5 with eq. 10.1's semi-gradient update) and semi-gradient Sarsa.

    Attributes:
      w: float64[d, A], weights; q(s, a) = sum_j w[idx_j, a] val_j
      qbuf: float64[A], scratch
      pending: int64[1], Sarsa's next action (-1: none)
      alpha, gamma, epsilon: step size (per weight), discount, exploration rate
    """

    w: np.ndarray
    qbuf: np.ndarray
    pending: np.ndarray
    alpha: float
    gamma: float
    epsilon: float


class LinearSarsaState(NamedTuple):
    """Episodic semi-gradient Sarsa (section 10.1). Same fields as ``LinearQState``."""

    w: np.ndarray
    qbuf: np.ndarray
    pending: np.ndarray
    alpha: float
    gamma: float
    epsilon: float


class SarsaLambdaState(NamedTuple):
    """Sarsa(lambda) with replacing traces (section 12.7, box "Sarsa(lambda) with binary features").

    Attributes:
      w, qbuf, pending, alpha, gamma, epsilon: as ``LinearSarsaState``
      z: float64[d, A], eligibility traces (replacing: an active feature's trace is set to its value)
      hi: int64[1], one past the largest feature index seen (traces beyond it are 0)
      lam: the trace-decay rate lambda
    """

    w: np.ndarray
    qbuf: np.ndarray
    pending: np.ndarray
    z: np.ndarray
    hi: np.ndarray
    alpha: float
    gamma: float
    epsilon: float
    lam: float


@kernel(inline=True)
def _egreedy_act(agent: LinearQState, idx: np.ndarray, val: np.ndarray, rng: np.ndarray) -> int:
    p = agent.pending[0]
    if p >= 0:
        agent.pending[0] = -1
        return p
    q_values(agent.w, idx, val, agent.qbuf)
    return epsilon_greedy(agent.qbuf, agent.epsilon, rng)


@kernel(inline=True)
def sarsa_next_action(
    agent: LinearSarsaState, idx2: np.ndarray, val2: np.ndarray, terminated: bool, truncated: bool, rng: np.ndarray
) -> int:
    """Sarsa's next action ``a'``, epsilon-greedy on ``q(s', .)`` (left in ``agent.qbuf``), kept in
    ``agent.pending`` as the next ``act`` unless the episode ends; -1 (no draw) when ``terminated``."""
    if terminated:
        agent.pending[0] = -1
        return -1
    q_values(agent.w, idx2, val2, agent.qbuf)
    a2 = epsilon_greedy(agent.qbuf, agent.epsilon, rng)
    agent.pending[0] = -1 if truncated else a2
    return a2


@kernel
def linear_q_observe(
    agent: LinearQState, idx: np.ndarray, val: np.ndarray, a: int, r: float,
    idx2: np.ndarray, val2: np.ndarray, terminated: bool, truncated: bool, rng: np.ndarray,
) -> None:
    """w += alpha [r + gamma max_a' q(s', a') - q(s, a)] x(s, a)  (eq. 6.8, semi-gradient)."""
    target = r
    if not terminated:
        q_values(agent.w, idx2, val2, agent.qbuf)
        target += agent.gamma * max_value(agent.qbuf)
    semi_gradient_q(agent.w, idx, val, a, agent.alpha, target - q_value(agent.w, idx, val, a))


@kernel
def linear_sarsa_observe(
    agent: LinearSarsaState, idx: np.ndarray, val: np.ndarray, a: int, r: float,
    idx2: np.ndarray, val2: np.ndarray, terminated: bool, truncated: bool, rng: np.ndarray,
) -> None:
    """w += alpha [r + gamma q(s', a') - q(s, a)] x(s, a), a' epsilon-greedy in s' (eq. 10.1)."""
    target = r
    a2 = sarsa_next_action(agent, idx2, val2, terminated, truncated, rng)
    if a2 >= 0:
        target += agent.gamma * agent.qbuf[a2]
    semi_gradient_q(agent.w, idx, val, a, agent.alpha, target - q_value(agent.w, idx, val, a))


@kernel
def sarsa_lambda_observe(
    agent: SarsaLambdaState, idx: np.ndarray, val: np.ndarray, a: int, r: float,
    idx2: np.ndarray, val2: np.ndarray, terminated: bool, truncated: bool, rng: np.ndarray,
) -> None:
    w, z = agent.w, agent.z
    n_actions = w.shape[1]
    delta = r - q_value(w, idx, val, a)
    for j in range(idx.shape[0]):
        z[idx[j], a] = val[j]
    hi = raise_bound(agent.hi, idx, idx2)
    a2 = sarsa_next_action(agent, idx2, val2, terminated, truncated, rng)
    if a2 >= 0:
        delta += agent.gamma * agent.qbuf[a2]
    step = agent.alpha * delta
    decay = agent.gamma * agent.lam
    end = terminated or truncated
    for i in range(hi):
        for b in range(n_actions):
            zi = z[i, b]
            if zi != 0.0:
                w[i, b] += step * zi
                z[i, b] = 0.0 if end else zi * decay


register_linear_kernels(LinearQState, act=_egreedy_act, observe=linear_q_observe)
register_linear_kernels(LinearSarsaState, act=_egreedy_act, observe=linear_sarsa_observe)
register_linear_kernels(SarsaLambdaState, act=_egreedy_act, observe=sarsa_lambda_observe)


class TDState(NamedTuple):
    """Linear TD(0) policy evaluation (section 9.3, semi-gradient TD(0)) of the uniform random policy.

    Attributes:
      theta: float64[d], v(s) = theta^T phi(s)
      n_actions: actions of the world (the policy draws uniformly; no draw when there is one)
      alpha, gamma: step size, discount
    """

    theta: np.ndarray
    n_actions: int
    alpha: float
    gamma: float


class LSTDState(NamedTuple):
    """LSTD(0) statistics (Bradtke & Barto 1996; Boyan 2002): ``theta = A^-1 b``.

    Attributes:
      a_mat: float64[d, d], ``eps I + sum phi (phi - gamma phi')^T`` (phi' = 0 at the end)
      b: float64[d], ``sum r phi``
      n_actions, gamma: as ``TDState``
    """

    a_mat: np.ndarray
    b: np.ndarray
    n_actions: int
    gamma: float


@kernel(inline=True)
def policy_act(agent: TDState, idx: np.ndarray, val: np.ndarray, rng: np.ndarray) -> int:
    if agent.n_actions == 1:
        return 0
    return randint(rng, agent.n_actions)


@kernel
def td_observe(
    agent: TDState, idx: np.ndarray, val: np.ndarray, a: int, r: float,
    idx2: np.ndarray, val2: np.ndarray, terminated: bool, truncated: bool, rng: np.ndarray,
) -> None:
    """theta += alpha [r + gamma theta^T phi' - theta^T phi] phi  (eq. 9.7 with TD(0) target)."""
    td_update(agent.theta, idx, val, r, idx2, val2, terminated, agent.alpha, agent.gamma)


@kernel
def lstd_observe(
    agent: LSTDState, idx: np.ndarray, val: np.ndarray, a: int, r: float,
    idx2: np.ndarray, val2: np.ndarray, terminated: bool, truncated: bool, rng: np.ndarray,
) -> None:
    for j in range(idx.shape[0]):
        i = idx[j]
        v = val[j]
        agent.b[i] += r * v
        for k in range(idx.shape[0]):
            agent.a_mat[i, idx[k]] += v * val[k]
        if not terminated:
            for k in range(idx2.shape[0]):
                agent.a_mat[i, idx2[k]] -= agent.gamma * v * val2[k]


register_linear_kernels(TDState, act=policy_act, observe=td_observe)
register_linear_kernels(LSTDState, act=policy_act, observe=lstd_observe)
