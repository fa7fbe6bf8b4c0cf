"""What a decision-time search returns, and what a searching agent keeps about its searches."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

__all__ = ["RootStats", "SearchCounters", "SearchResult", "new_root_stats", "new_search_counters"]


@dataclass(frozen=True)
class SearchResult:
    """One decision made by search from one state.

    Attributes:
      action: the action chosen
      visits: float64[A], simulations (MCTS, rollouts) or 1 (lookahead) spent on each root action
      values: float64[A], the root action-value estimates (NaN where an action got no simulation)
      simulations: simulations run for this decision (0 for lookahead)
      model_steps: simulated transitions drawn from the model (lookahead: outcomes expanded)
      seconds: wall time of the search, measured in Python around the compiled calls
    """

    action: int
    visits: np.ndarray
    values: np.ndarray
    simulations: int
    model_steps: int
    seconds: float


class SearchCounters(NamedTuple):
    """What a searching agent counted since it was built (each int64[1], kernel state).

    Attributes:
      decisions: real actions chosen by a search (not the epsilon-random ones)
      simulations: simulations run (MCTS, rollouts; Dyna-2: simulated episodes)
      model_steps: outcomes drawn from the model by searches (tree and rollout draws; lookahead:
        outcomes expanded), section 8.8's currency of planning compute
      real_steps: real steps observed
      nodes_reused: path-tree nodes kept from one decision to the next (tree reuse)
    """

    decisions: np.ndarray
    simulations: np.ndarray
    model_steps: np.ndarray
    real_steps: np.ndarray
    nodes_reused: np.ndarray


def new_search_counters() -> SearchCounters:
    """Counters at zero."""
    return SearchCounters(*(np.zeros(1, dtype=np.int64) for _ in SearchCounters._fields))


class RootStats(NamedTuple):
    """The root of a searching agent's last search (kernel state).

    Attributes:
      state: int64[1], the state searched from (-1 before the first search)
      n: float64[A], simulations per root action (lookahead: 1 each)
      q: float64[A], root value estimates (NaN: no simulation)
      visits_before: float64[1], the root's visits before the search: what came with statistics
        kept from earlier decisions (tree reuse, a persistent table; 0 for a fresh search)
      visits: float64[1], the root's visits after the search
    """

    state: np.ndarray
    n: np.ndarray
    q: np.ndarray
    visits_before: np.ndarray
    visits: np.ndarray


def new_root_stats(n_actions: int) -> RootStats:
    """No search yet: state -1, no visits, values NaN."""
    return RootStats(
        np.full(1, -1, dtype=np.int64), np.zeros(n_actions), np.full(n_actions, np.nan), np.zeros(1), np.zeros(1)
    )
