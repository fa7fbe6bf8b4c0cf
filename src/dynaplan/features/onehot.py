"""One-hot and table features: a tabular world seen through a linear agent (section 9.4).

``OneHot(n)`` makes state ``s`` the unit vector ``e_s`` (one active feature, value 1): a linear
method on it *is* its tabular counterpart (the weight ``w[s, a]`` is ``Q(s, a)``, every update
touches one entry), which ``tests/test_linear.py`` checks episode for episode.
``TableFeatures(phi)`` gives state ``s`` the dense row ``phi[s]`` (the Boyan chain's 4 features).
Both read the state index from ``obs[0]``.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from dynaplan._jit import kernel
from dynaplan.core.encoding import register_features


class OneHotRecord(NamedTuple):
    """Attributes: n_features: number of states; n_active: 1."""

    n_features: int
    n_active: int


class TableRecord(NamedTuple):
    """Attributes: phi: float64[S, d], the feature vector of each state; n_active: d."""

    phi: np.ndarray
    n_active: int


@kernel
def onehot_encode(rec: OneHotRecord, obs: np.ndarray, idx: np.ndarray, val: np.ndarray) -> None:
    idx[0] = int(obs[0])
    val[0] = 1.0


@kernel
def table_encode(rec: TableRecord, obs: np.ndarray, idx: np.ndarray, val: np.ndarray) -> None:
    s = int(obs[0])
    for j in range(rec.phi.shape[1]):
        idx[j] = j
        val[j] = rec.phi[s, j]


register_features(OneHotRecord, encode=onehot_encode)
register_features(TableRecord, encode=table_encode)


class OneHot:
    """One-hot features of a ``Discrete(n)`` observation: ``d = n``, one active feature."""

    def __init__(self, n: int) -> None:
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or int(n) < 1:
            raise ValueError(f"n must be a positive integer, got {n!r}")
        self.n_features = int(n)
        self.n_active = 1

    @classmethod
    def from_space(cls, space: Any) -> OneHot:
        import gymnasium as gym

        if not isinstance(space, gym.spaces.Discrete) or int(space.start) != 0:
            raise ValueError(f"OneHot.from_space needs a Discrete space starting at 0, got {space}")
        return cls(int(space.n))

    def record(self) -> OneHotRecord:
        return OneHotRecord(self.n_features, 1)

    def __repr__(self) -> str:
        return f"OneHot({self.n_features})"


class TableFeatures:
    """Dense features given per state: ``phi: float64[S, d]`` (row ``s`` is state ``s``'s vector)."""

    def __init__(self, phi: Any) -> None:
        arr = np.ascontiguousarray(np.asarray(phi, dtype=np.float64))
        if arr.ndim != 2 or arr.shape[0] < 1 or arr.shape[1] < 1:
            raise ValueError(f"phi must be a non-empty 2-d array [states, features], got shape {arr.shape}")
        self.phi = arr
        self.n_features = int(arr.shape[1])
        self.n_active = int(arr.shape[1])

    def record(self) -> TableRecord:
        return TableRecord(self.phi, self.n_features)

    def __repr__(self) -> str:
        return f"TableFeatures(states={self.phi.shape[0]}, features={self.n_features})"
