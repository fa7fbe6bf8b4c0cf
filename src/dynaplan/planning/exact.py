"""Exact solvers, written once: the expected backup, greedy and optimal-action masks,
reachability and policy evaluation (book chapter 4).

Every exact computation in the package is built from these: value iteration
(``planning.value_iteration``), RTDP and its DP baseline (``planning.rtdp``), trajectory
sampling's exact start values (``planning.trajectory_sampling``) and the ground truth of
decision-time search (:func:`finite_horizon_q`).

* The expected one-step backup is the model protocol's ``model_backup`` (``models.protocol``):

      q(s, a) = sum_k p_k [r_k + gamma v(s'_k)]       (eq. 4.6; no future value after termination)

  :func:`q_row` applies it to every action of a state, :func:`bellman_sweep` sweeps it over a
  list of states (eq. 4.10), :func:`q_from_v` over all pairs.
* Masks: :func:`greedy_actions` (every action within a tolerance of its row's best),
  :func:`greedy_policy` (the first of them), :func:`greedy_ties` (uniform over exact ties).
* Reachability: :func:`reachable_under` (breadth first from the start distribution, following
  the actions a policy gives positive probability; an ending outcome leads nowhere).
* Policy evaluation: :func:`policy_system` builds the linear system of a policy, ``v = r_pi +
  gamma P_pi v`` (eq. 4.4) over a list of states, in sparse rows; :func:`policy_evaluation`
  solves it densely, :func:`evaluate_policy` by Jacobi sweeps with a guaranteed error bound,
  :func:`expected_steps` solves ``t = 1 + P_pi t`` sparsely.

Models here are exact ones in the ``TabularModel`` layout (``next_state``, ``prob``... as
``[S, A, K]``, a ``start: float64[S]`` distribution); the backups go through the model
protocol.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from dynaplan._jit import kernel
from dynaplan.envs.tabular import TabularModel
from dynaplan.models.protocol import model_backup


@kernel(inline=True)
def q_row(model: TabularModel, values: np.ndarray, s: int, gamma: float, out: np.ndarray) -> None:
    """``out[a] = model_backup(model, values, s, a, gamma)`` for every action (``out: float64[A]``)."""
    for a in range(model.prob.shape[1]):
        out[a] = model_backup(model, values, s, a, gamma)


@kernel(inline=True)
def bellman_max(model: TabularModel, v: np.ndarray, s: int, gamma: float) -> float:
    """max_a sum_k p_k [r_k + gamma v(s'_k)] (eq. 4.10)."""
    best = -np.inf
    for a in range(model.prob.shape[1]):
        val = model_backup(model, v, s, a, gamma)
        if val > best:
            best = val
    return best


@njit(cache=True)
def bellman_sweep(model: TabularModel, states: np.ndarray, v: np.ndarray, out: np.ndarray, gamma: float) -> float:
    """One value-iteration sweep over ``states`` (in that order) into ``out: float64[S]``.

    ``out`` is ``v`` for an in-place (Gauss-Seidel) sweep, another array for a Jacobi one.
    Returns the largest change ``|out[s] - v[s]|``.
    """
    delta = 0.0
    for i in range(states.shape[0]):
        s = states[i]
        best = bellman_max(model, v, s, gamma)
        delta = max(delta, abs(best - v[s]))
        out[s] = best
    return delta


@njit(cache=True)
def q_from_v(model: TabularModel, v: np.ndarray, gamma: float) -> np.ndarray:
    """q(s,a) = sum_{s',r} p(s',r|s,a) [r + gamma v(s')] (eq. 4.6), v(s') = 0 after termination."""
    n_states, n_actions = model.next_state.shape[0], model.next_state.shape[1]
    q = np.zeros((n_states, n_actions))
    for s in range(n_states):
        q_row(model, v, s, gamma, q[s])
    return q


def greedy_actions(q: np.ndarray, tie_tol: float = 1e-9) -> np.ndarray:
    """bool[S, A]: the actions whose value is within ``tie_tol`` of the best in their state.

    Value iteration stops at a tolerance, so two optimal actions rarely have bit-equal values;
    the mask treats values closer than ``tie_tol`` as ties (``tie_tol = 0``: exact ties only).
    """
    q = np.asarray(q)
    return np.asarray(q >= q.max(axis=1, keepdims=True) - tie_tol)


def optimal_actions(q_row: np.ndarray, tol: float = 1e-9) -> np.ndarray:
    """Indices of the actions within ``tol`` of the best value in ``q_row``: int64[m]."""
    return np.flatnonzero(greedy_actions(np.asarray(q_row)[None, :], tol)[0]).astype(np.int64)


@njit(cache=True)
def greedy_policy(q: np.ndarray) -> np.ndarray:
    """The greedy policy of ``q: float64[S, A]`` as ``int64[S]`` (first maximum on ties)."""
    n_states, n_actions = q.shape
    policy = np.zeros(n_states, dtype=np.int64)
    for s in range(n_states):
        best = q[s, 0]
        for a in range(1, n_actions):
            if q[s, a] > best:
                best = q[s, a]
                policy[s] = a
    return policy


def greedy_from_v(model: TabularModel, v: np.ndarray, gamma: float) -> np.ndarray:
    """int64[S]: for each state the first action maximizing the one-step lookahead on ``v``."""
    return np.asarray(greedy_policy(q_from_v(model, v, gamma)))


def greedy_ties(model: TabularModel, v: np.ndarray, gamma: float) -> np.ndarray:
    """float64[S, A]: the greedy policy of ``v`` with ties broken uniformly at random: equal
    probability on every action whose one-step lookahead equals the maximum exactly."""
    mask = greedy_actions(q_from_v(model, v, gamma), 0.0)
    return np.asarray(mask / mask.sum(axis=1, keepdims=True))


def policy_matrix(policy: np.ndarray, n_actions: int) -> np.ndarray:
    """float64[S, A] action probabilities of a policy given as ``int64[S]`` or ``float64[S, A]``."""
    policy = np.asarray(policy)
    if policy.ndim == 2:
        return np.asarray(policy, dtype=np.float64)
    pi = np.zeros((policy.shape[0], n_actions))
    pi[np.arange(policy.shape[0]), policy.astype(np.int64)] = 1.0
    return pi


@njit(cache=True)
def one_hot(policy: np.ndarray, n_actions: int) -> np.ndarray:
    """``policy_matrix`` of a deterministic policy, from compiled code."""
    pi = np.zeros((policy.shape[0], n_actions))
    for s in range(policy.shape[0]):
        pi[s, policy[s]] = 1.0
    return pi


@njit(cache=True)
def reachable_under(model: TabularModel, pi: np.ndarray) -> np.ndarray:
    """States reachable from the start distribution taking the actions with ``pi[s, a] > 0``
    (``pi: float64[S, A]``): int64[n], breadth-first order. Ending outcomes lead nowhere."""
    n_states = model.next_state.shape[0]
    seen = np.zeros(n_states, dtype=np.bool_)
    order = np.empty(n_states, dtype=np.int64)
    n = 0
    for s in range(n_states):
        if model.start[s] > 0.0:
            seen[s] = True
            order[n] = s
            n += 1
    head = 0
    while head < n:
        s = order[head]
        head += 1
        for a in range(model.prob.shape[1]):
            if pi[s, a] <= 0.0:
                continue
            for k in range(model.prob.shape[2]):
                if model.prob[s, a, k] > 0.0 and not model.terminated[s, a, k]:
                    s2 = model.next_state[s, a, k]
                    if not seen[s2]:
                        seen[s2] = True
                        order[n] = s2
                        n += 1
    return order[:n]


def reachable_states(model: TabularModel) -> np.ndarray:
    """States reachable from the start distribution under some policy (int64[n], BFS order)."""
    return np.asarray(reachable_under(model, np.ones((model.n_states, model.n_actions))))


def relevant_states(model: TabularModel, v_star: np.ndarray, gamma: float, slack: float) -> np.ndarray:
    """States reachable from the starts when following *some* optimal action (int64[n]).

    An action is optimal in s if its lookahead on ``v_star`` is within ``slack`` of the best.
    """
    mask = greedy_actions(q_from_v(model, v_star, gamma), slack)
    return np.asarray(reachable_under(model, mask.astype(np.float64)))


@njit(cache=True)
def policy_system(
    model: TabularModel, pi: np.ndarray, states: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The one-step system of policy ``pi: float64[S, A]`` over ``states: int64[n]`` (eq. 4.4).

    Returns ``(local, r_pi, offs, cols, probs, ends)``: ``local: int64[S]`` the row of each state
    (-1 if not in ``states``); ``r_pi: float64[n]`` the expected reward; the continuing outcomes
    as sparse rows, row ``i`` holding ``cols[offs[i]:offs[i+1]]`` (local indices) with
    probabilities ``pi(a|s) p_k`` in ``probs``, in the order (action, slot); ``ends: bool[n]``,
    some outcome ends the episode. Every continuing next state must be in ``states`` (e.g. the
    states ``reachable_under`` the policy, or all of them).
    """
    n_states, n_actions, n_out = model.prob.shape
    n = states.shape[0]
    local = np.full(n_states, -1, dtype=np.int64)
    for i in range(n):
        local[states[i]] = i
    r_pi = np.zeros(n)
    offs = np.zeros(n + 1, dtype=np.int64)
    cols = np.empty(n * n_actions * n_out, dtype=np.int64)
    probs = np.empty(n * n_actions * n_out)
    ends = np.zeros(n, dtype=np.bool_)
    m = 0
    for i in range(n):
        s = states[i]
        for a in range(n_actions):
            w = pi[s, a]
            if w <= 0.0:
                continue
            for k in range(n_out):
                p = w * model.prob[s, a, k]
                if p > 0.0:
                    r_pi[i] += p * model.reward[s, a, k]
                    if model.terminated[s, a, k]:
                        ends[i] = True
                    else:
                        cols[m] = local[model.next_state[s, a, k]]
                        probs[m] = p
                        m += 1
        offs[i + 1] = m
    return local, r_pi, offs, cols[:m], probs[:m], ends


def policy_evaluation(model: TabularModel, policy: np.ndarray, gamma: float) -> np.ndarray:
    """Exact v_pi of every state by solving (I - gamma P_pi) v = r_pi densely (eq. 4.4).

    ``policy`` is int64[S] (deterministic) or float64[S, A] (stochastic). With ``gamma = 1`` the
    system is singular unless every state reaches a terminal outcome under the policy (then
    numpy raises ``LinAlgError``).
    """
    n = model.n_states
    _, r_pi, offs, cols, probs, _ = policy_system(
        model, policy_matrix(policy, model.n_actions), np.arange(n, dtype=np.int64)
    )
    p_pi = np.zeros((n, n))
    rows = np.repeat(np.arange(n), np.diff(offs))
    np.add.at(p_pi, (rows, cols), probs)
    return np.asarray(np.linalg.solve(np.eye(n) - gamma * p_pi, r_pi))


@njit(cache=True)
def evaluate_policy(
    model: TabularModel, policy: np.ndarray, gamma: float, v: np.ndarray, tol: float = 1e-10, max_sweeps: int = 100_000
) -> float:
    """Exact v_pi of a deterministic policy on the states it reaches; returns the start value.

    Solves ``v = r_pi + M v`` with ``M = gamma P_pi`` over continuing outcomes (eq. 4.4) by
    Jacobi sweeps over the states reachable from the start distribution, starting from
    ``v: float64[S]`` (updated in place: a warm start from the previous policy's values). The
    stop is a guaranteed error bound. With ``D = v_{k+1} - v_k`` and every row of M summing to
    the same ``c < 1`` (the random tasks of section 8.6: c = 0.9), MacQueen's bounds give
    ``v_{k+1} + c/(1-c) min D <= v_pi <= v_{k+1} + c/(1-c) max D``: the midpoint is returned,
    within ``c/(1-c) (max D - min D) / 2`` of v_pi, and the sweeps stop when that is below ``tol``
    (the span of D shrinks at the rate of M's second eigenvalue, far faster than c). When row
    sums differ, the bound is ``c_max/(1-c_max) max|D|``; with ``c_max = 1`` (no contraction),
    the stop is at ``max|D| < tol``, without a guarantee. Values of states the policy cannot
    reach are left as they were.

    Returns ``sum_s start[s] v[s]``.
    """
    pi = one_hot(policy, model.prob.shape[1])
    states = reachable_under(model, pi)
    n = states.shape[0]
    _, r_pi, offs, cols, probs, _ = policy_system(model, pi, states)
    coef = np.empty(probs.shape[0])
    vv = np.empty(n)
    new = np.empty(n)
    c_lo = np.inf
    c_hi = 0.0
    for i in range(n):
        vv[i] = v[states[i]]
        cont = 0.0
        for j in range(offs[i], offs[i + 1]):
            coef[j] = gamma * probs[j]
            cont += coef[j]
        c_lo = min(c_lo, cont)
        c_hi = max(c_hi, cont)
    equal_sums = c_hi - c_lo <= 1e-12 and c_hi < 1.0
    for _ in range(max_sweeps):
        d_lo = np.inf
        d_hi = -np.inf
        for i in range(n):
            total = r_pi[i]
            for j in range(offs[i], offs[i + 1]):
                total += coef[j] * vv[cols[j]]
            new[i] = total
            d = total - vv[i]
            d_lo = min(d_lo, d)
            d_hi = max(d_hi, d)
        vv, new = new, vv
        if equal_sums:
            factor = c_hi / (1.0 - c_hi)
            if factor * (d_hi - d_lo) / 2.0 <= tol:
                shift = factor * (d_hi + d_lo) / 2.0
                for i in range(n):
                    vv[i] += shift
                break
        else:
            big = max(abs(d_lo), abs(d_hi))
            bound = big * c_hi / (1.0 - c_hi) if c_hi < 1.0 else big
            if bound <= tol:
                break
    for i in range(n):
        v[states[i]] = vv[i]
    value = 0.0
    for s in range(model.start.shape[0]):
        if model.start[s] > 0.0:
            value += model.start[s] * v[s]
    return value


@njit(cache=True)
def _can_end(offs: np.ndarray, cols: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """bool[n]: which rows reach a row of ``ends`` along the sparse rows' edges ``i -> cols[j]``."""
    n = ends.shape[0]
    m = cols.shape[0]
    rev = np.zeros(n + 1, dtype=np.int64)
    for j in range(m):
        rev[cols[j] + 1] += 1
    for i in range(n):
        rev[i + 1] += rev[i]
    fill = rev[:-1].copy()
    preds = np.empty(m, dtype=np.int64)
    for i in range(n):
        for j in range(offs[i], offs[i + 1]):
            preds[fill[cols[j]]] = i
            fill[cols[j]] += 1
    can = ends.copy()
    stack = np.empty(n, dtype=np.int64)
    top = 0
    for i in range(n):
        if can[i]:
            stack[top] = i
            top += 1
    while top > 0:
        top -= 1
        i = stack[top]
        for e in range(rev[i], rev[i + 1]):
            p = preds[e]
            if not can[p]:
                can[p] = True
                stack[top] = p
                top += 1
    return can


def expected_steps(model: TabularModel, policy: np.ndarray) -> np.ndarray:
    """Exact expected steps to the end of the episode under a policy: float64[S].

    ``policy`` is ``int64[S]`` (deterministic) or ``float64[S, A]`` (action probabilities, e.g.
    :func:`greedy_ties`). Solves ``t = 1 + P_pi t`` (non-terminal outcomes) over the states the
    policy reaches from the starts with a sparse LU (scipy); ``inf`` for every state of that
    set if some of them can never end the episode, NaN for states the policy does not reach.
    """
    import scipy.sparse as sp
    from scipy.sparse.linalg import spsolve

    pi = policy_matrix(policy, model.n_actions)
    states = reachable_under(model, pi)
    n = len(states)
    _, _, offs, cols, probs, ends = policy_system(model, pi, states)
    out = np.full(model.n_states, np.nan)
    if not _can_end(offs, cols, ends).all():
        out[states] = np.inf
        return out
    rows = np.repeat(np.arange(n), np.diff(offs))
    matrix = sp.identity(n, format="csc") - sp.csc_matrix((probs, (rows, cols)), shape=(n, n))
    out[states] = spsolve(matrix, np.ones(n))
    return out


def finite_horizon_q(
    model: TabularModel,
    horizon: int,
    gamma: float,
    leaf_values: np.ndarray | None = None,
    policy: np.ndarray | None = None,
) -> np.ndarray:
    """``q[h, s, a]`` for h = 0..horizon by backward induction: float64[H + 1, S, A].

    ``q_h(s, a) = sum_k p_k [r_k + gamma v_{h-1}(s'_k)]`` (the expected backup) and
    ``v_h = max_a q_h`` (optimal) or ``sum_a pi(a|s) q_h(s, a)`` (policy ``pi``): the values a
    depth-limited search backs up to its root (section 8.9), its ground truth. ``q[0]`` is
    ``leaf_values`` broadcast over actions (``v_0``, zeros by default: the return stops counting
    after H steps). ``policy`` (float64[S, A], rows summing to 1) makes it the finite-horizon
    action value of that policy (the exact counterpart of rollout planning with it, section
    8.10) instead of the optimal one.
    """
    if horizon < 0:
        raise ValueError(f"horizon must be a non-negative integer, got {horizon!r}")
    n_states, n_actions = model.n_states, model.n_actions
    v = np.zeros(n_states) if leaf_values is None else np.asarray(leaf_values, dtype=np.float64).copy()
    q = np.zeros((horizon + 1, n_states, n_actions))
    q[0] = v[:, None]
    for h in range(1, horizon + 1):
        q[h] = q_from_v(model, v, gamma)
        v = q[h].max(axis=1) if policy is None else (policy * q[h]).sum(axis=1)
    return q
