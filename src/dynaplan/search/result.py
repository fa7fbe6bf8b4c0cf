"""What a decision-time search returns."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


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
