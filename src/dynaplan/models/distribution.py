"""A learned distribution model (book sections 8.1 and 8.4): counts of what each pair led to.

For each state-action pair tried in the real world it keeps up to K distinct *outcomes*, an
outcome being a (next state, terminated) couple, with how often it happened and the sum of the
rewards seen with it. From these it gives the estimated transition probabilities
``p_hat(s' | s, a) = count / total`` and the expected reward of each outcome (its mean reward),
which is everything an expected update (eq. 8.1) needs:

    Q(s, a) <- sum_k p_hat_k [ rbar_k + gamma * max_a' Q(s'_k, a') ]   (no bootstrap if terminal)

Memory is O(S * A * K), not O(S * A * S): a dense [S, A, S] count table for 6,000 states and 4
actions would take 1.1 GB; with K = 8 slots the arrays here take about 6 MB. K bounds how many
distinct outcomes a pair may have; a real step with a (K + 1)-th one raises an error (build the
model with a larger ``max_outcomes``).

Predecessor index (prioritized sweeping): for each state, the (pair, slot) nodes whose next
state it is, as an intrusive singly linked list. Outcomes are never forgotten, so nodes are only
ever added, in O(1). Like ``SampleModel`` it also lists seen states and tried actions in order
of first occurrence, so Dyna-style planners can draw previously observed pairs.

It registers with the model protocol (``models.protocol``): a tried pair is known, its outcome
slots carry ``p_hat`` and mean rewards, and background planning makes expected updates.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from dynaplan._jit import kernel
from dynaplan.envs.tabular import TabularModel
from dynaplan.models.protocol import register_model, state_value
from dynaplan.models.sample import sample_observed_pair, tried_pairs
from dynaplan.rng import rand


class DistributionModel(NamedTuple):
    """Count-based model of S states, A actions, at most K outcomes per pair (pair = s * A + a).

    Attributes:
      next_state: int64[S, A, K], next state of each outcome slot (-1: unused)
      terminated: bool[S, A, K], the outcome ends the episode
      counts: int64[S, A, K], times the outcome happened
      reward_sum: float64[S, A, K], sum of the rewards seen with it
      n_outcomes: int64[S, A], slots in use
      total: int64[S, A], times the pair was tried
      seen_states: int64[S], states in order of first visit; ``n_seen[0]`` are valid
      n_seen: int64[1]
      seen_actions: int64[S, A], per state, actions in order of first try
      n_seen_actions: int64[S]
      pred_head: int64[S], first node ``pair * K + slot`` whose next state is s (-1: none)
      pred_next: int64[S * A * K], next node in the same list (-1: end)
      n_tried: int64[1], pairs tried so far
    """

    next_state: np.ndarray
    terminated: np.ndarray
    counts: np.ndarray
    reward_sum: np.ndarray
    n_outcomes: np.ndarray
    total: np.ndarray
    seen_states: np.ndarray
    n_seen: np.ndarray
    seen_actions: np.ndarray
    n_seen_actions: np.ndarray
    pred_head: np.ndarray
    pred_next: np.ndarray
    n_tried: np.ndarray


def new_distribution_model(n_states: int, n_actions: int, max_outcomes: int = 8) -> DistributionModel:
    """An empty model with ``max_outcomes`` outcome slots per pair."""
    if max_outcomes < 1:
        raise ValueError(f"max_outcomes must be a positive integer, got {max_outcomes!r}")
    shape = (n_states, n_actions, max_outcomes)
    return DistributionModel(
        next_state=np.full(shape, -1, dtype=np.int64),
        terminated=np.zeros(shape, dtype=np.bool_),
        counts=np.zeros(shape, dtype=np.int64),
        reward_sum=np.zeros(shape),
        n_outcomes=np.zeros((n_states, n_actions), dtype=np.int64),
        total=np.zeros((n_states, n_actions), dtype=np.int64),
        seen_states=np.zeros(n_states, dtype=np.int64),
        n_seen=np.zeros(1, dtype=np.int64),
        seen_actions=np.zeros((n_states, n_actions), dtype=np.int64),
        n_seen_actions=np.zeros(n_states, dtype=np.int64),
        pred_head=np.full(n_states, -1, dtype=np.int64),
        pred_next=np.full(n_states * n_actions * max_outcomes, -1, dtype=np.int64),
        n_tried=np.zeros(1, dtype=np.int64),
    )


@njit(cache=True)
def distribution_model_update(model: DistributionModel, s: int, a: int, r: float, s2: int, terminated: bool) -> None:
    """Count one real transition ``(s, a) -> (r, s2, terminated)``."""
    n_actions = model.next_state.shape[1]
    k_max = model.next_state.shape[2]
    if model.total[s, a] == 0:
        if model.n_seen_actions[s] == 0:
            model.seen_states[model.n_seen[0]] = s
            model.n_seen[0] += 1
        model.seen_actions[s, model.n_seen_actions[s]] = a
        model.n_seen_actions[s] += 1
        model.n_tried[0] += 1
    slot = -1
    for k in range(model.n_outcomes[s, a]):
        if model.next_state[s, a, k] == s2 and model.terminated[s, a, k] == terminated:
            slot = k
            break
    if slot < 0:
        slot = model.n_outcomes[s, a]
        if slot >= k_max:
            raise ValueError("DistributionModel: a pair has more distinct outcomes than max_outcomes")
        model.n_outcomes[s, a] = slot + 1
        model.next_state[s, a, slot] = s2
        model.terminated[s, a, slot] = terminated
        node = (s * n_actions + a) * k_max + slot
        model.pred_next[node] = model.pred_head[s2]
        model.pred_head[s2] = node
    model.counts[s, a, slot] += 1
    model.reward_sum[s, a, slot] += r
    model.total[s, a] += 1


@njit(cache=True)
def expected_target(model: DistributionModel, values: np.ndarray, s: int, a: int, gamma: float) -> float:
    """sum_k p_hat_k [rbar_k + gamma v(s'_k)] over the outcomes of a tried pair (eq. 8.1).

    ``values``: ``q: float64[S, A]`` (``v(s') = max_a' q(s', a')``) or ``v: float64[S]``. Summed
    as counts, ``(sum_k [reward_sum_k + count_k gamma v(s'_k)]) / total``: one division per pair.
    """
    n = model.total[s, a]
    acc = 0.0
    for k in range(model.n_outcomes[s, a]):
        c = model.counts[s, a, k]
        v = model.reward_sum[s, a, k]
        if not model.terminated[s, a, k]:
            v += c * gamma * state_value(values, model.next_state[s, a, k])
        acc += v
    return acc / n


@kernel(inline=True)
def distribution_sample(model: DistributionModel, s: int, a: int, rng: np.ndarray) -> tuple[int, float, bool]:
    """Draw ``(next state, mean reward, terminated)`` of a tried pair with probability p_hat (one draw)."""
    u = rand(rng) * model.total[s, a]
    n = model.n_outcomes[s, a]
    k = n - 1
    acc = 0.0
    for j in range(n):
        acc += model.counts[s, a, j]
        if acc > u:
            k = j
            break
    return model.next_state[s, a, k], model.reward_sum[s, a, k] / model.counts[s, a, k], model.terminated[s, a, k]


@njit(cache=True)
def sample_outcome(model: DistributionModel, s: int, a: int, rng: np.ndarray) -> tuple[float, int, bool]:
    """Draw ``(mean reward, next state, terminated)`` of a tried pair with probability p_hat (one draw)."""
    s2, r, term = distribution_sample(model, s, a, rng)
    return r, s2, term


#: A random previously observed state, then a random action tried in it (two draws).
sample_observed_pair_dist = sample_observed_pair


def probabilities(model: DistributionModel) -> np.ndarray:
    """p_hat(s' | s, a) as a dense float64[S, A, S] (small models only; untried pairs are all 0)."""
    n_states, n_actions, k_max = model.next_state.shape
    p = np.zeros((n_states, n_actions, n_states))
    tot = np.maximum(model.total, 1)
    for k in range(k_max):
        used = model.counts[:, :, k] > 0
        s_idx, a_idx = np.nonzero(used)
        frac = model.counts[s_idx, a_idx, k] / tot[s_idx, a_idx]
        np.add.at(p, (s_idx, a_idx, model.next_state[s_idx, a_idx, k]), frac)
    return p


def to_tabular(model: DistributionModel, start: np.ndarray | None = None) -> TabularModel:
    """The learned model as a ``TabularModel`` (p_hat, mean rewards), for exact solvers.

    An untried pair becomes one outcome that ends the episode with reward 0, so its value is 0:
    the value a planner that never updates untried pairs keeps for them with ``Q0 = 0``.
    """
    n_states = model.next_state.shape[0]
    tried = model.total > 0
    tot = np.maximum(model.total, 1)[:, :, None]
    used = model.counts > 0
    prob = np.where(used, model.counts / tot, 0.0)
    reward = np.where(used, model.reward_sum / np.maximum(model.counts, 1), 0.0)
    next_state = np.where(used, model.next_state, np.arange(n_states)[:, None, None])
    terminated = model.terminated.copy()
    prob[~tried, 0] = 1.0
    terminated[~tried, 0] = True
    if start is None:
        start = np.full(n_states, 1.0 / n_states)
    return TabularModel(next_state.astype(np.int64), prob, reward, terminated, np.asarray(start, dtype=np.float64))


def predecessors_dist(model: DistributionModel, s: int) -> list[tuple[int, int]]:
    """Pairs ``(s_, a_)`` seen to lead to ``s`` (most recent first)."""
    n_actions, k_max = model.next_state.shape[1], model.next_state.shape[2]
    out = []
    node = int(model.pred_head[s])
    while node >= 0:
        out.append(divmod(node // k_max, n_actions))
        node = int(model.pred_next[node])
    return out


@kernel(inline=True)
def distribution_known(model: DistributionModel, s: int, a: int) -> bool:
    return model.total[s, a] > 0


@kernel(inline=True)
def distribution_width(model: DistributionModel) -> int:
    return model.next_state.shape[2]


@kernel(inline=True)
def distribution_outcome(model: DistributionModel, s: int, a: int, k: int) -> tuple[float, int, float, bool]:
    """Slot ``k``: ``(p_hat, next state, mean reward, terminated)``; probability 0 if unused."""
    c = model.counts[s, a, k]
    if c == 0:
        return 0.0, model.next_state[s, a, k], 0.0, model.terminated[s, a, k]
    return c / model.total[s, a], model.next_state[s, a, k], model.reward_sum[s, a, k] / c, model.terminated[s, a, k]


@kernel(inline=True)
def distribution_update(model: DistributionModel, s: int, a: int, r: float, s2: int, terminated: bool, t: int) -> None:
    distribution_model_update(model, s, a, r, s2, terminated)


register_model(
    DistributionModel,
    known=distribution_known,
    n_known=tried_pairs,
    draw_known=sample_observed_pair,
    sample=distribution_sample,
    width=distribution_width,
    outcome=distribution_outcome,
    backup=expected_target,
    update=distribution_update,
    planning="expected",
)
