"""The one agent protocol: a base class every family implements, and the one registry.

A family (tabular agents over state indices, linear agents over sparse features, a neural family
over raw vectors) is an abstract subclass of :class:`Agent` that fixes

* how an observation is checked and encoded (``check_obs``) and how a ``Problem`` is made from an
  env (``problem_of``, with the family's ``encoding``);
* its execution backend: ``run_compiled(params, problem, seed, episodes=, steps=, ...)``, one run
  in the family's compiled loop (a Numba loop today; a jitted JAX loop for the neural family),
  identical, step for step, to the object API on the same seed. ``run_compiled`` checks the
  problem's encoding and the budget once for every family and calls the family's
  ``run_budget(params, problem, seed, budget)`` (a ``core.records.Budget``).

An algorithm is a concrete subclass: ``name``, ``check_params`` (a ``ParamError`` naming a bad
key; ``defaults()`` = ``check_params({})`` is the one source of the defaults), its kernel state,
``_act`` / ``_observe`` on checked inputs. ``act`` / ``observe`` below check every input once,
here, for every agent of every family: states and actions in range, observations of the right
shape and finite, rewards finite numbers, ``terminated`` / ``truncated`` bools. The kernels index
unchecked, so nothing reaches them unchecked.

``register_agent(cls)`` adds a class to ``AGENTS``: the CLI (``dynaplan agents``, ``run``,
``show``), specs (kind ``episodes``), ``experiments.batch.run_batch`` and the registry-parametrised
contract tests (``dynaplan.testing.check_agent``) all read it.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np

from dynaplan.core.params import check_done, check_index, check_reward
from dynaplan.core.records import ENCODINGS, Budget, Problem, RunResult

__all__ = ["AGENTS", "FAMILIES", "Agent", "family_agents", "play_episode", "register_agent"]


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


class Agent(abc.ABC):
    """Base of every agent: the object API (``act`` / ``observe`` / ``view``) and the hooks a
    family gives the batched runner (``problem_of`` / ``run_compiled``). See the module doc.

    Instance attributes: ``params`` (checked, defaults filled in), ``seed``, ``rng`` (uint64[4],
    the agent's stream ``SeedSequence(seed, spawn_key=(0,))``), ``state`` (the kernel state),
    ``n_actions``.
    """

    name: ClassVar[str] = ""
    #: The family (``"tabular"``, ``"linear"``, ...): which ``Problem`` encoding and which compiled
    #: loop the batched runner uses for this agent.
    family: ClassVar[str] = ""
    #: The ``Problem.encoding`` of the family (one of ``core.records.ENCODINGS``).
    encoding: ClassVar[str] = ""
    #: What the contract checks (``dynaplan.testing.check_agent``) run the agent with: parameters
    #: (defaults filled in by ``check_params``) on the env ``example_env``. Keep a run of 4
    #: episodes well under a second.
    example_params: ClassVar[Mapping[str, Any]] = {}
    example_env: ClassVar[str] = "dynaplan/DynaMaze-v0"

    params: dict[str, Any]
    seed: int | None
    rng: np.ndarray
    state: Any
    n_actions: int

    @abc.abstractmethod
    def __init__(self, env: gym.Env[Any, Any], *args: Any, seed: int | None = None, **params: Any) -> None:
        """An agent for ``env`` (its spaces fix the sizes) with the stream of ``seed`` and the
        hyperparameters ``params`` (checked by ``check_params``; a family may take more
        positional arguments, e.g. a linear agent's features)."""

    @classmethod
    @abc.abstractmethod
    def build_state(cls, *sizes: Any) -> Any:
        """The kernel state of a fresh agent; the arguments are the family's (tabular:
        ``(n_states, n_actions, model, params)``, linear: ``(d, k, n_actions, params)``)."""

    # -- parameters -----------------------------------------------------------------------------
    @classmethod
    @abc.abstractmethod
    def check_params(cls, params: Mapping[str, Any]) -> dict[str, Any]:
        """Validated hyperparameters with defaults filled in; a bad or unknown one raises
        ``ParamError(key, message)`` (a ``ValueError``), so a spec error points at ``key``."""

    @classmethod
    def defaults(cls) -> dict[str, Any]:
        """Every hyperparameter the agent accepts, with its default (``check_params({})``): the one
        source of the options and defaults the CLI and specs show."""
        return cls.check_params({})

    # -- the execution backend of the family ----------------------------------------------------
    @classmethod
    @abc.abstractmethod
    def problem_of(cls, env: gym.Env[Any, Any] | str, **options: Any) -> Problem:
        """The ``Problem`` (this family's encoding) of an env instance or id."""

    @classmethod
    def run_compiled(
        cls,
        params: Mapping[str, Any],
        problem: Problem,
        seed: int,
        *,
        episodes: int = 0,
        steps: int = 0,
        record_step_rewards: bool = False,
        max_episode_steps: int | None = None,
        chunker: Any = None,
    ) -> RunResult:
        """One run in the family's compiled loop on checked ``params``: ``episodes`` episodes (if
        > 0) or ``steps`` real steps (if > 0), whichever ends first; episodes truncated after
        ``max_episode_steps`` (None: the problem's limit; 0: none). ``chunker``: chunk sizes a
        chunked backend reuses across the runs of a batch (others ignore it).

        Checks the problem's encoding and the budget, then runs the family's :meth:`run_budget`."""
        if problem.encoding != cls.encoding:
            raise ValueError(f"{cls.name} is a {cls.family} agent: it needs a {cls.encoding!r} problem, "
                             f"got {problem.encoding!r}")
        if episodes <= 0 and steps <= 0:
            raise ValueError("give episodes > 0 or steps > 0")
        return cls.run_budget(params, problem, seed, Budget(episodes, steps, record_step_rewards, max_episode_steps,
                                                            chunker))

    @classmethod
    def run_budget(cls, params: Mapping[str, Any], problem: Problem, seed: int, budget: Budget) -> RunResult:
        """The family's compiled run, for :meth:`run_compiled` (the problem's encoding and the
        budget checked). A family implements it, or overrides ``run_compiled`` whole."""
        raise NotImplementedError(f"{cls.__name__}: its family implements run_budget (or overrides run_compiled)")

    # -- inputs, checked once for every agent --------------------------------------------------
    @abc.abstractmethod
    def check_obs(self, obs: Any, name: str = "obs") -> Any:
        """``obs`` as the kernel takes it (ValueError naming ``name`` if it is not an observation
        of the agent's env)."""

    def check_action(self, action: Any, name: str = "action") -> int:
        """``action`` as an action index in [0, n_actions) (ValueError naming ``name`` otherwise)."""
        return check_index(name, action, self.n_actions, "action")

    # -- the object API -------------------------------------------------------------------------
    def act(self, obs: Any) -> int:
        """An action for ``obs`` under the agent's behaviour policy."""
        return self._act(self.check_obs(obs))

    def observe(
        self, obs: Any, action: Any, reward: Any, next_obs: Any, terminated: Any, truncated: Any = False
    ) -> None:
        """Learn from one real transition (and plan, for planning agents)."""
        s, a, s2 = self.check_obs(obs), self.check_action(action), self.check_obs(next_obs, "next_obs")
        r = check_reward(reward)
        self._observe(s, a, r, s2, check_done(terminated, "terminated"), check_done(truncated, "truncated"))

    @abc.abstractmethod
    def _act(self, obs: Any) -> int:
        """``act`` on a checked observation (calls the compiled kernel)."""

    @abc.abstractmethod
    def _observe(self, obs: Any, action: int, reward: float, next_obs: Any, terminated: bool, truncated: bool) -> None:
        """``observe`` on checked inputs (calls the compiled kernel)."""

    def view(self) -> Any:
        """What a viewer or a reproduction may read of the agent (a typed record); by default the
        kernel state."""
        return self.state

    def run_episode(self, env: gym.Env[Any, Any], *, seed: int | None = None, learn: bool = True) -> tuple[int, float]:
        """Play one episode in ``env`` (reset with ``seed``); returns (steps, return)."""
        return play_episode(self, env, seed=seed, learn=learn)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"{type(self).__name__}({args}, seed={self.seed!r})"


AGENTS: dict[str, type[Agent]] = {}
"""Every registered agent by name (the CLI's and specs' names), whatever its family."""

FAMILIES: dict[str, str] = {}
"""Family name -> its ``Problem`` encoding, for every family with a registered agent."""


def register_agent(cls: type[Agent]) -> type[Agent]:
    """Make an agent class available under ``cls.name`` to the CLI, specs, the batched runner and
    the contract checks (a decorator). The class must be a concrete ``Agent`` with a name and a family."""
    if not (isinstance(cls, type) and issubclass(cls, Agent)):
        raise TypeError(f"register_agent needs a subclass of dynaplan.core.agent.Agent, got {cls!r}")
    if not cls.name or not cls.family:
        raise ValueError(f"{cls.__name__} needs a name and a family (class attributes) to be registered")
    if cls.encoding not in ENCODINGS:
        raise ValueError(f"{cls.__name__}.encoding must be one of {', '.join(ENCODINGS)}, got {cls.encoding!r}")
    if getattr(cls, "__abstractmethods__", None):
        raise TypeError(f"{cls.__name__} does not implement {', '.join(sorted(cls.__abstractmethods__))}")
    AGENTS[cls.name] = cls
    FAMILIES.setdefault(cls.family, cls.encoding)
    return cls


def family_agents(family: str) -> list[str]:
    """The names of the registered agents of ``family``, sorted."""
    return sorted(name for name, cls in AGENTS.items() if cls.family == family)
