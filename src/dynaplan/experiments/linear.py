"""Many seeds of a linear agent on a world, each run inside compiled code (``run_linear_loop``).

``run_linear_agent`` is a pure function of (agent class, parameters, problem, seed): the
agent's stream is ``SeedSequence(seed, spawn_key=(0,))``, the world's the one
``env.reset(seed=seed)`` creates, and the features start fresh (an empty tile-coding table),
so a run equals the object-API loop

    agent = Cls(env, features, seed=seed, **params); obs, _ = env.reset(seed=seed)
    ... agent.act(obs); env.step(a); agent.observe(...); env.reset() after each episode

step for step (``tests/test_linear.py``). The runner steps tabular worlds (any env with an exact
model) and the compiled continuous worlds (``envs.continuous.CONTINUOUS_WORLDS``); any other
env is refused by name (it still runs through the object API with a features object).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

import gymnasium as gym
import numpy as np

from dynaplan.agents.linear import LinearAgent, default_features
from dynaplan.envs.continuous import CONTINUOUS_WORLDS, buffer_sizes
from dynaplan.envs.tabular import world_of
from dynaplan.planning.linear_loop import run_linear_loop
from dynaplan.rng import agent_stream, env_stream


class LinearProblem(NamedTuple):
    """What a run needs: the world record, a features object, sizes and the time limit."""

    world: Any
    features: Any
    n_actions: int
    max_episode_steps: int


class LinearRun(NamedTuple):
    """One run: ``episode_steps: int64[E]``, ``episode_returns: float64[E]``, real steps, final
    agent state and features record."""

    seed: int
    episode_steps: np.ndarray
    episode_returns: np.ndarray
    total_steps: int
    agent: Any
    features: Any


def linear_problem_of(
    env: gym.Env[Any, Any] | str, features: Any = None, *, max_episode_steps: int | None = None, **env_kwargs: Any
) -> LinearProblem:
    """The ``LinearProblem`` of an env (instance or id) seen through ``features``.

    ``max_episode_steps`` overrides the env's registered time limit (0 = none).
    """
    if isinstance(env, str):
        env = gym.make(env, **env_kwargs)
    spec_id = env.spec.id if env.spec is not None else type(env.unwrapped).__name__
    world: Any = None
    for env_id, cls in CONTINUOUS_WORLDS.items():
        if type(env.unwrapped) is type(gym.make(env_id).unwrapped):
            world = cls()
            break
    if world is None:
        try:
            world = world_of(env)
        except (ValueError, AttributeError, TypeError):
            raise ValueError(
                f"the batched runner cannot step {spec_id!r}: it runs tabular worlds and "
                f"{', '.join(CONTINUOUS_WORLDS)}; use the object API (dynaplan.agents.linear) for other envs"
            ) from None
    if features is None:
        features = default_features(env.observation_space)
    limit = env.spec.max_episode_steps if env.spec is not None else None
    if max_episode_steps is not None:
        limit = max_episode_steps
    return LinearProblem(world, features, int(env.action_space.n), int(limit or 0))  # type: ignore[attr-defined]


def run_linear_agent(
    agent_cls: type[LinearAgent],
    params: Mapping[str, Any],
    problem: LinearProblem,
    seed: int,
    *,
    episodes: int = 0,
    steps: int = 0,
) -> LinearRun:
    """One run: ``episodes`` episodes (if > 0) or ``steps`` real steps (if > 0), whichever ends first."""
    if episodes <= 0 and steps <= 0:
        raise ValueError("give episodes > 0 or steps > 0")
    checked = agent_cls.check_params(params)
    feats = problem.features
    state = agent_cls.build_state(int(feats.n_features), int(feats.n_active), problem.n_actions, checked)
    frec = feats.record()
    capacity = episodes if episodes > 0 else steps
    ep_steps = np.zeros(capacity, dtype=np.int64)
    ep_returns = np.zeros(capacity)
    n_state, n_obs = buffer_sizes(problem.world)
    k = int(feats.n_active)
    done, t = run_linear_loop(
        problem.world, frec, state, agent_stream(seed), env_stream(seed), episodes, steps,
        problem.max_episode_steps, ep_steps, ep_returns,
        np.zeros(n_state), np.zeros(n_obs), np.zeros(k, dtype=np.int64), np.zeros(k),
        np.zeros(k, dtype=np.int64), np.zeros(k),
    )
    n = min(done, capacity)
    return LinearRun(int(seed), ep_steps[:n], ep_returns[:n], int(t), state, frec)


def run_linear_batch(
    agent_cls: type[LinearAgent], params: Mapping[str, Any], problem: LinearProblem, seeds: Iterable[int], **kwargs: Any
) -> list[LinearRun]:
    """``run_linear_agent`` for each seed."""
    checked = agent_cls.check_params(params)
    return [run_linear_agent(agent_cls, checked, problem, int(seed), **kwargs) for seed in seeds]
