"""The object face of compiled agents: ``act`` / ``observe`` on any Discrete Gymnasium env."""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from typing import Any, ClassVar, NamedTuple

import gymnasium as gym
import numpy as np

from dynaplan.envs.tabular import TabularModel
from dynaplan.planning.protocol import act_once, observe_once
from dynaplan.rng import agent_stream


class ParamError(ValueError):
    """A bad parameter: ``key`` names it (``"alpha"``, ``"planning_steps"``), ``str(err)`` is the
    one-line message (``"alpha must be in (0, 1], got 2"``).

    Raised where input is checked (agent ``check_params``, a kind's ``check(cell)``), so the
    layer that reports it (a spec file, the CLI) points at the key without reading the message.
    A ``ValueError``: code that catches ``ValueError`` keeps working.
    """

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key

    def __reduce__(self) -> tuple[type[ParamError], tuple[str, str]]:
        # Rebuilt with both arguments when it crosses a process boundary (pool workers, Ray).
        return type(self), (self.key, str(self))


def check_unit(name: str, value: Any, *, low_open: bool = False) -> float:
    """``value`` as a float in [0, 1] (or (0, 1] with ``low_open``); ``ParamError`` naming it otherwise."""
    interval = "(0, 1]" if low_open else "[0, 1]"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ParamError(name, f"{name} must be a number in {interval}, got {value!r}")
    v = float(value)
    if not (0.0 < v <= 1.0 if low_open else 0.0 <= v <= 1.0):
        raise ParamError(name, f"{name} must be in {interval}, got {value!r}")
    return v


def check_count(name: str, value: Any) -> int:
    """``value`` as a non-negative integer; ``ParamError`` naming it otherwise."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or int(value) < 0:
        raise ParamError(name, f"{name} must be a non-negative integer, got {value!r}")
    return int(value)


def check_positive(name: str, value: Any) -> float:
    """``value`` as a float > 0; ``ParamError`` naming it otherwise."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not float(value) > 0:
        raise ParamError(name, f"{name} must be a positive number, got {value!r}")
    return float(value)


def discrete_sizes(env: gym.Env[Any, Any]) -> tuple[int, int]:
    """(n_states, n_actions) of an env whose spaces are both ``Discrete`` starting at 0."""
    sizes = []
    for what, space in (("observation", env.observation_space), ("action", env.action_space)):
        if not isinstance(space, gym.spaces.Discrete):
            raise ValueError(f"dynaplan agents need a Discrete {what} space, got {space}")
        if int(space.start) != 0:
            raise ValueError(f"dynaplan agents need a Discrete {what} space starting at 0, got {space}")
        sizes.append(int(space.n))
    return sizes[0], sizes[1]


class TabularAgent:
    """Base of the object API: owns a kernel state and an explicit random stream.

    A subclass names itself (``name``), validates its hyperparameters (``check_params``) and
    builds its kernel state (``build_state``); ``act`` and ``observe`` call the compiled
    kernels registered for that state, the same ones the batched runner calls.

    The agent's stream is ``SeedSequence(seed, spawn_key=(0,))`` and the env should be reset
    with ``env.reset(seed=seed)``: then the batched runner gives identical results.
    """

    name: ClassVar[str] = ""
    needs_model: ClassVar[bool] = False
    #: What the registry-parametrised tests (``tests/test_equivalence.py``) run a registered
    #: agent with: parameters (defaults filled in by ``check_params``) on the env ``example_env``,
    #: where the object API and the compiled runner must give identical runs. Override them
    #: when the defaults are too slow or the agent needs a particular env (an exact model, ...).
    example_params: ClassVar[Mapping[str, Any]] = {}
    example_env: ClassVar[str] = "dynaplan/DynaMaze-v0"

    def __init__(self, env: gym.Env[Any, Any], *, seed: int | None = None, **params: Any) -> None:
        self.n_states, self.n_actions = discrete_sizes(env)
        self.params = self.check_params(params)
        model = None
        if self.needs_model_for(self.params):
            from dynaplan.envs.tabular import model_of

            model = model_of(env)
        self.seed = seed
        self.rng = agent_stream(seed)
        self.state: NamedTuple = self.build_state(self.n_states, self.n_actions, model, self.params)

    # -- what a subclass provides ---------------------------------------------------------
    @classmethod
    def check_params(cls, params: Mapping[str, Any]) -> dict[str, Any]:
        """Validated hyperparameters with defaults filled in (ValueError naming a bad one)."""
        raise NotImplementedError

    @classmethod
    def needs_model_for(cls, params: Mapping[str, Any]) -> bool:
        """Whether ``build_state`` needs the env's exact model for these parameters."""
        return cls.needs_model

    @classmethod
    def build_state(
        cls, n_states: int, n_actions: int, model: TabularModel | None, params: Mapping[str, Any]
    ) -> NamedTuple:
        """The kernel state of a fresh agent."""
        raise NotImplementedError

    # -- the object API -------------------------------------------------------------------
    @property
    def q(self) -> np.ndarray:
        """The action-value table, float64[n_states, n_actions] (a live view)."""
        return self.state.q  # type: ignore[attr-defined, no-any-return]

    def act(self, obs: int) -> int:
        """An action for ``obs`` under the agent's behaviour policy (epsilon-greedy)."""
        return int(act_once(self.state, int(obs), self.rng))

    def observe(
        self, obs: int, action: int, reward: float, next_obs: int, terminated: bool, truncated: bool = False
    ) -> None:
        """Learn from one real transition (and plan, for planning agents)."""
        observe_once(
            self.state, int(obs), int(action), float(reward), int(next_obs), bool(terminated), bool(truncated), self.rng
        )

    def greedy_action(self, obs: int) -> int:
        """The greedy action for ``obs`` (ties to the lowest index; draws no random number)."""
        return int(np.argmax(self.q[int(obs)]))

    def greedy_policy(self) -> np.ndarray:
        """``greedy_action`` for every state: int64[n_states]."""
        return np.argmax(self.q, axis=1).astype(np.int64)

    def run_episode(self, env: gym.Env[Any, Any], *, seed: int | None = None, learn: bool = True) -> tuple[int, float]:
        """Play one episode in ``env`` (reset with ``seed``); returns (steps, return)."""
        obs, _ = env.reset(seed=seed)
        steps, total = 0, 0.0
        while True:
            action = self.act(obs)
            next_obs, reward, terminated, truncated, _ = env.step(action)
            if learn:
                self.observe(obs, action, float(reward), next_obs, terminated, truncated)
            steps += 1
            total += float(reward)
            obs = next_obs
            if terminated or truncated:
                return steps, total

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"{type(self).__name__}({args}, seed={self.seed!r})"
