"""Many seeds of one agent on one world, each run entirely inside compiled code.

``run_agent`` is a pure function of (agent class, parameters, world, seed): the agent's stream
is ``SeedSequence(seed, spawn_key=(0,))`` and the world's is the stream Gymnasium's
``env.reset(seed=seed)`` creates, so a run equals the object-API loop

    agent = Cls(env, seed=seed, **params); obs, _ = env.reset(seed=seed)
    ... agent.act(obs); env.step(a); agent.observe(...); env.reset() after each episode

step for step (tested in ``tests/test_equivalence.py``).

Parameters are checked once, where they enter: ``check_agent_params`` turns them into a
``Checked`` record that ``run_batch`` and ``run_agent`` pass inward unchanged (``run_agent``
checks only a plain mapping). Each run goes through ``planning.loop.run_chunked``: compiled
chunks of about 0.2 s, so Ctrl-C stops a batch promptly (``BatchInterrupted`` carries the runs
that finished).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

import gymnasium as gym
import numpy as np

from dynaplan.agents.base import TabularAgent
from dynaplan.envs.tabular import TabularModel, World, model_of, world_of
from dynaplan.planning.loop import Chunker, run_chunked
from dynaplan.rng import agent_stream, env_stream


class RunResult(NamedTuple):
    """One run of one agent.

    Attributes:
      seed: the run seed
      episode_steps: int64[E], steps of each finished episode
      episode_returns: float64[E], undiscounted return of each finished episode
      step_rewards: float64[T], reward of each real step (empty unless asked for)
      total_steps: real steps taken
      agent: the agent's final kernel state (``agent.q`` is its Q table)
    """

    seed: int
    episode_steps: np.ndarray
    episode_returns: np.ndarray
    step_rewards: np.ndarray
    total_steps: int
    agent: Any


class Problem(NamedTuple):
    """What a run needs from an env: the world to step, its exact model and time limit."""

    world: World
    model: TabularModel | None
    n_states: int
    n_actions: int
    max_episode_steps: int


NEUTRAL_WRAPPERS = frozenset({
    "TimeLimit", "OrderEnforcing", "PassiveEnvChecker", "RecordEpisodeStatistics", "RenderCollection",
    "RecordVideo", "HumanRendering",
})
"""Gymnasium wrappers that change neither dynamics nor rewards nor observations (checkers,
statistics, rendering; ``TimeLimit``'s limit is carried into the runner)."""


def _time_limit(env: gym.Env[Any, Any]) -> int:
    """The episode step limit of ``env``: the smallest ``TimeLimit`` in its wrapper chain (0: none).

    Wrappers that change the dynamics, the rewards or the observations are refused by name: the
    compiled runner steps the unwrapped env's exact model, so it would silently run a different
    problem from the one the object API sees through the wrappers."""
    limits = []
    layer: Any = env
    while isinstance(layer, gym.Wrapper):
        name = type(layer).__name__
        if name not in NEUTRAL_WRAPPERS or not type(layer).__module__.startswith("gymnasium."):
            raise ValueError(
                f"the env is wrapped in {name}, which the compiled runner cannot apply (it steps the unwrapped "
                f"env's model); use the object API for wrapped envs, or only {', '.join(sorted(NEUTRAL_WRAPPERS))}"
            )
        if name == "TimeLimit":
            limits.append(int(layer._max_episode_steps))  # type: ignore[attr-defined]
        layer = layer.env
    if limits:
        return min(limits)
    return int(env.spec.max_episode_steps or 0) if env.spec is not None else 0


def problem_of(env: gym.Env[Any, Any] | str, **env_kwargs: Any) -> Problem:
    """The ``Problem`` of an env instance or a registered env id (ValueError for wrappers that
    change dynamics or rewards, see ``NEUTRAL_WRAPPERS``)."""
    if isinstance(env, str):
        from dynaplan.envs.make import make_env

        env = make_env(env, **env_kwargs)
    limit = _time_limit(env)
    world = world_of(env)
    try:
        model = model_of(env)
    except ValueError:
        model = None
    return Problem(world, model, int(world.next_state.shape[1]), int(world.next_state.shape[2]), limit)


@dataclass(frozen=True)
class Checked:
    """Hyperparameters validated by ``agent_cls.check_params`` (defaults filled in).

    Made once at the edge by ``check_agent_params``; the runner, batch and kind paths pass it
    inward unchanged and never check again.
    """

    agent_cls: type[TabularAgent]
    params: Mapping[str, Any]


def check_agent_params(agent_cls: type[TabularAgent], params: Mapping[str, Any] | Checked) -> Checked:
    """``params`` checked by ``agent_cls.check_params`` (``ParamError`` naming a bad one), unless already."""
    if isinstance(params, Checked) and params.agent_cls is agent_cls:
        return params
    raw = params.params if isinstance(params, Checked) else params
    return Checked(agent_cls, agent_cls.check_params(raw))


class BatchInterrupted(KeyboardInterrupt):
    """Ctrl-C during ``run_batch``: ``results`` holds the runs that finished before it."""

    def __init__(self, results: list[RunResult]) -> None:
        super().__init__(f"interrupted after {len(results)} finished run(s)")
        self.results = results

    def __reduce__(self) -> tuple[type[BatchInterrupted], tuple[list[RunResult]]]:
        return type(self), (self.results,)


def run_agent(
    agent_cls: type[TabularAgent],
    params: Mapping[str, Any] | Checked,
    problem: Problem,
    seed: int,
    *,
    episodes: int = 0,
    steps: int = 0,
    record_step_rewards: bool = False,
    max_episode_steps: int | None = None,
    chunker: Chunker | None = None,
) -> RunResult:
    """One run: ``episodes`` episodes (if > 0) or ``steps`` real steps (if > 0), whichever ends first.

    ``params``: a mapping (checked here) or a ``Checked`` record (used as is). Episodes are
    truncated after ``max_episode_steps`` steps (None: the env's limit, ``problem.max_episode_steps``;
    0: none). ``chunker``: chunk sizes of the compiled loop (reuse one across the runs of a batch).
    """
    if episodes <= 0 and steps <= 0:
        raise ValueError("give episodes > 0 or steps > 0")
    checked = check_agent_params(agent_cls, params).params
    state = agent_cls.build_state(problem.n_states, problem.n_actions, problem.model, checked)
    capacity = episodes if episodes > 0 else steps
    ep_steps = np.zeros(capacity, dtype=np.int64)
    ep_returns = np.zeros(capacity)
    step_rewards = np.zeros(steps if record_step_rewards else 0)
    limit = problem.max_episode_steps if max_episode_steps is None else int(max_episode_steps)
    loop = run_chunked(
        problem.world, state, agent_stream(seed), env_stream(seed), episodes, steps, limit, ep_steps, ep_returns,
        step_rewards, chunker=chunker,
    )
    n = min(int(loop.episodes[0]), capacity)
    return RunResult(int(seed), ep_steps[:n], ep_returns[:n], step_rewards, int(loop.t[0]), state)


def run_batch(
    agent_cls: type[TabularAgent],
    params: Mapping[str, Any] | Checked,
    problem: Problem,
    seeds: Iterable[int],
    **kwargs: Any,
) -> list[RunResult]:
    """``run_agent`` for each seed (parameters checked once; each run compiled code end to end).

    Keyword arguments are ``run_agent``'s. Ctrl-C raises ``BatchInterrupted`` with the finished runs.
    """
    checked = check_agent_params(agent_cls, params)
    kwargs.setdefault("chunker", Chunker())
    results: list[RunResult] = []
    try:
        for seed in seeds:
            results.append(run_agent(agent_cls, checked, problem, int(seed), **kwargs))
    except KeyboardInterrupt:
        raise BatchInterrupted(results) from None
    return results
