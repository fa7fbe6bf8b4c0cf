"""``Problem`` records (``core.records``) of Gymnasium envs, one maker per encoding.

``table_problem(env)``: the compiled world of an env with an exact tabular model, its model and
time limit (state indices). ``features_problem(env, features)``: a tabular or compiled continuous
world seen through a features object (sparse features). Wrappers that change dynamics, rewards or
observations are refused by name: the compiled loops step the unwrapped env.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym

from dynaplan.core.records import Problem
from dynaplan.envs.continuous import CONTINUOUS_WORLDS
from dynaplan.envs.tabular import model_of, world_of

__all__ = ["NEUTRAL_WRAPPERS", "default_features", "features_problem", "table_problem"]

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


def table_problem(env: gym.Env[Any, Any] | str, **env_kwargs: Any) -> Problem:
    """The ``"table"`` ``Problem`` of an env instance or a registered env id (ValueError for
    wrappers that change dynamics or rewards, see ``NEUTRAL_WRAPPERS``)."""
    if isinstance(env, str):
        env = gym.make(env, **env_kwargs)
    limit = _time_limit(env)
    world = world_of(env)
    try:
        model = model_of(env)
    except ValueError:
        model = None
    n_states, n_actions = int(world.next_state.shape[1]), int(world.next_state.shape[2])
    return Problem(world, "table", n_actions, limit, n_states=n_states, model=model)


def default_features(space: gym.Space[Any]) -> Any:
    """The features a linear agent uses when none are given: ``OneHot`` for a Discrete observation
    space, a ``TileCoder`` (8 tilings of 8 tiles per dimension, 4096 features) over a bounded Box."""
    import numpy as np

    from dynaplan.features.onehot import OneHot
    from dynaplan.features.tiles import TileCoder

    if isinstance(space, gym.spaces.Discrete):
        return OneHot.from_space(space)
    if isinstance(space, gym.spaces.Box) and np.all(np.isfinite(space.low)) and np.all(np.isfinite(space.high)):
        return TileCoder.from_space(space)
    raise ValueError(
        f"a linear agent needs features for the observation space {space}: pass features=, "
        "e.g. TileCoder(low, high, tilings=8, tiles_per_dim=8, size=4096) with finite bounds"
    )


def features_problem(
    env: gym.Env[Any, Any] | str, features: Any = None, *, max_episode_steps: int | None = None, **env_kwargs: Any
) -> Problem:
    """The ``"features"`` ``Problem`` of an env (instance or id) seen through ``features``
    (``default_features`` of its observation space if None). The compiled loop steps tabular
    worlds (any env with an exact model) and ``envs.continuous.CONTINUOUS_WORLDS``; any other env
    is refused by name. ``max_episode_steps`` overrides the env's time limit (0 = none)."""
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
    limit = _time_limit(env) if max_episode_steps is None else int(max_episode_steps)
    if not isinstance(env.action_space, gym.spaces.Discrete):
        raise ValueError(f"linear agents need a Discrete action space, got {env.action_space}")
    shape = tuple(env.observation_space.shape or ())
    return Problem(world, "features", int(env.action_space.n), int(limit or 0), features=features, obs_shape=shape)
