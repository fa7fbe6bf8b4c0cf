"""An indexed binary max-heap of state-action pairs, for prioritized sweeping (book section 8.4).

The queue holds each pair at most once. ``pq_push(pq, pair, p)`` inserts the pair, or, when it
is already queued, raises its priority to ``p`` if ``p`` is higher and otherwise leaves it alone:
a lower priority never replaces a higher one (the book's "if (S, A) is already in the queue,
only the higher priority is kept"). A position index per pair (``pos``) makes that an in-place
update: O(log n) per push or pop, no stale entries.

Ties between equal priorities are broken by the heap's structure (deterministic for a given
sequence of operations), which draws no random number.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit


class PairQueue(NamedTuple):
    """Max-heap over pair indices ``0 .. n_pairs - 1``.

    Attributes:
      heap: int64[n_pairs], ``heap[:size]`` the queued pairs in heap order
      prio: float64[n_pairs], priority of the pair at each heap slot
      pos: int64[n_pairs], heap slot of each pair, -1 when the pair is not queued
      size: int64[1], number of queued pairs
    """

    heap: np.ndarray
    prio: np.ndarray
    pos: np.ndarray
    size: np.ndarray


def new_pair_queue(n_pairs: int) -> PairQueue:
    """An empty queue able to hold every pair once."""
    return PairQueue(
        heap=np.zeros(n_pairs, dtype=np.int64),
        prio=np.zeros(n_pairs),
        pos=np.full(n_pairs, -1, dtype=np.int64),
        size=np.zeros(1, dtype=np.int64),
    )


@njit(cache=True, inline="always")
def _put(pq: PairQueue, i: int, pair: int, p: float) -> None:
    """Heap slot ``i`` holds ``pair`` with priority ``p`` (and ``pos`` points back at it)."""
    pq.heap[i] = pair
    pq.prio[i] = p
    pq.pos[pair] = i


@njit(cache=True)
def _sift_up(pq: PairQueue, i: int) -> None:
    pair = pq.heap[i]
    p = pq.prio[i]
    while i > 0:
        parent = (i - 1) >> 1
        if pq.prio[parent] >= p:
            break
        _put(pq, i, pq.heap[parent], pq.prio[parent])
        i = parent
    _put(pq, i, pair, p)


@njit(cache=True)
def _sift_down(pq: PairQueue, i: int) -> None:
    n = pq.size[0]
    pair = pq.heap[i]
    p = pq.prio[i]
    while True:
        child = 2 * i + 1
        if child >= n:
            break
        if child + 1 < n and pq.prio[child + 1] > pq.prio[child]:
            child += 1
        if pq.prio[child] <= p:
            break
        _put(pq, i, pq.heap[child], pq.prio[child])
        i = child
    _put(pq, i, pair, p)


@njit(cache=True, inline="always")
def pq_push(pq: PairQueue, pair: int, priority: float) -> bool:
    """Queue ``pair`` with ``priority``, keeping the higher priority if it is already queued.

    Returns True if the queue changed (a new pair or a raised priority).
    """
    i = pq.pos[pair]
    if i >= 0:
        if priority <= pq.prio[i]:
            return False
        pq.prio[i] = priority
        _sift_up(pq, i)
        return True
    n = pq.size[0]
    _put(pq, n, pair, priority)
    pq.size[0] = n + 1
    _sift_up(pq, n)
    return True


@njit(cache=True, inline="always")
def pq_pop(pq: PairQueue) -> tuple[int, float]:
    """Remove and return ``(pair, priority)`` of the highest priority; requires a non-empty queue."""
    top = pq.heap[0]
    p = pq.prio[0]
    n = pq.size[0] - 1
    pq.size[0] = n
    pq.pos[top] = -1
    if n > 0:
        _put(pq, 0, pq.heap[n], pq.prio[n])
        _sift_down(pq, 0)
    return top, p


@njit(cache=True)
def pq_clear(pq: PairQueue) -> None:
    """Empty the queue."""
    for i in range(pq.size[0]):
        pq.pos[pq.heap[i]] = -1
    pq.size[0] = 0


def pq_priority(pq: PairQueue, pair: int) -> float | None:
    """The queued priority of ``pair``, or None if it is not queued (Python side, for inspection)."""
    i = int(pq.pos[pair])
    return None if i < 0 else float(pq.prio[i])
