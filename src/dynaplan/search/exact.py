"""Exact finite-horizon values by backward induction: the ground truth of decision-time search.

A search of depth H from a state estimates ``q_H(s, a)``, the value of taking ``a`` and then
acting optimally (or by a fixed rollout policy) for the remaining ``H - 1`` steps, with a leaf
value ``v_0`` after H steps (book section 8.9: a depth-limited search backs the leaf values up
to the root). Backward induction computes it exactly for every state:

    q_h(s, a) = sum_k p_k [ r_k + gamma * (0 if terminal_k else v_{h-1}(s'_k)) ]
    v_h(s) = max_a q_h(s, a)            (optimal), or  sum_a pi(a|s) q_h(s, a)  (policy pi)

These are plain NumPy functions over a ``TabularModel``: they are the reference the search
kernels are tested against, and cheap for the small models tests use (O(H S A K)).
"""

from __future__ import annotations

import numpy as np

from dynaplan.envs.tabular import TabularModel


def finite_horizon_q(
    model: TabularModel,
    horizon: int,
    gamma: float,
    leaf_values: np.ndarray | None = None,
    policy: np.ndarray | None = None,
) -> np.ndarray:
    """``q[h, s, a]`` for h = 0..horizon by backward induction: float64[H + 1, S, A].

    ``q[0]`` is ``leaf_values`` broadcast over actions (``v_0``, zeros by default: the return
    stops counting after H steps). ``policy`` (float64[S, A], rows summing to 1) makes it the
    finite-horizon action value of that policy (the exact counterpart of rollout planning with
    it, section 8.10) instead of the optimal one.
    """
    if horizon < 0:
        raise ValueError(f"horizon must be a non-negative integer, got {horizon!r}")
    n_states, n_actions = model.n_states, model.n_actions
    v = np.zeros(n_states) if leaf_values is None else np.asarray(leaf_values, dtype=np.float64).copy()
    q = np.zeros((horizon + 1, n_states, n_actions))
    q[0] = v[:, None]
    cont = gamma * model.prob * ~model.terminated
    r = model.expected_reward()
    for h in range(1, horizon + 1):
        q[h] = r + (cont * v[model.next_state]).sum(axis=2)
        v = q[h].max(axis=1) if policy is None else (policy * q[h]).sum(axis=1)
    return q


def optimal_actions(q_row: np.ndarray, tol: float = 1e-9) -> np.ndarray:
    """Indices of the actions within ``tol`` of the best value in ``q_row``: int64[m]."""
    return np.flatnonzero(q_row >= q_row.max() - tol).astype(np.int64)
