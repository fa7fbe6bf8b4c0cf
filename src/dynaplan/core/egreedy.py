"""Action selection over a row of action values, with ties broken at random.

The book breaks ties between equal values at random; taking the first index instead sends
every early episode of the Dyna maze the same way and visibly changes Figure 8.2.
"""

from __future__ import annotations

import numpy as np

from dynaplan._jit import kernel
from dynaplan.rng import rand, randint


@kernel(inline=True)
def argmax_random(values: np.ndarray, rng: np.ndarray) -> int:
    """Index of a maximum of ``values``; among several, one chosen uniformly (one draw)."""
    best = values[0]
    count = 1
    for i in range(1, values.shape[0]):
        v = values[i]
        if v > best:
            best = v
            count = 1
        elif v == best:
            count += 1
    if count == 1:
        for i in range(values.shape[0]):
            if values[i] == best:
                return i
    pick = randint(rng, count)
    for i in range(values.shape[0]):
        if values[i] == best:
            if pick == 0:
                return i
            pick -= 1
    return 0


@kernel(inline=True)
def epsilon_greedy(values: np.ndarray, epsilon: float, rng: np.ndarray) -> int:
    """With probability ``epsilon`` a uniformly random action, else a greedy one (section 2.2).

    The random action may be the greedy one, as in the book.
    """
    if epsilon > 0.0 and rand(rng) < epsilon:
        return randint(rng, values.shape[0])
    return argmax_random(values, rng)


@kernel(inline=True)
def max_value(values: np.ndarray) -> float:
    best = values[0]
    for i in range(1, values.shape[0]):
        if values[i] > best:
            best = values[i]
    return best
