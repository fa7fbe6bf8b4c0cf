"""Real-time dynamic programming (section 8.7) and the exact tools to judge it.

RTDP is asynchronous value iteration along trajectories: each episode starts in a state drawn
from the start distribution; in each state ``s`` it does the expected update

    V(s) <- max_a sum_{s', r} p(s', r | s, a) [r + gamma V(s')]                (eq. 4.10)

then takes a greedy action of the updated values (ties at random) and samples the next state
from the model, until an outcome ends the episode. With values that start optimistic (0 for
the racetrack's -1 per step), it converges to optimal values on the *relevant* states, those
an optimal policy can reach from the starts, and may never touch the others.

For comparison, :func:`gauss_seidel_vi` is the book's DP baseline, sweeps of in-place value
iteration over the states reachable from the starts until the largest change in a sweep is
below ``tol``; :func:`reachable_states`, :func:`relevant_states` and :func:`expected_steps`
(exact expected episode length of a greedy policy, by a sparse linear solve) give the table's
other entries.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from dynaplan._jit import kernel
from dynaplan.envs.tabular import TabularModel
from dynaplan.planning.egreedy import argmax_random
from dynaplan.rng import categorical, rand


class RTDPResult(NamedTuple):
    """What one RTDP run did.

    Attributes:
      v: float64[S], the final state values
      counts: int64[S], expected updates of each state
      episodes: episodes run (up to and including convergence)
      updates: total expected updates
      episode_steps: int64[episodes], steps of each episode
      converged: whether the stopping rule was met before ``max_episodes``
    """

    v: np.ndarray
    counts: np.ndarray
    episodes: int
    updates: int
    episode_steps: np.ndarray
    converged: bool


@kernel(inline=True)
def _q_row(model: TabularModel, v: np.ndarray, s: int, gamma: float, out: np.ndarray) -> None:
    for a in range(model.prob.shape[1]):
        total = 0.0
        for k in range(model.prob.shape[2]):
            p = model.prob[s, a, k]
            if p > 0.0:
                total += p * model.reward[s, a, k]
                if not model.terminated[s, a, k]:
                    total += p * gamma * v[model.next_state[s, a, k]]
        out[a] = total


@kernel
def _rtdp_episodes(
    model: TabularModel,
    v: np.ndarray,
    counts: np.ndarray,
    gamma: float,
    max_steps: int,
    tol: float,
    window: int,
    quiet: int,
    q: np.ndarray,
    steps_log: np.ndarray,
    rng: np.ndarray,
) -> tuple[int, int]:
    n_actions = q.shape[0]
    prob = model.prob
    n_out = prob.shape[2]
    episode = 0
    while episode < steps_log.shape[0] and quiet < window:
        s = categorical(model.start, rng)
        largest = 0.0
        steps = 0
        while steps < max_steps:
            _q_row(model, v, s, gamma, q)
            best = q[0]
            for a in range(1, n_actions):
                if q[a] > best:
                    best = q[a]
            largest = max(largest, abs(best - v[s]))
            v[s] = best
            counts[s] += 1
            a = argmax_random(q, rng)
            steps += 1
            u = rand(rng)
            total = 0.0
            k = 0
            for j in range(n_out):
                total += prob[s, a, j]
                if total > u:
                    k = j
                    break
            if model.terminated[s, a, k]:
                break
            s = model.next_state[s, a, k]
        steps_log[episode] = steps
        episode += 1
        quiet = quiet + 1 if largest < tol else 0
    return episode, quiet


@njit(cache=True)
def rtdp_kernel(
    model: TabularModel,
    v: np.ndarray,
    counts: np.ndarray,
    gamma: float,
    max_episodes: int,
    max_steps: int,
    tol: float,
    window: int,
    quiet: int,
    rng: np.ndarray,
) -> tuple[int, np.ndarray, int]:
    """Run RTDP episodes on ``v: float64[S]`` and ``counts: int64[S]`` in place.

    ``quiet`` counts the consecutive episodes so far in which no update changed a value by
    ``tol`` or more; the run stops when it reaches ``window`` or after ``max_episodes``
    episodes (so a run can be continued in chunks). An episode longer than ``max_steps`` is
    cut. Returns ``(episodes, episode_steps: int64[episodes], quiet)``. ``rng: uint64[4]``.
    """
    q = np.empty(model.prob.shape[1])
    steps_log = np.zeros(max_episodes, dtype=np.int64)
    episode, quiet = _rtdp_episodes(model, v, counts, gamma, max_steps, tol, window, quiet, q, steps_log, rng)
    return episode, steps_log[:episode], quiet


def _check_rtdp(tol: float, window: int, max_episodes: int, max_steps: int, gamma: float) -> None:
    if tol <= 0 or window < 1 or max_episodes < 1 or max_steps < 1:
        raise ValueError("tol must be > 0 and window, max_episodes, max_steps >= 1")
    if not 0.0 <= gamma <= 1.0:
        raise ValueError(f"gamma must be in [0, 1], got {gamma}")


def rtdp(
    model: TabularModel,
    rng: np.ndarray,
    gamma: float = 1.0,
    tol: float = 1e-4,
    window: int = 20,
    max_episodes: int = 1_000_000,
    max_steps: int = 100_000,
    v0: np.ndarray | None = None,
) -> RTDPResult:
    """Real-time DP from values ``v0`` (default 0) until ``window`` consecutive episodes change
    no value by ``tol`` or more (section 8.7). ``rng: uint64[4]``, e.g. ``agent_stream(seed)``."""
    _check_rtdp(tol, window, max_episodes, max_steps, gamma)
    v = np.zeros(model.n_states) if v0 is None else np.array(v0, dtype=np.float64)
    counts = np.zeros(model.n_states, dtype=np.int64)
    episodes, steps, quiet = rtdp_kernel(model, v, counts, gamma, max_episodes, max_steps, tol, window, 0, rng)
    return RTDPResult(v, counts, int(episodes), int(counts.sum()), steps, bool(quiet >= window))


class RTDPTrace(NamedTuple):
    """An RTDP run checked every ``check_every`` episodes (one entry per check).

    Attributes:
      result: the whole run (``RTDPResult``)
      episodes, updates: int64[C], totals at each check
      policy_steps: float64[C], exact expected steps from the starts (mean over the start
        distribution) of the greedy policy at each check, ties broken at random as RTDP acts
        (``greedy_ties``; ``inf`` if it can loop forever)
      le_100, le_10, never: float64[C], shares of ``states`` updated at most 100 times, at most
        10 times, never, at each check
    """

    result: RTDPResult
    episodes: np.ndarray
    updates: np.ndarray
    policy_steps: np.ndarray
    le_100: np.ndarray
    le_10: np.ndarray
    never: np.ndarray


def rtdp_trace(
    model: TabularModel,
    rng: np.ndarray,
    states: np.ndarray,
    check_every: int = 20,
    gamma: float = 1.0,
    tol: float = 1e-4,
    window: int = 20,
    max_episodes: int = 1_000_000,
    max_steps: int = 100_000,
) -> RTDPTrace:
    """RTDP as :func:`rtdp` (the same run for the same ``rng``), pausing every ``check_every``
    episodes to record the greedy policy's exact expected steps and the update-count shares
    over ``states`` (e.g. the states reachable from the starts)."""
    _check_rtdp(tol, window, max_episodes, max_steps, gamma)
    if check_every < 1:
        raise ValueError(f"check_every must be >= 1, got {check_every}")
    v = np.zeros(model.n_states)
    counts = np.zeros(model.n_states, dtype=np.int64)
    start_p = model.start[model.start > 0]
    quiet, done = 0, 0
    logs: list[np.ndarray] = []
    rows: list[tuple[int, int, float, float, float, float]] = []
    while quiet < window and done < max_episodes:
        n, steps, quiet = rtdp_kernel(
            model, v, counts, gamma, min(check_every, max_episodes - done), max_steps, tol, window, quiet, rng
        )
        done += int(n)
        logs.append(steps)
        t = expected_steps(model, greedy_ties(model, v, gamma))[model.start > 0]
        c = counts[states]
        rows.append(
            (done, int(counts.sum()), float(t @ start_p), float((c <= 100).mean()), float((c <= 10).mean()),
             float((c == 0).mean()))
        )
    table = np.array(rows, dtype=np.float64).reshape(-1, 6)
    result = RTDPResult(v, counts, done, int(counts.sum()), np.concatenate(logs), bool(quiet >= window))
    return RTDPTrace(
        result, table[:, 0].astype(np.int64), table[:, 1].astype(np.int64), table[:, 2], table[:, 3], table[:, 4],
        table[:, 5],
    )


@njit(cache=True)
def reachable_states(model: TabularModel) -> np.ndarray:
    """States reachable from the start distribution under some policy (int64[n], BFS order)."""
    return _reachable_stochastic(model, np.ones((model.next_state.shape[0], model.next_state.shape[1])))


@njit(cache=True)
def gauss_seidel_sweep(model: TabularModel, states: np.ndarray, v: np.ndarray, gamma: float) -> float:
    """One in-place value-iteration sweep over ``states`` (in that order); returns the largest change."""
    q = np.empty(model.prob.shape[1])
    delta = 0.0
    for i in range(states.shape[0]):
        s = states[i]
        _q_row(model, v, s, gamma, q)
        best = q.max()
        delta = max(delta, abs(best - v[s]))
        v[s] = best
    return delta


@njit(cache=True)
def _gauss_seidel(
    model: TabularModel, states: np.ndarray, v: np.ndarray, gamma: float, tol: float, max_sweeps: int
) -> int:
    sweeps = 0
    while sweeps < max_sweeps:
        sweeps += 1
        if gauss_seidel_sweep(model, states, v, gamma) < tol:
            break
    return sweeps


class DPResult(NamedTuple):
    """Gauss-Seidel value iteration over a state list.

    Attributes:
      v: float64[S] (states outside the list keep their initial value)
      sweeps: sweeps until the largest change in a sweep was below ``tol``
      updates: ``sweeps * len(states)``
    """

    v: np.ndarray
    sweeps: int
    updates: int


def gauss_seidel_vi(
    model: TabularModel,
    states: np.ndarray | None = None,
    gamma: float = 1.0,
    tol: float = 1e-4,
    max_sweeps: int = 100_000,
    v0: np.ndarray | None = None,
) -> DPResult:
    """In-place value iteration (section 4.4) over ``states`` (default: those reachable from the
    starts), in that order, from ``v0`` (default 0), until a sweep changes no value by ``tol``."""
    if states is None:
        states = reachable_states(model)
    v = np.zeros(model.n_states) if v0 is None else np.array(v0, dtype=np.float64)
    sweeps = _gauss_seidel(model, np.asarray(states, dtype=np.int64), v, gamma, tol, max_sweeps)
    return DPResult(v, int(sweeps), int(sweeps) * len(states))


@njit(cache=True)
def greedy_from_v(model: TabularModel, v: np.ndarray, gamma: float) -> np.ndarray:
    """int64[S]: for each state the first action maximizing the one-step lookahead on ``v``."""
    n_states, n_actions = model.prob.shape[0], model.prob.shape[1]
    q = np.empty(n_actions)
    policy = np.zeros(n_states, dtype=np.int64)
    for s in range(n_states):
        _q_row(model, v, s, gamma, q)
        policy[s] = np.argmax(q)
    return policy


@njit(cache=True)
def greedy_ties(model: TabularModel, v: np.ndarray, gamma: float) -> np.ndarray:
    """float64[S, A]: the greedy policy of ``v`` with ties broken uniformly at random, as RTDP
    acts: equal probability on every action whose one-step lookahead equals the maximum."""
    n_states, n_actions = model.prob.shape[0], model.prob.shape[1]
    q = np.empty(n_actions)
    pi = np.zeros((n_states, n_actions))
    for s in range(n_states):
        _q_row(model, v, s, gamma, q)
        best = q.max()
        count = 0
        for a in range(n_actions):
            if q[a] == best:
                count += 1
        for a in range(n_actions):
            if q[a] == best:
                pi[s, a] = 1.0 / count
    return pi


@njit(cache=True)
def _reachable_stochastic(model: TabularModel, pi: np.ndarray) -> np.ndarray:
    """States reachable from the starts under ``pi: float64[S, A]`` (int64[n], BFS order)."""
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


@njit(cache=True)
def relevant_states(model: TabularModel, v_star: np.ndarray, gamma: float, slack: float) -> np.ndarray:
    """States reachable from the starts when following *some* optimal action (int64[n]).

    An action is optimal in s if its lookahead on ``v_star`` is within ``slack`` of the best.
    """
    n_states, n_actions = model.prob.shape[0], model.prob.shape[1]
    q = np.empty(n_actions)
    optimal = np.zeros((n_states, n_actions))
    for s in range(n_states):
        _q_row(model, v_star, s, gamma, q)
        best = q.max()
        for a in range(n_actions):
            if q[a] >= best - slack:
                optimal[s, a] = 1.0
    return _reachable_stochastic(model, optimal)


@njit(cache=True)
def _can_end(n: int, rows: np.ndarray, cols: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """bool[n]: which nodes reach a node of ``ends`` along edges ``rows[i] -> cols[i]``."""
    offs = np.zeros(n + 1, dtype=np.int64)
    for i in range(cols.shape[0]):
        offs[cols[i] + 1] += 1
    for j in range(n):
        offs[j + 1] += offs[j]
    fill = offs[:-1].copy()
    preds = np.empty(cols.shape[0], dtype=np.int64)
    for i in range(cols.shape[0]):
        preds[fill[cols[i]]] = rows[i]
        fill[cols[i]] += 1
    can = ends.copy()
    stack = np.empty(n, dtype=np.int64)
    top = 0
    for j in range(n):
        if can[j]:
            stack[top] = j
            top += 1
    while top > 0:
        top -= 1
        j = stack[top]
        for e in range(offs[j], offs[j + 1]):
            i = preds[e]
            if not can[i]:
                can[i] = True
                stack[top] = i
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

    policy = np.asarray(policy)
    if policy.ndim == 1:
        pi = np.zeros((model.n_states, model.n_actions))
        pi[np.arange(model.n_states), policy.astype(np.int64)] = 1.0
    else:
        pi = np.asarray(policy, dtype=np.float64)
    states = _reachable_stochastic(model, pi)
    n = len(states)
    local = np.full(model.n_states, -1, dtype=np.int64)
    local[states] = np.arange(n)
    w = pi[states][:, :, None] * model.prob[states]  # [n, A, K]
    term = model.terminated[states]
    cont = (w > 0) & ~term
    rows = np.broadcast_to(np.arange(n)[:, None, None], w.shape)[cont]
    cols = local[model.next_state[states]][cont]
    vals = w[cont]
    out = np.full(model.n_states, np.nan)
    # Every state must reach an ending outcome; otherwise the expected time is infinite.
    can_end = _can_end(n, rows, cols, ((w > 0) & term).any(axis=(1, 2)))
    if not can_end.all():
        out[states] = np.inf
        return out
    matrix = sp.identity(n, format="csc") - sp.csc_matrix((vals, (rows, cols)), shape=(n, n))
    out[states] = spsolve(matrix, np.ones(n))
    return out


def stabilized_at(policy_steps: np.ndarray, within: float = 0.02) -> int:
    """Index of the first check after which the greedy policy's expected steps stay within
    ``within`` (relative) of their final value: the book's "average time to cross the finish
    line appeared to stabilize", measured exactly instead of over 20 noisy episodes."""
    steps = np.asarray(policy_steps, dtype=np.float64)
    final = steps[-1]
    ok = np.abs(steps - final) <= within * abs(final)
    bad = np.flatnonzero(~ok)
    return 0 if len(bad) == 0 else int(bad[-1] + 1)
