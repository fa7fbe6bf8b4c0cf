"""The deterministic tabular sample model (book section 8.2): last outcome seen per pair.

For every state-action pair tried in the real world it keeps the last reward, next state and
termination flag; it remembers which states were seen and which actions were tried in each,
in the order they first happened (so Dyna-Q can draw "a random previously observed state, then
a random action previously taken in it"), when each pair was last tried (Dyna-Q+), and a
predecessor index: for each state, the pairs whose recorded next state it is (prioritized
sweeping). All of it is arrays, updated in O(1) per real step by compiled code.

It registers with the model protocol (``models.protocol``): a tried pair is known, its one
outcome has probability 1, and background planning makes sample updates on it.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from dynaplan._jit import kernel
from dynaplan.models.protocol import register_model
from dynaplan.rng import randint


class SampleModel(NamedTuple):
    """Last-outcome model of S states and A actions; pair ``(s, a)`` has index ``s * A + a``.

    Attributes:
      next_state: int64[S, A], -1 where the pair was never tried
      reward: float64[S, A]
      terminated: bool[S, A]
      last_tried: int64[S, A], real time step at which the pair was last tried (-1: never)
      seen_states: int64[S], states in order of first visit; ``n_seen[0]`` are valid
      n_seen: int64[1]
      seen_actions: int64[S, A], per state, actions in order of first try
      n_seen_actions: int64[S]
      pred_head: int64[S], first pair whose recorded next state is s (-1: none)
      pred_next: int64[S * A], next pair in the same predecessor list (-1: end)
      pred_prev: int64[S * A], previous pair in the list (-1: it is the head)
      n_tried: int64[1], pairs tried so far
    """

    next_state: np.ndarray
    reward: np.ndarray
    terminated: np.ndarray
    last_tried: np.ndarray
    seen_states: np.ndarray
    n_seen: np.ndarray
    seen_actions: np.ndarray
    n_seen_actions: np.ndarray
    pred_head: np.ndarray
    pred_next: np.ndarray
    pred_prev: np.ndarray
    n_tried: np.ndarray


def new_sample_model(n_states: int, n_actions: int) -> SampleModel:
    """An empty model: nothing tried yet."""
    n_pairs = n_states * n_actions
    return SampleModel(
        next_state=np.full((n_states, n_actions), -1, dtype=np.int64),
        reward=np.zeros((n_states, n_actions)),
        terminated=np.zeros((n_states, n_actions), dtype=np.bool_),
        last_tried=np.full((n_states, n_actions), -1, dtype=np.int64),
        seen_states=np.zeros(n_states, dtype=np.int64),
        n_seen=np.zeros(1, dtype=np.int64),
        seen_actions=np.zeros((n_states, n_actions), dtype=np.int64),
        n_seen_actions=np.zeros(n_states, dtype=np.int64),
        pred_head=np.full(n_states, -1, dtype=np.int64),
        pred_next=np.full(n_pairs, -1, dtype=np.int64),
        pred_prev=np.full(n_pairs, -1, dtype=np.int64),
        n_tried=np.zeros(1, dtype=np.int64),
    )


@kernel(inline=True)
def _unlink(model: SampleModel, pair: int, target: int) -> None:
    prev = model.pred_prev[pair]
    nxt = model.pred_next[pair]
    if prev >= 0:
        model.pred_next[prev] = nxt
    else:
        model.pred_head[target] = nxt
    if nxt >= 0:
        model.pred_prev[nxt] = prev
    model.pred_next[pair] = -1
    model.pred_prev[pair] = -1


@kernel(inline=True)
def _link(model: SampleModel, pair: int, target: int) -> None:
    head = model.pred_head[target]
    model.pred_next[pair] = head
    model.pred_prev[pair] = -1
    if head >= 0:
        model.pred_prev[head] = pair
    model.pred_head[target] = pair


@kernel(inline=True)
def sample_model_update(
    model: SampleModel, s: int, a: int, r: float, s2: int, terminated: bool, t: int
) -> None:
    """Record that ``(s, a)`` was tried at real step ``t`` and gave ``r, s2, terminated``."""
    n_actions = model.next_state.shape[1]
    old = model.next_state[s, a]
    if old < 0:
        if model.n_seen_actions[s] == 0:
            model.seen_states[model.n_seen[0]] = s
            model.n_seen[0] += 1
        model.seen_actions[s, model.n_seen_actions[s]] = a
        model.n_seen_actions[s] += 1
        model.n_tried[0] += 1
    pair = s * n_actions + a
    if old != s2:
        if old >= 0:
            _unlink(model, pair, old)
        _link(model, pair, s2)
    model.next_state[s, a] = s2
    model.reward[s, a] = r
    model.terminated[s, a] = terminated
    model.last_tried[s, a] = t


@kernel(inline=True)
def sample_observed_pair(model: Any, rng: np.ndarray) -> tuple[int, int]:
    """A random previously observed state, then a random action previously taken in it.

    Two draws; requires at least one tried pair. Any model that lists its seen states and tried
    actions as ``SampleModel`` does (``seen_states``, ``n_seen``, ``seen_actions``,
    ``n_seen_actions``; ``DistributionModel`` too) can use it.
    """
    s = model.seen_states[randint(rng, model.n_seen[0])]
    a = model.seen_actions[s, randint(rng, model.n_seen_actions[s])]
    return s, a


def predecessors(model: SampleModel, s: int) -> list[tuple[int, int]]:
    """Pairs ``(s_, a_)`` whose recorded next state is ``s`` (most recently linked first)."""
    n_actions = model.next_state.shape[1]
    out = []
    pair = int(model.pred_head[s])
    while pair >= 0:
        out.append(divmod(pair, n_actions))
        pair = int(model.pred_next[pair])
    return out


@kernel(inline=True)
def sample_model_known(model: SampleModel, s: int, a: int) -> bool:
    return model.next_state[s, a] >= 0


@kernel(inline=True)
def tried_pairs(model: Any) -> int:
    """How many pairs a learned model has tried (its ``n_tried[0]``; ``DistributionModel`` too)."""
    return model.n_tried[0]


@kernel(inline=True)
def sample_model_sample(model: SampleModel, s: int, a: int, rng: np.ndarray) -> tuple[int, float, bool]:
    """The last outcome seen (no draw)."""
    return model.next_state[s, a], model.reward[s, a], model.terminated[s, a]


@kernel(inline=True)
def sample_model_width(model: SampleModel) -> int:
    return 1


@kernel(inline=True)
def sample_model_outcome(model: SampleModel, s: int, a: int, k: int) -> tuple[float, int, float, bool]:
    return 1.0, model.next_state[s, a], model.reward[s, a], model.terminated[s, a]


register_model(
    SampleModel,
    known=sample_model_known,
    n_known=tried_pairs,
    draw_known=sample_observed_pair,
    sample=sample_model_sample,
    width=sample_model_width,
    outcome=sample_model_outcome,
    update=sample_model_update,
    planning="sample",
)
