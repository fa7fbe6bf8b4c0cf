"""The Boyan chain (Boyan 2002; the policy-evaluation task of Sutton, Szepesvari, Geramifard &
Bowling 2008, section 5): 13 states, 4 features, one action.

States are numbered 12 (start) down to 0 (terminal). From state ``s >= 2`` the chain moves to
``s - 1`` or ``s - 2`` with probability 1/2 each, reward -3; from state 1 it moves to 0 with
reward -2, and the episode ends on reaching 0. The features are 4-d: states 12, 8, 4 and 0
are the unit vectors ``e_0 .. e_3`` and the states between interpolate linearly (state 10 is
(1/2, 1/2, 0, 0)). The true values are ``V(s) = -2 s`` (from the exact model: ``v = (I - P)^-1 r``
over the non-terminal states), which the features represent exactly, with
``theta = (-24, -16, -8, 0)``.

The world is tabular (``TabularModel``, one uniform draw per step as Gymnasium's toy-text envs
make), seen through ``TableFeatures(BOYAN_FEATURES)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dynaplan.envs.tabular import TabularModel
from dynaplan.envs.tabular_env import TabularEnv

N_STATES = 13
START = 12


def boyan_features() -> np.ndarray:
    """float64[13, 4]: row ``s`` is state ``s``'s feature vector."""
    phi = np.zeros((N_STATES, 4))
    for s in range(N_STATES):
        # anchors: state 12 -> e_0, 8 -> e_1, 4 -> e_2, 0 -> e_3
        pos = (12 - s) / 4.0
        lo = int(np.floor(pos))
        frac = pos - lo
        phi[s, lo] = 1.0 - frac
        if frac > 0:
            phi[s, lo + 1] = frac
    return phi


BOYAN_FEATURES = boyan_features()
BOYAN_THETA = np.array([-24.0, -16.0, -8.0, 0.0])


def boyan_model() -> TabularModel:
    """The exact model: ``[13, 1, 2]`` arrays (state 0 is an absorbing, terminating self-loop)."""
    S, K = N_STATES, 2
    next_state = np.zeros((S, 1, K), dtype=np.int64)
    prob = np.zeros((S, 1, K))
    reward = np.zeros((S, 1, K))
    terminated = np.zeros((S, 1, K), dtype=bool)
    next_state[0, 0, 0], prob[0, 0, 0], terminated[0, 0, 0] = 0, 1.0, True
    next_state[1, 0, 0], prob[1, 0, 0], reward[1, 0, 0], terminated[1, 0, 0] = 0, 1.0, -2.0, True
    for s in range(2, S):
        for k, s2 in enumerate((s - 1, s - 2)):
            next_state[s, 0, k], prob[s, 0, k], reward[s, 0, k] = s2, 0.5, -3.0
            terminated[s, 0, k] = s2 == 0
    start = np.zeros(S)
    start[START] = 1.0
    return TabularModel(next_state, prob, reward, terminated, start)


def boyan_true_values(model: TabularModel | None = None) -> np.ndarray:
    """float64[13]: ``v = (I - P)^-1 r`` over states 1..12 from the exact model (v(0) = 0)."""
    m = model if model is not None else boyan_model()
    S = m.n_states
    P = np.zeros((S, S))
    r = np.zeros(S)
    for s in range(1, S):
        for k in range(m.prob.shape[2]):
            p = m.prob[s, 0, k]
            if p > 0:
                r[s] += p * m.reward[s, 0, k]
                if not m.terminated[s, 0, k]:
                    P[s, m.next_state[s, 0, k]] += p
    v = np.zeros(S)
    v[1:] = np.linalg.solve(np.eye(S - 1) - P[1:, 1:], r[1:])
    return v


class BoyanChain(TabularEnv):
    """The Boyan chain as a Gymnasium env (``dynaplan/BoyanChain-v0``): ``Discrete(13)`` states,
    ``Discrete(1)`` actions; ``env.unwrapped.features`` is ``BOYAN_FEATURES``."""

    def __init__(self, render_mode: str | None = None, **_: Any) -> None:
        super().__init__(boyan_model(), render_mode=render_mode)
        self.features = BOYAN_FEATURES

    def render(self) -> str:
        return f"Boyan chain, state {self.s}"
