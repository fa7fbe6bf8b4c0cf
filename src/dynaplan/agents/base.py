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


def play_episode(
    agent: Any, env: gym.Env[Any, Any], *, seed: int | None = None, learn: bool = True
) -> tuple[int, float]:
    """One episode of ``agent`` (any object with ``act`` / ``observe``) in ``env``, reset with
    ``seed``; ``observe`` is called only when ``learn``. Returns (steps, undiscounted return)."""
    obs, _ = env.reset(seed=seed)
    steps, total = 0, 0.0
    while True:
        action = agent.act(obs)
        next_obs, reward, terminated, truncated, _ = env.step(action)
        if learn:
            agent.observe(obs, action, float(reward), next_obs, terminated, truncated)
        steps += 1
        total += float(reward)
        obs = next_obs
        if terminated or truncated:
            return steps, total


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


def check_positive_count(name: str, value: Any) -> int:
    """``value`` as a positive integer; ``ParamError`` naming it otherwise."""
    v = check_count(name, value)
    if v < 1:
        raise ParamError(name, f"{name} must be a positive integer, got {value!r}")
    return v


def check_td_params(params: Mapping[str, Any], allowed: set[str], **defaults: Any) -> dict[str, Any]:
    """Common hyperparameters of TD agents (tabular and linear): alpha in (0, 1], epsilon and gamma
    in [0, 1], q_init a number; ``allowed`` names the agent's other keys, ``defaults`` overrides
    the defaults (alpha 0.1, epsilon 0.1, gamma 0.95, q_init 0)."""
    unknown = set(params) - allowed - {"alpha", "epsilon", "gamma", "q_init"}
    if unknown:
        raise ParamError(min(unknown), f"unknown parameter(s): {', '.join(sorted(unknown))}")
    out = {"alpha": 0.1, "epsilon": 0.1, "gamma": 0.95, "q_init": 0.0, **defaults, **params}
    out["alpha"] = check_unit("alpha", out["alpha"], low_open=True)
    out["epsilon"] = check_unit("epsilon", out["epsilon"])
    out["gamma"] = check_unit("gamma", out["gamma"])
    out["q_init"] = check_number("q_init", out["q_init"])
    return out


def check_number(name: str, value: Any) -> float:
    """``value`` as a finite or infinite float (a bool or a string is refused); ``ParamError`` naming it otherwise."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ParamError(name, f"{name} must be a number, got {value!r}")
    return float(value)


def check_choice(name: str, value: Any, choices: Any) -> str:
    """``value`` if it is one of ``choices`` (strings); ``ParamError`` naming it otherwise."""
    if not isinstance(value, str) or value not in choices:
        shown = [repr(c) for c in choices]
        options = " or ".join(shown) if len(shown) == 2 else f"one of {', '.join(shown)}"
        raise ParamError(name, f"{name} must be {options}, got {value!r}")
    return value


def check_flag(name: str, value: Any) -> bool:
    """``value`` as a bool (a NumPy bool too, never a number); ``ParamError`` naming it otherwise."""
    if not isinstance(value, bool | np.bool_):
        raise ParamError(name, f"{name} must be true or false, got {value!r}")
    return bool(value)


def check_positive(name: str, value: Any) -> float:
    """``value`` as a float > 0; ``ParamError`` naming it otherwise."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not float(value) > 0:
        raise ParamError(name, f"{name} must be a positive number, got {value!r}")
    return float(value)


INT64_MAX = 2**63 - 1
"""The largest count a compiled kernel accepts (its counters are int64)."""


def check_budget(name: str, value: Any) -> int:
    """``value`` as an integer in [0, 2**63 - 1] (a count a kernel loops over); ``ParamError`` naming it otherwise."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or not 0 <= int(value) <= INT64_MAX:
        raise ParamError(name, f"{name} must be an integer in [0, {INT64_MAX}], got {value!r}")
    return int(value)


def check_index(name: str, value: Any, n: int, what: str) -> int:
    """``value`` as an int in [0, n) (a state or action a kernel indexes with); ValueError naming it otherwise.

    The compiled kernels index their arrays unchecked (bounds checks would cost in every inner
    loop), so a state or action from outside the env's spaces must be refused before a kernel
    sees it: read out of bounds, it gives garbage, writes over memory or kills the interpreter.
    """
    if type(value) is int and 0 <= value < n:  # the common case first, without the slower ABC checks
        return value
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer, numbers.Integral)):
        raise ValueError(f"{name} must be an integer {what} in [0, {n - 1}], got {value!r}")
    v = int(value)
    if not 0 <= v < n:
        article = "an" if what[0] in "aeiou" else "a"
        raise ValueError(f"{name} must be {article} {what} in [0, {n - 1}] (the env has {n} {what}s), got {v}")
    return v


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
        """Validated hyperparameters with defaults filled in; a bad or unknown one raises
        ``ParamError(key, message)`` (a ``ValueError``), so a spec error points at ``key``."""
        raise NotImplementedError

    @classmethod
    def defaults(cls) -> dict[str, Any]:
        """Every hyperparameter the agent accepts, with its default (``check_params({})``): the one
        source of the options and defaults the CLI and specs show."""
        return cls.check_params({})

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

    # States and actions are checked here, in Python, before any kernel indexes with them
    # (``check_index``): out of range they are a ValueError naming the argument and the range.
    def check_obs(self, obs: Any, name: str = "obs") -> int:
        """``obs`` as a state index in [0, n_states) (ValueError naming ``name`` otherwise)."""
        return check_index(name, obs, self.n_states, "state")

    def check_action(self, action: Any, name: str = "action") -> int:
        """``action`` as an action index in [0, n_actions) (ValueError naming ``name`` otherwise)."""
        return check_index(name, action, self.n_actions, "action")

    def act(self, obs: int) -> int:
        """An action for ``obs`` under the agent's behaviour policy (epsilon-greedy)."""
        return int(act_once(self.state, self.check_obs(obs), self.rng))

    def observe(
        self, obs: int, action: int, reward: float, next_obs: int, terminated: bool, truncated: bool = False
    ) -> None:
        """Learn from one real transition (and plan, for planning agents)."""
        s, a, s2 = self.check_obs(obs), self.check_action(action), self.check_obs(next_obs, "next_obs")
        if type(reward) is not float and (isinstance(reward, bool) or not isinstance(reward, numbers.Real)):
            raise ValueError(f"reward must be a number, got {reward!r}")
        observe_once(self.state, s, a, float(reward), s2, bool(terminated), bool(truncated), self.rng)

    def greedy_action(self, obs: int) -> int:
        """The greedy action for ``obs`` (ties to the lowest index; draws no random number)."""
        return int(np.argmax(self.q[self.check_obs(obs)]))

    def greedy_policy(self) -> np.ndarray:
        """``greedy_action`` for every state: int64[n_states]."""
        return np.argmax(self.q, axis=1).astype(np.int64)

    def run_episode(self, env: gym.Env[Any, Any], *, seed: int | None = None, learn: bool = True) -> tuple[int, float]:
        """Play one episode in ``env`` (reset with ``seed``); returns (steps, return)."""
        return play_episode(self, env, seed=seed, learn=learn)

    def view(self) -> Any:
        """What a viewer may read of this agent: an ``agents.views.AgentView`` (a copy)."""
        from dynaplan.agents.views import view_of

        return view_of(self.state)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"{type(self).__name__}({args}, seed={self.seed!r})"
