"""The one Gymnasium env behind every dynaplan world: stepped from its exact model.

A world is a ``TabularModel`` (plus rendering); this base class gives it Gymnasium's API in
the shape of ``gymnasium.envs.toy_text`` (``P``, ``initial_state_distrib``, ``s``,
``lastaction``, ``np_random``), with one uniform draw per reset and per step as
``categorical_sample`` makes, which is what the compiled ``world_step`` replays.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.envs.toy_text.utils import categorical_sample

from dynaplan.envs.tabular import PTable, TabularModel, to_P


class TabularEnv(gym.Env):  # type: ignore[type-arg]
    """A Gymnasium env stepped from ``self.model`` (a ``TabularModel``).

    Subclasses set the model with ``self.model = ...`` (spaces follow it) and add rendering.
    ``P`` is built from the model on first use, so large worlds start fast.
    """

    metadata = {"render_modes": ["ansi"], "render_fps": 4}  # noqa: RUF012  (Gymnasium convention)

    def __init__(self, model: TabularModel, render_mode: str | None = None) -> None:
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be one of {self.metadata['render_modes']}, got {render_mode!r}")
        self.render_mode = render_mode
        self.model = model
        self.s = int(np.argmax(model.start))
        self.lastaction: int | None = None

    @property
    def model(self) -> TabularModel:
        """The exact model of the world now in force."""
        return self._model

    @model.setter
    def model(self, model: TabularModel) -> None:
        self._model = model
        self._P: PTable | None = None
        self.observation_space = spaces.Discrete(model.n_states)  # type: ignore[assignment]
        self.action_space = spaces.Discrete(model.n_actions)  # type: ignore[assignment]

    @property
    def P(self) -> PTable:
        """Gymnasium's ``P[s][a] = [(prob, next_state, reward, terminated), ...]`` (built on first use)."""
        if self._P is None:
            self._P = to_P(self._model)
        return self._P

    @property
    def initial_state_distrib(self) -> np.ndarray:
        return self._model.start

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[int, dict[str, Any]]:
        super().reset(seed=seed)
        self.s = int(categorical_sample(self._model.start, self.np_random))
        self.lastaction = None
        return self.s, {"prob": float(self._model.start[self.s])}

    def step(self, action: int) -> tuple[int, float, bool, bool, dict[str, Any]]:
        # Outcome slots are in P order with zero-probability padding last, so one draw against
        # the slot probabilities picks what categorical_sample picks from P.
        m, s, a = self._model, self.s, int(action)
        k = int(categorical_sample(m.prob[s, a], self.np_random))
        self.s = int(m.next_state[s, a, k])
        self.lastaction = a
        return self.s, float(m.reward[s, a, k]), bool(m.terminated[s, a, k]), False, {"prob": float(m.prob[s, a, k])}
