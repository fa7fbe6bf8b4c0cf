"""PETS and its reference rows (MPC on the true model, random play) in the one agent protocol:
``act`` plans at each decision, ``observe`` stores the transition and refits the ensemble after
each episode (Chua et al. 2018, algorithm 1; the functions are ``dynaplan.neural.pets``'s).

This module imports no JAX: its parameters are checked without it
(``dynaplan.agents.pets_params``: specs, ``dynaplan agents``), and the programs are imported when
an agent is made; without the ``deep`` extra that import says in one line how to install it.

``PETS(env, seed=s, **params)`` runs on a Gymnasium env whose dynamics dynaplan steps in JAX
(``Pendulum-v1``, ``MountainCarContinuous-v0``, ``dynaplan/CartpoleSwingup-v0``; the rewards
are known: the world's reward function). ``model`` picks the row: ``"pets"`` (probabilistic
ensemble), ``"de"`` (deterministic ensemble), ``"true"`` (the same planner on the true dynamics:
the budget's own ceiling), ``"random"`` (uniform actions throughout).

Two runners, one set of programs: ``run_compiled`` (the family's, ``agents.neural_base``) drives
this object API on the Gymnasium env, bit for bit; ``dynaplan.neural.pets.run_seeds`` runs many
seeds as one program per episode (``vmap`` over seeds of a ``lax.scan`` over the steps) in the
world stepped in JAX, and on ``dynaplan/CartpoleSwingup-v0`` (whose ``reset(seed=s)`` draws the
runner's start states) equals this agent to float32 rounding (``tests/test_neural_pets.py``).
Random streams: the agent's key at step ``t`` of episode ``e`` is ``neural.pets.agent_key(seed,
e, t)``; the training key after episode ``e`` is ``neural.pets.train_key(seed, e)``.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any, ClassVar, NamedTuple

import gymnasium as gym
import numpy as np

from dynaplan.agents.neural_base import NeuralAgent
from dynaplan.agents.pets_params import DEFAULTS, check_pets_params

__all__ = ["DEFAULTS", "PETS", "WORLD_IDS", "PETSState", "PETSView", "config_of"]

WORLD_IDS = ("Pendulum-v1", "MountainCarContinuous-v0", "dynaplan/CartpoleSwingup-v0")
"""The envs whose dynamics dynaplan steps in JAX (``dynaplan.neural.worlds.WORLDS``)."""


class PETSState(NamedTuple):
    """The agent's arrays (JAX pytrees): ``model`` the ensemble's parameters (``()`` for the true /
    random rows), ``data`` the replay (``neural.replay.Replay``), ``decision`` the plan carried
    to the next decision (``neural.pets.Decision``), ``value`` the terminal value's parameters
    (``neural.value.ValueParams``; ``()`` without ``terminal_value``)."""

    model: Any
    data: Any
    decision: Any
    value: Any = ()


class PETSView(NamedTuple):
    """What a viewer or a reproduction may read: ``episode`` (from 0), ``step`` within it,
    ``stored`` transitions, ``plan`` float32[H, a] (the carried plan), ``holdout_mse`` (the
    ensemble's held-out error after its last refit, normalised units; NaN before)."""

    episode: int
    step: int
    stored: int
    plan: np.ndarray
    holdout_mse: float


def config_of(world: Any, params: Mapping[str, Any], *, episodes: int = 1, replay_size: int | None = None) -> Any:
    """The static configuration (``neural.pets.PETSConfig``) of ``params`` on ``world``: runs of
    ``episodes`` episodes, a replay of ``replay_size`` transitions (None: ``params["capacity"]``;
    0: every transition of the run)."""
    from dynaplan.neural.pets import make_config

    p = check_pets_params(params)
    return make_config(
        world, p["model"], members=p["members"], hidden=(p["hidden_width"],) * p["hidden_layers"],
        episodes=episodes, random_episodes=p["random_episodes"], method=p["planner"], horizon=p["horizon"],
        population=p["population"], iterations=p["iterations"], elites=p["elites"], particles=p["particles"],
        propagation=p["propagation"], warm_start=p["warm_start"], bonus=p["bonus"], temperature=p["temperature"],
        replay_size=p["capacity"] if replay_size is None else replay_size,
        value_discount=p["value_discount"] if p["terminal_value"] else None,
    )


@functools.lru_cache(maxsize=1)
def _programs() -> tuple[Any, Any, Any, Any]:
    """The object API's jitted programs: one decision, one refit, one replay write, one fit of the
    terminal value."""
    import jax

    from dynaplan.neural.ensemble import ensemble_train
    from dynaplan.neural.pets import agent_key, decide, fit_value, train_key
    from dynaplan.neural.replay import replay_add

    def act(cfg: Any, explore: bool, params: Any, value: Any, seed: Any, episode: Any, t: Any, obs: Any,
            carry: Any) -> Any:
        return decide(cfg, params, agent_key(seed, episode, t), obs, carry, explore, value)

    def train(cfg: Any, params: Any, seed: Any, episode: Any, data: Any) -> Any:
        return ensemble_train(cfg.ensemble, params, train_key(seed, episode), data, cfg.train)

    return (jax.jit(act, static_argnums=(0, 1)), jax.jit(train, static_argnums=0), jax.jit(replay_add),
            jax.jit(fit_value, static_argnums=0))


class PETS(NeuralAgent):
    """PETS (or its true-model / random row) as an agent; see the module docstring."""

    name: ClassVar[str] = "pets"
    world_ids: ClassVar[tuple[str, ...]] = WORLD_IDS
    example_env: ClassVar[str] = "Pendulum-v1"
    example_params: ClassVar[Mapping[str, Any]] = dict(
        members=2, hidden_width=8, horizon=4, population=8, iterations=2, elites=2, particles=2, capacity=512)

    def __init__(self, env: gym.Env[Any, Any], *, seed: int | None = None, **params: Any) -> None:
        self.params = self.check_params(params)
        env_id = self.env_id(env)
        self._spaces(env)
        self.seed = 0 if seed is None else int(seed)
        from dynaplan.neural.pets import run_key

        self._key = run_key(self.seed)  # here, not in a jitted program: any Python int is a seed
        self.state, self._cfg = self.build_state(env_id, self.params, self._key)
        self.episode, self.t = 0, 0
        self.holdout_mse = float("nan")

    @classmethod
    def check_params(cls, params: Mapping[str, Any]) -> dict[str, Any]:
        return check_pets_params(params)

    @classmethod
    def build_state(cls, *sizes: Any) -> tuple[PETSState, Any]:
        """``(env_id, params, seed or its run_key) -> (state, config)``: a fresh agent's arrays and
        its static config."""
        env_id, params, seed = sizes
        from dynaplan.neural.pets import init_params, init_value, start_decision
        from dynaplan.neural.replay import replay_init
        from dynaplan.neural.worlds import WORLDS

        world = WORLDS[env_id]
        cfg = config_of(world, params)
        data = replay_init(cfg.capacity, world.obs_dim, world.act_dim)
        return PETSState(init_params(cfg, seed), data, start_decision(cfg), init_value(cfg, seed)), cfg

    def _explore(self) -> bool:
        return self.params["model"] == "random" or self.episode < self.params["random_episodes"]

    def _act(self, obs: Any) -> Any:
        act = _programs()[0]
        s = self.state
        action, decision = act(self._cfg, self._explore(), s.model, s.value, self._key, self.episode, self.t, obs,
                               s.decision)
        self.state = s._replace(decision=decision)
        return np.asarray(action)

    def _observe(self, obs: Any, action: Any, reward: float, next_obs: Any, terminated: bool, truncated: bool) -> None:
        from dynaplan.neural.pets import start_decision

        _, train, add, fit = _programs()
        s = self.state
        data = add(s.data, obs, action, np.float32(reward), next_obs, terminated)
        self.state = s._replace(data=data)
        self.t += 1
        if terminated or truncated:
            model, value = s.model, s.value
            if self._cfg.ensemble is not None:
                model, report = train(self._cfg, s.model, self._key, self.episode, data)
                self.holdout_mse = float(np.mean(np.asarray(report.holdout_mse)))
            if self._cfg.value is not None:
                value = fit(self._cfg, value, self._key, self.episode, data)
            self.state = PETSState(model, data, start_decision(self._cfg), value)
            self.episode, self.t = self.episode + 1, 0

    def view(self) -> PETSView:
        return PETSView(self.episode, self.t, int(self.state.data.size), np.asarray(self.state.decision.mean),
                        self.holdout_mse)
