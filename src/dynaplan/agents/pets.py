"""The object API of PETS and its true-model and random rows: ``act(obs)`` / ``observe(...)``.

The functions it runs are ``dynaplan.neural.pets``'s; this module imports JAX.

``PETSAgent(env, seed=s, **params)`` on a Gymnasium env whose dynamics dynaplan steps in JAX
(``dynaplan.neural.worlds.WORLDS``) makes the same decisions as :func:`dynaplan.neural.pets.run_seeds`
for seed ``s`` when the env is reset with ``env.reset(seed=s)`` and then ``env.reset()`` each
episode (the same keys; the floating-point results agree to float32 rounding: the runner's
programs are batched over seeds). Every input is checked where it enters: a bad parameter raises
``ParamError`` naming it; an observation of the wrong shape or not finite, an action of the wrong
shape, outside the action box or not finite raises ``ValueError``; both are one line.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any, ClassVar

import jax
import jax.numpy as jnp
import numpy as np

from dynaplan.agents.pets_params import DEFAULTS, check_pets_params
from dynaplan.neural.ensemble import ensemble_train
from dynaplan.neural.pets import (
    PETSConfig,
    agent_key,
    decide,
    init_params,
    make_config,
    start_decision,
    train_key,
    world_of_env,
)
from dynaplan.neural.replay import replay_add, replay_init
from dynaplan.neural.worlds.base import JaxWorld

__all__ = ["DEFAULTS", "PETSAgent", "check_pets_params", "config_of"]

def config_of(world: JaxWorld, params: Mapping[str, Any]) -> PETSConfig:
    """The static run configuration of checked ``params`` on ``world``."""
    p = check_pets_params(params)
    return make_config(
        world, p["model"], members=p["members"], hidden=(p["hidden_width"],) * p["hidden_layers"],
        episodes=p["episodes"], random_episodes=p["random_episodes"], method=p["planner"], horizon=p["horizon"],
        population=p["population"], iterations=p["iterations"], elites=p["elites"], particles=p["particles"],
        propagation=p["propagation"], warm_start=p["warm_start"], bonus=p["bonus"], temperature=p["temperature"],
    )


@partial(jax.jit, static_argnums=(0, 5))
def _decide(cfg: PETSConfig, params: Any, key: jax.Array, obs: jax.Array, carry: Any, explore: bool) -> Any:
    return decide(cfg, params, key, obs, carry, explore)


@partial(jax.jit, static_argnums=0)
def _train(cfg: PETSConfig, params: Any, key: jax.Array, data: Any) -> Any:
    assert cfg.ensemble is not None
    return ensemble_train(cfg.ensemble, params, key, data, cfg.train)


_add = jax.jit(replay_add)


class PETSAgent:
    """PETS and its reference rows as an agent (module docstring); ``model`` picks the row."""

    name: ClassVar[str] = "pets"

    def __init__(self, env: Any, *, seed: int | None = None, **params: Any) -> None:
        self.world = world_of_env(env)
        self.params = check_pets_params(params)
        self.cfg = config_of(self.world, self.params)
        self.seed = 0 if seed is None else int(seed)
        self.model_params = init_params(self.cfg, self.seed)
        self.data = replay_init(self.cfg.capacity, self.world.obs_dim, self.world.act_dim)
        self.episode, self.t = 0, 0
        self.decision = start_decision(self.cfg)
        self.last_holdout_mse = float("nan")

    @classmethod
    def check_params(cls, params: Mapping[str, Any]) -> dict[str, Any]:
        """The parameters with their defaults; ``ParamError`` naming a bad one."""
        return check_pets_params(params)

    @classmethod
    def defaults(cls) -> dict[str, Any]:
        """Every hyperparameter with its default."""
        return check_pets_params({})

    def _check_obs(self, name: str, obs: Any) -> np.ndarray:
        o = np.asarray(obs, np.float32)
        if o.shape != (self.world.obs_dim,):
            raise ValueError(f"{name} must have shape ({self.world.obs_dim},), got {o.shape}")
        if not np.isfinite(o).all():
            raise ValueError(f"{name} must be finite, got {np.asarray(obs).tolist()}")
        return o

    def _check_action(self, action: Any) -> np.ndarray:
        a = np.asarray(action, np.float32)
        w = self.world
        if a.shape != (w.act_dim,):
            raise ValueError(f"action must have shape ({w.act_dim},), got {a.shape}")
        if not np.isfinite(a).all() or (a < w.action_low).any() or (a > w.action_high).any():
            raise ValueError(f"action must be finite and within [{w.action_low}, {w.action_high}], got {a.tolist()}")
        return a

    def act(self, obs: Any) -> np.ndarray:
        """The action for ``obs``: random in the first ``random_episodes`` episodes, planned after."""
        o = self._check_obs("obs", obs)
        explore = self.episode < self.cfg.random_episodes
        key = agent_key(self.seed, self.episode, self.t)
        action, self.decision = _decide(self.cfg, self.model_params, key, jnp.asarray(o), self.decision, explore)
        return np.asarray(action)

    def observe(self, obs: Any, action: Any, reward: float, next_obs: Any, terminated: bool, truncated: bool) -> None:
        """Store the transition; at the end of an episode, refit the ensemble."""
        o, a = self._check_obs("obs", obs), self._check_action(action)
        n = self._check_obs("next_obs", next_obs)
        if not np.isfinite(reward):
            raise ValueError(f"reward must be finite, got {reward!r}")
        self.data = _add(self.data, o, a, np.float32(reward), n, bool(terminated))
        self.t += 1
        if terminated or truncated:
            if self.cfg.ensemble is not None:
                self.model_params, report = _train(self.cfg, self.model_params, train_key(self.seed, self.episode),
                                                   self.data)
                self.last_holdout_mse = float(np.mean(np.asarray(report.holdout_mse)))
            self.episode, self.t = self.episode + 1, 0
            self.decision = start_decision(self.cfg)

    def view(self) -> dict[str, Any]:
        """What the agent holds now: episode, step, stored transitions, current plan, model fit."""
        return {"episode": self.episode, "step": self.t, "stored": int(self.data.size),
                "plan": np.asarray(self.decision.mean), "holdout_mse": self.last_holdout_mse}
