"""The records every family of agent shares: the ``Problem`` a run steps and the ``RunResult`` it gives."""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

ENCODINGS = ("table", "features", "vector")
"""How a ``Problem`` presents an observation to the agent: a state index (tabular agents), sparse
features (linear agents: active indices and values from a features object), a raw float vector
(neural agents)."""


class Problem(NamedTuple):
    """What a compiled run needs from an env, for one family's encoding of its observations.

    Attributes:
      world: the compiled world the family's loop steps (``envs.tabular.World``, a continuous
        world record, or a family's own, e.g. a JAX env)
      encoding: ``"table"`` | ``"features"`` | ``"vector"`` (see ``ENCODINGS``)
      n_actions: actions of the (Discrete) action space
      max_episode_steps: the env's time limit (0: none)
      n_states: states of a ``"table"`` problem (0 otherwise)
      model: the env's exact model (``envs.tabular.TabularModel``) for ``"table"`` problems that have one
      features: the features object of a ``"features"`` problem (``TileCoder``, ``OneHot``...)
      obs_shape: the observation's shape for ``"vector"`` (and Box ``"features"``) problems
    """

    world: Any
    encoding: str
    n_actions: int
    max_episode_steps: int
    n_states: int = 0
    model: Any = None
    features: Any = None
    obs_shape: tuple[int, ...] = ()


class RunResult(NamedTuple):
    """One run of one agent, whatever its family.

    Attributes:
      seed: the run seed
      episode_steps: int64[E], steps of each finished episode
      episode_returns: float64[E], undiscounted return of each finished episode
      step_rewards: float64[T], reward of each real step (empty unless asked for)
      total_steps: real steps taken
      agent: the agent's final kernel state (``agent.q`` is a tabular agent's Q table)
      features: the run's final features record (``"features"`` problems; None otherwise)
    """

    seed: int
    episode_steps: np.ndarray
    episode_returns: np.ndarray
    step_rewards: np.ndarray
    total_steps: int
    agent: Any
    features: Any = None
