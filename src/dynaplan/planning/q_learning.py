"""One-step tabular Q-learning (book section 6.5, equation 6.8): direct RL, no model."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from dynaplan._jit import kernel
from dynaplan.core.egreedy import epsilon_greedy, max_value
from dynaplan.core.kernels import register_kernels


@kernel(inline=True)
def q_update(
    q: np.ndarray, s: int, a: int, r: float, s2: int, terminated: bool, alpha: float, gamma: float
) -> float:
    """Q(s,a) <- Q(s,a) + alpha [r + gamma max_a' Q(s',a') - Q(s,a)]  (eq. 6.8).

    The bootstrap term is dropped when the transition ends the episode. Returns the TD error.
    """
    target = r
    if not terminated:
        target += gamma * max_value(q[s2])
    delta = target - q[s, a]
    q[s, a] += alpha * delta
    return delta


class QLearningState(NamedTuple):
    """Q-learning agent.

    Attributes:
      q: float64[S, A]
      alpha, gamma, epsilon: step size, discount, exploration rate
    """

    q: np.ndarray
    alpha: float
    gamma: float
    epsilon: float


@kernel(inline=True)
def q_learning_act(agent: QLearningState, s: int, rng: np.ndarray) -> int:
    return epsilon_greedy(agent.q[s], agent.epsilon, rng)


@kernel(inline=True)
def q_learning_observe(
    agent: QLearningState, s: int, a: int, r: float, s2: int, terminated: bool, truncated: bool, rng: np.ndarray
) -> None:
    q_update(agent.q, s, a, r, s2, terminated, agent.alpha, agent.gamma)


register_kernels(QLearningState, act=q_learning_act, observe=q_learning_observe)
