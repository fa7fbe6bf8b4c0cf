"""What a searching agent does with a real step and with its root's estimates, shared by the
state-keyed search agent (``search.agent``) and the book's tree (``search.tree``).

Both read a record with ``model, q: float64[S, A], counters: int64[...]`` (``counters[3]`` the
real steps), ``learned, learn: bool``, ``alpha, gamma``, ``planning_steps``, ``write_back`` and
``root_n, root_q: float64[A]``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dynaplan._jit import kernel
from dynaplan.models.protocol import model_update
from dynaplan.planning.dyna_q import dyna_planning
from dynaplan.planning.q_learning import q_update

REAL_STEPS = 3
"""Index of the real-step counter in both agents' ``counters``."""


@kernel(inline=True)
def learn_real_step(agent: Any, s: int, a: int, r: float, s2: int, terminated: bool, rng: np.ndarray) -> None:
    """Model update (a learned model), direct Q-learning (eq. 6.8) and background planning (Dyna, 8.2)."""
    if agent.learned:
        model_update(agent.model, s, a, r, s2, terminated, agent.counters[REAL_STEPS])
    if agent.learn:
        q_update(agent.q, s, a, r, s2, terminated, agent.alpha, agent.gamma)
    agent.counters[REAL_STEPS] += 1
    if agent.planning_steps > 0:
        dyna_planning(agent.q, agent.model, agent.planning_steps, agent.alpha, agent.gamma, rng)


@kernel(inline=True)
def write_back_root(agent: Any, s: int) -> None:
    """Copy the root's value estimates into ``q[s]`` (where the root action was searched)."""
    if agent.write_back:
        for b in range(agent.root_n.shape[0]):
            if agent.root_n[b] > 0.0:
                agent.q[s, b] = agent.root_q[b]
