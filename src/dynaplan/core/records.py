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


class Budget(NamedTuple):
    """How long one compiled run goes on and what it records (``Agent.run_compiled``'s keywords,
    checked: ``episodes > 0`` or ``steps > 0``).

    Attributes:
      episodes: episodes to finish (if > 0)
      steps: real steps to take (if > 0); the run ends at whichever comes first
      record_step_rewards: keep the reward of every real step
      max_episode_steps: truncate an episode after this many steps (None: the problem's limit; 0: none)
      chunker: chunk sizes a chunked loop reuses across the runs of a batch (others ignore it)
    """

    episodes: int = 0
    steps: int = 0
    record_step_rewards: bool = False
    max_episode_steps: int | None = None
    chunker: Any = None

    @property
    def capacity(self) -> int:
        """The most episodes the run can finish (the length of its per-episode outputs)."""
        return self.episodes if self.episodes > 0 else self.steps

    def limit(self, problem: Problem) -> int:
        """The episode limit in force: ``max_episode_steps``, else the problem's."""
        return problem.max_episode_steps if self.max_episode_steps is None else int(self.max_episode_steps)

    def episode_outputs(self) -> tuple[np.ndarray, np.ndarray]:
        """Zeroed ``(episode_steps: int64[capacity], episode_returns: float64[capacity])``."""
        return np.zeros(self.capacity, dtype=np.int64), np.zeros(self.capacity)

