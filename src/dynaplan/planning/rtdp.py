"""Real-time dynamic programming (section 8.7) and the exact tools to judge it.

RTDP is asynchronous value iteration along trajectories: each episode starts in a state drawn
from the start distribution; in each state ``s`` it does the expected update

    V(s) <- max_a sum_{s', r} p(s', r | s, a) [r + gamma V(s')]                (eq. 4.10)

then takes a greedy action of the updated values (ties at random) and samples the next state
from the model, until an outcome ends the episode. With values that start optimistic (0 for
the racetrack's -1 per step), it converges to optimal values on the *relevant* states, those
an optimal policy can reach from the starts, and may never touch the others.

:func:`rtdp_trace` pauses every few episodes to judge the run exactly: the expected episode
length of the greedy policy (``planning.exact.expected_steps``, a sparse linear solve) and how
often the states were updated; :func:`stabilized_at` reads convergence from it. The book's DP
baseline (``planning.value_iteration.gauss_seidel_vi``) and the exact tools the section's table
needs (reachable and relevant states, greedy policies of values) are ``planning.exact``'s; they
are importable from here too, as the tools of this section.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from dynaplan._jit import kernel
from dynaplan.core.egreedy import argmax_random
from dynaplan.envs.tabular import TabularModel
from dynaplan.models.protocol import model_sample
from dynaplan.planning.exact import (
    expected_steps,
    greedy_from_v,
    greedy_ties,
    q_row,
    reachable_states,
    relevant_states,
)
from dynaplan.planning.value_iteration import DPResult, gauss_seidel_sweep, gauss_seidel_vi
from dynaplan.rng import categorical

__all__ = [
    "DPResult",
    "RTDPResult",
    "RTDPTrace",
    "expected_steps",
    "gauss_seidel_sweep",
    "gauss_seidel_vi",
    "greedy_from_v",
    "greedy_ties",
    "reachable_states",
    "relevant_states",
    "rtdp",
    "rtdp_kernel",
    "rtdp_trace",
    "stabilized_at",
]


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
    episode = 0
    while episode < steps_log.shape[0] and quiet < window:
        s = categorical(model.start, rng)
        largest = 0.0
        steps = 0
        while steps < max_steps:
            q_row(model, v, s, gamma, q)
            best = q[0]
            for a in range(1, n_actions):
                if q[a] > best:
                    best = q[a]
            largest = max(largest, abs(best - v[s]))
            v[s] = best
            counts[s] += 1
            a = argmax_random(q, rng)
            steps += 1
            s, _, terminated = model_sample(model, s, a, rng)
            if terminated:
                break
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


def stabilized_at(policy_steps: np.ndarray, within: float = 0.02) -> int:
    """Index of the first check after which the greedy policy's expected steps stay within
    ``within`` (relative) of their final value: the book's "average time to cross the finish
    line appeared to stabilize", measured exactly instead of over 20 noisy episodes."""
    steps = np.asarray(policy_steps, dtype=np.float64)
    final = steps[-1]
    ok = np.abs(steps - final) <= within * abs(final)
    bad = np.flatnonzero(~ok)
    return 0 if len(bad) == 0 else int(bad[-1] + 1)
