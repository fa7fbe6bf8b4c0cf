"""Certainty-equivalence planning: act on the exact solution of the learned model
(book sections 8.1 and 4.4; the "certainty-equivalence" approach of adaptive control, see
Kumar & Varaiya 1986 and the book's section 6.3 remark on batch TD).

The agent counts every real transition in a ``DistributionModel`` and, every ``solve_every`` (k)
real steps, solves the MDP that model estimates by value iteration (eq. 4.10),

    v(s) <- max_a sum_k p_hat_k(s, a) [rbar_k(s, a) + gamma v(s'_k)]     (no bootstrap if terminal),

until the largest change in a sweep is below ``tol``; then ``q(s, a)`` is the same backup of the
solved ``v`` (eq. 4.6) and the agent acts epsilon-greedily on it (ties at random). An untried
pair is worth 0 (as in ``models.distribution.to_tabular``: one outcome that ends the episode
with reward 0), so ``v`` and ``q`` equal ``value_iteration(agent.model)`` up to the tolerance.
It is the limit of infinite planning per real step: a reference row for every sample-based
planner on the same model.

Value iteration runs in place (Gauss-Seidel) over ``v`` and ``q`` held in the state, warm-started
from the previous solution (the fixed point does not depend on the start): no allocation inside
the kernel, unlike the package's exact solvers (``planning.value_iteration``), which allocate.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from dynaplan._jit import kernel
from dynaplan.core.egreedy import epsilon_greedy
from dynaplan.core.kernels import register_kernels
from dynaplan.models.distribution import DistributionModel, distribution_model_update


class CertaintyEquivalenceState(NamedTuple):
    """Certainty-equivalence agent.

    Attributes:
      q: float64[S, A], action values of the learned model at the last solve
      v: float64[S], its state values
      model: the learned ``DistributionModel``
      t: int64[1], real steps taken
      solves: int64[1], solves made
      sweeps: int64[1], value-iteration sweeps made (all solves)
      backups: int64[1], expected state-value backups made (S per sweep)
      gamma, epsilon: discount and exploration rate
      solve_every: real steps between solves (k)
      tol: a solve stops when the largest change in a sweep is below it
      max_sweeps: at most this many sweeps per solve
    """

    q: np.ndarray
    v: np.ndarray
    model: DistributionModel
    t: np.ndarray
    solves: np.ndarray
    sweeps: np.ndarray
    backups: np.ndarray
    gamma: float
    epsilon: float
    solve_every: int
    tol: float
    max_sweeps: int


@kernel(inline=True)
def expected_backup(model: DistributionModel, v: np.ndarray, s: int, a: int, gamma: float) -> float:
    """sum_k p_hat_k [rbar_k + gamma v(s'_k)] over the outcomes of (s, a); 0 if untried."""
    n = model.total[s, a]
    if n == 0:
        return 0.0
    acc = 0.0
    for k in range(model.n_outcomes[s, a]):
        x = model.reward_sum[s, a, k]
        if not model.terminated[s, a, k]:
            x += model.counts[s, a, k] * gamma * v[model.next_state[s, a, k]]
        acc += x
    return acc / n


@kernel
def ce_solve(agent: CertaintyEquivalenceState) -> int:
    """Solve the learned model in place (Gauss-Seidel value iteration, then q); returns the sweeps."""
    model, v, q = agent.model, agent.v, agent.q
    n_states, n_actions = q.shape[0], q.shape[1]
    sweeps = 0
    while sweeps < agent.max_sweeps:
        sweeps += 1
        delta = 0.0
        for s in range(n_states):
            best = expected_backup(model, v, s, 0, agent.gamma)
            for a in range(1, n_actions):
                x = expected_backup(model, v, s, a, agent.gamma)
                if x > best:
                    best = x
            d = abs(best - v[s])
            if d > delta:
                delta = d
            v[s] = best
        if delta < agent.tol:
            break
    for s in range(n_states):
        for a in range(n_actions):
            q[s, a] = expected_backup(model, v, s, a, agent.gamma)
    agent.solves[0] += 1
    agent.sweeps[0] += sweeps
    agent.backups[0] += sweeps * n_states
    return sweeps


@kernel(inline=True)
def ce_act(agent: CertaintyEquivalenceState, s: int, rng: np.ndarray) -> int:
    return epsilon_greedy(agent.q[s], agent.epsilon, rng)


@kernel(inline=True)
def ce_observe(
    agent: CertaintyEquivalenceState,
    s: int,
    a: int,
    r: float,
    s2: int,
    terminated: bool,
    truncated: bool,
    rng: np.ndarray,
) -> None:
    distribution_model_update(agent.model, s, a, r, s2, terminated)
    agent.t[0] += 1
    if agent.t[0] % agent.solve_every == 0:
        ce_solve(agent)


register_kernels(CertaintyEquivalenceState, act=ce_act, observe=ce_observe)
