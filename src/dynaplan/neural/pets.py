"""PETS: model-predictive control on a learned probabilistic ensemble (Chua et al. 2018, algorithm 1).

An agent acts by planning at each decision (:func:`dynaplan.neural.mpc.plan`) in its model and
learns by storing every real transition and refitting the ensemble after every episode
(:func:`dynaplan.neural.ensemble.ensemble_train`). The first ``random_episodes`` episodes act
uniformly at random to seed the data (PETS: one). ``model`` chooses the row of the experiments:

* ``"pets"``: probabilistic ensemble (PE), the paper's; ``"de"``: deterministic ensemble (DE);
* ``"true"``: the same planner on the world's true dynamics (the budget's own ceiling);
* ``"random"``: uniformly random actions throughout.

With ``value_discount`` set (``make_config``), the planner scores each imagined sequence by its
discounted return plus a learned terminal value, ``sum_{t<H} gamma^t r_t + gamma^H V(s_H)``
(TD-MPC's idea, :mod:`dynaplan.neural.value`), ``V`` refitted on the replay after every episode
by fitted value iteration (TD(0) targets, so it values the policy that collected the data: after
the random episodes, the planner itself).

Two faces over the same pure functions:

* :func:`run_seeds` runs many seeds as one program per episode (``vmap`` over seeds of a
  ``lax.scan`` over the episode's steps, the model fitted by a ``vmap`` of the training program):
  the runner's fast path;
* ``dynaplan.agents.pets.PETS`` is the object API (``act(obs)`` / ``observe(...)``) on a Gymnasium env whose
  dynamics dynaplan steps in JAX (``Pendulum-v1``, ``MountainCarContinuous-v0``,
  ``dynaplan/CartpoleSwingup-v0``): the rewards are known (the world's reward function in JAX).

Random streams: for run seed ``s``, the start state of episode ``e`` is drawn with
``worlds.env_key(s, e)``; the agent's key at step ``t`` of episode ``e`` is
``fold_in(fold_in(fold_in(PRNGKey(s), 0), e), t)``; the training key after episode ``e`` is
``fold_in(fold_in(PRNGKey(s), 2), e)``; the value's fit after episode ``e`` uses
``fold_in(fold_in(PRNGKey(s), 4), e)``. Both faces draw the same numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from dynaplan.neural.ensemble import Ensemble, EnsembleParams, TrainConfig, ensemble_init, ensemble_train
from dynaplan.neural.mpc import Planner, PlanResult, initial_plan, plan, shift_plan
from dynaplan.neural.propagation import TrueModel
from dynaplan.neural.replay import Replay, replay_init
from dynaplan.neural.value import ValueNet, ValueParams, ValueTrain, value_fit, value_init
from dynaplan.neural.worlds import JaxWorld, env_key, world_step

__all__ = [
    "MODELS",
    "Decision",
    "PETSConfig",
    "agent_key",
    "carry_of",
    "decide",
    "fit_value",
    "init_params",
    "init_value",
    "make_config",
    "run_key",
    "run_seeds",
    "start_decision",
    "train_key",
]

MODELS = ("pets", "de", "true", "random")



@dataclass(frozen=True)
class PETSConfig:
    """Everything static about a run (hashable: a static argument of ``jax.jit``).

    world: the task; model: one of ``MODELS``; ensemble: its networks (None for true / random);
    planner: the decision-time planner; train: the ensemble's training sizes; episodes: real
    episodes per run; random_episodes: the first episodes acting at random (PETS: 1); value:
    the terminal value's network (None: no terminal value) and value_train its fitting sizes.
    """

    world: JaxWorld
    model: str = "pets"
    ensemble: Ensemble | None = None
    planner: Planner = field(default_factory=Planner)
    train: TrainConfig = field(default_factory=TrainConfig)
    episodes: int = 15
    random_episodes: int = 1
    replay_size: int = 0
    value: ValueNet | None = None
    value_train: ValueTrain = field(default_factory=ValueTrain)

    @property
    def capacity(self) -> int:
        """Replay size: ``replay_size``, or every real transition of the run (the oldest are overwritten beyond)."""
        return self.replay_size or self.episodes * self.world.max_steps


def make_config(world: JaxWorld, model: str = "pets", *, members: int = 5, hidden: Sequence[int] = (64, 64),
                episodes: int = 15, random_episodes: int = 1, train: TrainConfig | None = None,
                replay_size: int = 0, value_discount: float | None = None, **planner: Any) -> PETSConfig:
    """A :class:`PETSConfig` from plain values (the planner's fields as keywords). ``value_discount``:
    plan with a learned terminal value of this discount (the planner's sum discounted alike;
    the value network has the ensemble's hidden sizes); None: without one."""
    if model not in MODELS:
        raise ValueError(f"model must be one of {', '.join(MODELS)}, got {model!r}")
    if episodes < 1 or random_episodes < 0:
        raise ValueError(f"episodes must be >= 1 and random_episodes >= 0, got {episodes}, {random_episodes}")
    ens = None
    if model in ("pets", "de"):
        ens = Ensemble(world.obs_dim, world.act_dim, members=members, hidden=tuple(hidden),
                       probabilistic=model == "pets", reward_fn=world.reward)
    value = None
    if value_discount is not None and model != "random":
        value = ValueNet(world.obs_dim, tuple(hidden), value_discount)
        planner = {**planner, "discount": value_discount}
    pl = Planner(**planner)
    if ens is not None and pl.propagation != "expectation" and pl.particles % members:
        raise ValueError(f"particles ({pl.particles}) must be a multiple of members ({members})")
    if model == "true":
        pl = replace(pl, particles=1, propagation="tsinf", bonus=0.0)
    return PETSConfig(world, model, ens, pl, train or TrainConfig(), episodes,
                      random_episodes if model != "random" else episodes, replay_size, value)


def run_key(seed: jax.Array | int) -> jax.Array:
    """``PRNGKey(seed)``; a key (uint32[2]) is returned as it is. Outside a jitted program any
    Python int is a seed; inside, a seed must fit int32 / uint32, so the object API passes keys."""
    return seed if jnp.ndim(seed) == 1 else jax.random.PRNGKey(seed)  # type: ignore[return-value]


def agent_key(seed: jax.Array | int, episode: int | jax.Array, t: jax.Array | int) -> jax.Array:
    """The agent's key at step ``t`` of episode ``episode`` of run ``seed`` (a seed or its ``run_key``)."""
    return jax.random.fold_in(jax.random.fold_in(jax.random.fold_in(run_key(seed), 0), episode), t)


def train_key(seed: jax.Array | int, episode: int | jax.Array) -> jax.Array:
    """The training key after episode ``episode`` of run ``seed`` (a seed or its ``run_key``)."""
    return jax.random.fold_in(jax.random.fold_in(run_key(seed), 2), episode)


def value_key(seed: jax.Array | int, episode: int | jax.Array) -> jax.Array:
    """The terminal value's fitting key after episode ``episode`` of run ``seed``."""
    return jax.random.fold_in(jax.random.fold_in(run_key(seed), 4), episode)


class Decision(NamedTuple):
    """What a decision carries to the next: the plan ``mean[H, a]`` and iCEM's ``elites[k, H, a]``."""

    mean: jax.Array
    elites: jax.Array


def _empty_elites(cfg: PETSConfig) -> jax.Array:
    n_keep = round(cfg.planner.keep_elites * cfg.planner.elites) if cfg.planner.method == "icem" else 0
    return jnp.zeros((n_keep, cfg.planner.horizon, cfg.world.act_dim), jnp.float32)


def start_decision(cfg: PETSConfig) -> Decision:
    """The carried plan at the start of an episode."""
    return Decision(initial_plan(cfg.planner, cfg.world), _empty_elites(cfg))


def decide(cfg: PETSConfig, params: Any, key: jax.Array, obs: jax.Array, carry: Decision,
           explore: bool, value: Any = ()) -> tuple[jax.Array, Decision]:
    """One decision: ``(action[a], carry for the next decision)``. ``explore``: act uniformly at
    random. ``value``: the terminal value's parameters when ``cfg.value`` is set."""
    w = cfg.world
    if explore:
        a = jax.random.uniform(key, (w.act_dim,), jnp.float32, w.action_low, w.action_high)
        return a, carry
    model = TrueModel(w) if cfg.model == "true" else cfg.ensemble
    assert model is not None
    elites = carry.elites if cfg.planner.method == "icem" and carry.elites.shape[0] else None
    res = plan(cfg.planner, model, w, params, key, obs, carry.mean, elites, value=cfg.value,
               value_params=value if cfg.value is not None else None)
    return res.action, carry_of(cfg, res)


def carry_of(cfg: PETSConfig, res: PlanResult) -> Decision:
    """What a decision ``res`` carries to the next: its plan shifted by one step and iCEM's kept
    elites shifted (``warm_start``), or a fresh start."""
    if not cfg.planner.warm_start:
        return start_decision(cfg)
    shifted = jnp.concatenate([res.elites[:, 1:], res.elites[:, -1:]], 1) if res.elites.shape[0] else res.elites
    return Decision(shift_plan(cfg.planner, cfg.world, res.mean), shifted)


def _add_if(buf: Replay, alive: jax.Array, obs: jax.Array, action: jax.Array, reward: jax.Array,
            next_obs: jax.Array, terminated: jax.Array) -> Replay:
    """``replay_add`` that counts the transition only when ``alive`` (after the end of an episode the
    slot is written but not kept: the next transition overwrites it)."""
    i = buf.ptr
    inc = alive.astype(jnp.int32)
    return Replay(
        obs=buf.obs.at[i].set(obs), action=buf.action.at[i].set(action), reward=buf.reward.at[i].set(reward),
        next_obs=buf.next_obs.at[i].set(next_obs), terminated=buf.terminated.at[i].set(terminated),
        size=jnp.minimum(buf.size + inc, buf.capacity), ptr=(i + inc) % buf.capacity,
    )


@partial(jax.jit, static_argnums=(0, 5))
def _episode_batch(cfg: PETSConfig, params: Any, value: Any, data: Replay, seeds: jax.Array,
                   episode: int) -> tuple[Replay, jax.Array, jax.Array]:
    """One episode of every seed (vmapped): ``(data, returns[S], steps[S])``."""
    explore = episode < cfg.random_episodes

    def one(params: Any, value: Any, data: Replay, seed: jax.Array) -> tuple[Replay, jax.Array, jax.Array]:
        state = cfg.world.reset(env_key(seed, episode))

        def step(carry: tuple, t: jax.Array) -> tuple[tuple, None]:
            state, dec, alive, data, total, steps = carry
            obs = cfg.world.observe(state)
            action, dec = decide(cfg, params, agent_key(seed, episode, t), obs, dec, explore, value)
            nstate, nobs, r, term = world_step(cfg.world, state, action)
            data = _add_if(data, alive, obs, action, r, nobs, term)
            total = total + jnp.where(alive, r, 0.0)
            steps = steps + alive.astype(jnp.int32)
            return (nstate, dec, alive & ~term, data, total, steps), None

        init = (state, start_decision(cfg), jnp.array(True), data, jnp.float32(0), jnp.int32(0))
        (_, _, _, data, total, steps), _ = jax.lax.scan(step, init, jnp.arange(cfg.world.max_steps))
        return data, total, steps

    return jax.vmap(one)(params, value, data, seeds)


@partial(jax.jit, static_argnums=(0, 4))
def _train_batch(cfg: PETSConfig, params: EnsembleParams, data: Replay, seeds: jax.Array,
                 episode: int) -> tuple[EnsembleParams, Any]:
    assert cfg.ensemble is not None
    return jax.vmap(lambda p, d, s: ensemble_train(cfg.ensemble, p, train_key(s, episode), d, cfg.train))(
        params, data, seeds)


def fit_value(cfg: PETSConfig, value: ValueParams, seed: jax.Array | int, episode: int | jax.Array,
              data: Replay) -> ValueParams:
    """The terminal value refitted on ``data`` after episode ``episode`` of run ``seed``."""
    assert cfg.value is not None
    return value_fit(cfg.value, value, value_key(seed, episode), data, cfg.value_train)[0]


@partial(jax.jit, static_argnums=(0, 4))
def _value_batch(cfg: PETSConfig, value: ValueParams, data: Replay, seeds: jax.Array, episode: int) -> ValueParams:
    return jax.vmap(lambda v, d, s: fit_value(cfg, v, s, episode, d))(value, data, seeds)


def init_value(cfg: PETSConfig, seed: int | jax.Array) -> Any:
    """The terminal value's parameters at the start of run ``seed`` (``()`` without one)."""
    if cfg.value is None:
        return ()
    return value_init(cfg.value, jax.random.fold_in(run_key(seed), 5))


def init_params(cfg: PETSConfig, seed: int | jax.Array) -> Any:
    """The model's parameters at the start of run ``seed`` (a seed or its ``run_key``; an empty
    tuple for true / random)."""
    if cfg.ensemble is None:
        return ()
    return _init_ensemble(cfg.ensemble, run_key(seed))


@partial(jax.jit, static_argnums=0)
def _init_ensemble(ensemble: Ensemble, key: jax.Array) -> EnsembleParams:
    return ensemble_init(ensemble, jax.random.fold_in(key, 3), one_draw=True)


def run_seeds(cfg: PETSConfig, seeds: Sequence[int], progress: Any = None) -> list[dict[str, Any]]:
    """Every seed's run, batched in one program per episode: one row per (seed, episode) with
    ``seed``, ``episode`` (from 1), ``env_steps`` (cumulative real steps), ``return``,
    ``holdout_mse`` (mean over members after the episode's training; NaN without a model)."""
    seeds_arr = jnp.asarray(np.asarray(seeds, np.int64).astype(np.int32))
    S = len(seeds)
    params = jax.vmap(lambda s: init_params(cfg, s))(seeds_arr) if cfg.ensemble is not None else ()
    value = jax.vmap(lambda s: init_value(cfg, s))(seeds_arr) if cfg.value is not None else ()
    one = replay_init(cfg.capacity, cfg.world.obs_dim, cfg.world.act_dim)
    data = jax.tree_util.tree_map(lambda x: jnp.broadcast_to(x, (S, *x.shape)), one)
    rows: list[dict[str, Any]] = []
    env_steps = np.zeros(S, np.int64)
    for e in range(cfg.episodes):
        data, total, steps = _episode_batch(cfg, params, value, data, seeds_arr, e)
        mse = np.full(S, np.nan)
        if cfg.ensemble is not None:
            params, report = _train_batch(cfg, params, data, seeds_arr, e)
            mse = np.asarray(report.holdout_mse).mean(axis=1)
        if cfg.value is not None:
            value = _value_batch(cfg, value, data, seeds_arr, e)
        env_steps += np.asarray(steps)
        for i, s in enumerate(seeds):
            rows.append({"seed": int(s), "episode": e + 1, "env_steps": int(env_steps[i]),
                         "return": float(np.asarray(total)[i]), "holdout_mse": float(mse[i])})
        if progress is not None:
            progress(e + 1, cfg.episodes)
    return rows
