"""The tabular family of the agent protocol (``core.agent.Agent``): state indices, Numba loops."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, NamedTuple

import gymnasium as gym
import numpy as np

from dynaplan.agents.problems import table_problem
from dynaplan.core.agent import Agent, play_episode
from dynaplan.core.kernels import act_once, observe_once
from dynaplan.core.loop import Chunker, run_chunked
from dynaplan.core.params import (
    INT64_MAX,
    ParamError,
    check_budget,
    check_choice,
    check_count,
    check_flag,
    check_index,
    check_int_in,
    check_known,
    check_number,
    check_positive,
    check_positive_count,
    check_real_in,
    check_td_params,
    check_unit,
)
from dynaplan.core.records import Budget, Problem, RunResult
from dynaplan.rng import agent_stream, env_stream

__all__ = [
    "INT64_MAX", "ParamError", "TabularAgent", "check_budget", "check_choice", "check_count", "check_flag",
    "check_index", "check_int_in", "check_known", "check_number", "check_positive", "check_positive_count",
    "check_real_in", "check_td_params", "check_unit",
    "discrete_sizes", "play_episode",
]


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


class TabularAgent(Agent):
    """The tabular family: observations are state indices of a Discrete env, the kernels follow
    ``core.kernels`` and the batched runner is ``core.loop.run_chunked``.

    A subclass names itself (``name``), validates its hyperparameters (``check_params``) and
    builds its kernel state (``build_state``); ``act`` and ``observe`` call the compiled
    kernels registered for that state, the same ones the batched runner calls.

    The agent's stream is ``SeedSequence(seed, spawn_key=(0,))`` and the env should be reset
    with ``env.reset(seed=seed)``: then the batched runner gives identical results.
    """

    family: ClassVar[str] = "tabular"
    encoding: ClassVar[str] = "table"
    needs_model: ClassVar[bool] = False

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
    def needs_model_for(cls, params: Mapping[str, Any]) -> bool:
        """Whether ``build_state`` needs the env's exact model for these parameters."""
        return cls.needs_model


    # -- the execution backend ------------------------------------------------------------
    @classmethod
    def problem_of(cls, env: gym.Env[Any, Any] | str, **options: Any) -> Problem:
        """``agents.problems.table_problem``: the env's compiled world, exact model and time limit."""
        return table_problem(env, **options)

    @classmethod
    def run_budget(cls, params: Mapping[str, Any], problem: Problem, seed: int, budget: Budget) -> RunResult:
        """One run in ``core.loop.run_chunked`` (compiled chunks of about 0.2 s)."""
        state = cls.build_state(problem.n_states, problem.n_actions, problem.model, params)
        ep_steps, ep_returns = budget.episode_outputs()
        step_rewards = np.zeros(budget.steps if budget.record_step_rewards else 0)
        loop = run_chunked(
            problem.world, state, agent_stream(seed), env_stream(seed), budget.episodes, budget.steps,
            budget.limit(problem), ep_steps, ep_returns, step_rewards,
            chunker=budget.chunker if budget.chunker is not None else Chunker(),
        )
        n = min(int(loop.episodes[0]), budget.capacity)
        return RunResult(int(seed), ep_steps[:n], ep_returns[:n], step_rewards, int(loop.t[0]), state)

    # -- the object API -------------------------------------------------------------------
    @property
    def q(self) -> np.ndarray:
        """The action-value table, float64[n_states, n_actions] (a live view)."""
        return self.state.q  # type: ignore[attr-defined, no-any-return]

    def check_obs(self, obs: Any, name: str = "obs") -> int:
        """``obs`` as a state index in [0, n_states) (ValueError naming ``name`` otherwise): the
        kernels index unchecked, so a state from outside the env's space is refused here."""
        return check_index(name, obs, self.n_states, "state")

    def _act(self, obs: int) -> int:
        return int(act_once(self.state, obs, self.rng))

    def _observe(self, obs: int, action: int, reward: float, next_obs: int, terminated: bool, truncated: bool) -> None:
        observe_once(self.state, obs, action, reward, next_obs, terminated, truncated, self.rng)

    def greedy_action(self, obs: int) -> int:
        """The greedy action for ``obs`` (ties to the lowest index; draws no random number)."""
        return int(np.argmax(self.q[self.check_obs(obs)]))

    def greedy_policy(self) -> np.ndarray:
        """``greedy_action`` for every state: int64[n_states]."""
        return np.argmax(self.q, axis=1).astype(np.int64)

    def view(self) -> Any:
        """What a viewer may read of this agent: an ``agents.views.AgentView`` (a copy)."""
        from dynaplan.agents.views import view_of

        return view_of(self.state)
