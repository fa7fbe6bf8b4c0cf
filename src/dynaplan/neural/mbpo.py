"""Model-based policy optimisation (MBPO): SAC trained on short rollouts branched from real states
through a learned ensemble, the deep Dyna.

Janner, Fu, Zhang & Levine (2019), "When to Trust Your Model: Model-Based Policy Optimization",
Algorithm 2. Each real step:

1. the policy acts in the real env and the transition goes to the real buffer ``D_env``;
2. every ``model_train_every`` real steps (250 in the paper) the probabilistic ensemble
   (``dynaplan.neural.ensemble``, PETS's networks, held-out early stopping) is refitted to
   ``D_env``;
3. ``rollouts_per_step`` states are drawn uniformly from ``D_env`` and rolled ``k`` steps
   through the ensemble, each step through a member drawn at random and a draw of its Gaussian
   (:func:`branched_rollout`), the actions from the current policy; the transitions go to the
   model buffer ``D_model`` (a ring holding the last ``model_retain`` real steps' rollouts);
4. ``updates_per_step`` (G) SAC updates on batches with a fraction ``real_ratio`` from
   ``D_env`` and the rest from ``D_model``.

``k`` follows the paper's linear schedule ``[a, b, x, y]``: ``x`` before real step ``a``,
``y`` after ``b``, linear between (floored). G is the planning knob of the deep Figure 8.2: model
updates per real step, as ``n`` is for Dyna-Q.

The rollout is written against a plain ``model_step(key, obs[M, d], action[M, a]) -> (next_obs,
reward, terminated)``: :func:`ensemble_model_step` gives the learned one, and a world's true
model plugs in the same way (the ground-truth test of the rollouts).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from dynaplan.neural.ensemble import Ensemble, EnsembleParams, TrainConfig, ensemble_init, ensemble_step, ensemble_train
from dynaplan.neural.replay import Replay, replay_add_masked, replay_init
from dynaplan.neural.sac import (
    SACAgent,
    SACConfig,
    SACState,
    add_real,
    sac_config,
    sac_init,
    sac_updates,
    squashed_sample,
)

__all__ = [
    "MBPOAgent",
    "MBPOCarry",
    "MBPOStatic",
    "Rollout",
    "branched_rollout",
    "ensemble_model_step",
    "rollout_length",
]

ModelStep = Callable[[jax.Array, jax.Array, jax.Array], tuple[jax.Array, jax.Array, jax.Array]]
Policy = Callable[[jax.Array, jax.Array], jax.Array]


class Rollout(NamedTuple):
    """``k`` model steps from ``M`` start states (leading axes ``[k, M]``).

    obs, next_obs: float32[k, M, d]; action: float32[k, M, a]; reward: float32[k, M];
    terminated: bool[k, M]; alive: bool[k, M] (the step was taken: no earlier step of the same
    rollout was terminal, MBPO stops a branch at a predicted terminal state)
    """

    obs: jax.Array
    action: jax.Array
    reward: jax.Array
    next_obs: jax.Array
    terminated: jax.Array
    alive: jax.Array


def branched_rollout(model_step: ModelStep, policy: Policy, key: jax.Array, start: jax.Array, k: int) -> Rollout:
    """Roll ``start: float32[M, d]`` for ``k`` (static) steps: ``a ~ policy(key, obs)``, then
    ``model_step(key, obs, a)`` (Janner et al. 2019, Algorithm 2, lines 8-10)."""
    def body(carry: tuple[jax.Array, jax.Array], k_step: jax.Array) -> tuple[tuple[jax.Array, jax.Array], Rollout]:
        obs, alive = carry
        k_act, k_model = jax.random.split(k_step)
        action = policy(k_act, obs)
        next_obs, reward, terminated = model_step(k_model, obs, action)
        out = Rollout(obs, action, reward, next_obs, terminated, alive)
        return (next_obs, alive & ~terminated), out

    alive0 = jnp.ones(start.shape[:1], bool)
    return jax.lax.scan(body, (start, alive0), jax.random.split(key, k))[1]


def ensemble_model_step(model: Ensemble, params: EnsembleParams,
                        terminal: Callable[[jax.Array], jax.Array] | None = None) -> ModelStep:
    """The learned ``model_step``: a random member per row and a draw of its Gaussian
    (:func:`dynaplan.neural.ensemble.ensemble_step`); ``terminal(next_obs)`` a known termination
    function (MBPO's, per task) or None (never terminates, as Pendulum)."""
    def step(key: jax.Array, obs: jax.Array, action: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
        next_obs, reward = ensemble_step(model, params, key, obs, action)
        done = jnp.zeros(obs.shape[:1], bool) if terminal is None else jax.vmap(terminal)(next_obs)
        return next_obs, reward, done

    return step


def rollout_length(step: int, schedule: tuple[int, int, int, int]) -> int:
    """The paper's schedule ``[a, b, x, y]``: length ``x`` up to real step ``a``, ``y`` from ``b``,
    linear in between, floored."""
    a, b, x, y = schedule
    frac = 0.0 if step <= a else 1.0 if step >= b else (step - a) / (b - a)
    return max(1, math.floor(x + frac * (y - x)))


class MBPOCarry(NamedTuple):
    """One MBPO run: SAC's learner, the real and model buffers, the ensemble, the run's key."""

    sac: SACState
    real: Replay
    model_buf: Replay
    ens: EnsembleParams
    key: jax.Array


class MBPOStatic(NamedTuple):
    """The static part of an MBPO agent (hashable); ``k`` is the current rollout length."""

    cfg: SACConfig
    ensemble: Ensemble
    train: TrainConfig
    capacity: int
    model_capacity: int
    rollouts: int
    updates_per_step: int
    real_ratio: float
    k: int = 1


def _mbpo_carry(static: MBPOStatic, key: jax.Array) -> MBPOCarry:
    k_sac, k_ens, k_run = jax.random.split(key, 3)
    cfg = static.cfg
    return MBPOCarry(sac_init(k_sac, cfg), replay_init(static.capacity, cfg.obs_dim, cfg.act_dim),
                     replay_init(static.model_capacity, cfg.obs_dim, cfg.act_dim),
                     ensemble_init(static.ensemble, k_ens), k_run)


def _mbpo_train_model(static: MBPOStatic, carry: MBPOCarry) -> MBPOCarry:
    key, k = jax.random.split(carry.key)
    ens, _ = ensemble_train(static.ensemble, carry.ens, k, carry.real, static.train)
    return carry._replace(ens=ens, key=key)


def _mbpo_plan(static: MBPOStatic, carry: MBPOCarry) -> MBPOCarry:
    """Lines 7-11 of Algorithm 2 for one real step: branched rollouts into ``D_model``, then G updates."""
    key, k_start, k_roll, k_upd = jax.random.split(carry.key, 4)
    cfg = static.cfg
    idx = jax.random.randint(k_start, (static.rollouts,), 0, jnp.maximum(carry.real.size, 1))
    policy = lambda k, o: squashed_sample(carry.sac.actor, cfg, o, k)[0]  # noqa: E731
    ro = branched_rollout(ensemble_model_step(static.ensemble, carry.ens), policy, k_roll, carry.real.obs[idx],
                          static.k)
    flat = jax.tree_util.tree_map(lambda x: x.reshape((-1, *x.shape[2:])), ro)
    model_buf = replay_add_masked(carry.model_buf, flat.obs, flat.action, flat.reward, flat.next_obs,
                                  flat.terminated, flat.alive)
    sac = sac_updates(carry.sac, cfg, carry.real, model_buf, k_upd, static.updates_per_step, static.real_ratio)
    return carry._replace(sac=sac, model_buf=model_buf, key=key)


def _mbpo_add_plan(static: MBPOStatic, carry: MBPOCarry, *transition: jax.Array) -> MBPOCarry:
    """Store a real transition, then :func:`_mbpo_plan` (one jitted call per real step)."""
    return _mbpo_plan(static, add_real(static, carry, *transition))


class MBPOAgent(SACAgent):
    """MBPO (module docstring) on a bounded Box action space (parameters as
    ``dynaplan.agents.deep_dyna.MBPO`` checks them); never-terminating tasks (the
    learned model predicts no terminal states: MBPO uses a known termination function per task,
    and Pendulum has none).

    Defaults (ours; the paper's in brackets, Janner et al. 2019, appendix C): SAC as
    :class:`~dynaplan.neural.sac.SACAgent`; G = 20 updates per real step (20), real ratio 0.05
    (0.05); 5 members of 2 x 64 hidden units (7 members, 5 elites, 4 x 200); the ensemble
    refitted every 250 real steps (250) with held-out early stopping (the same), first at
    ``learning_starts``; 100 rollouts per real step (400: 100,000 every 250 steps); rollout
    length 1 (the paper's for HalfCheetah and Walker; ``rollout_schedule = [a, b, x, y]`` for a
    schedule, in real steps); the model buffer keeps the last 250 real steps' rollouts (1,000).
    """

    name = "mbpo"

    def _setup(self, observation_space: Any, action_space: Any) -> MBPOStatic:
        p = self.params
        cfg = sac_config(p, action_space, int(observation_space.shape[0]))
        k_max = max(p["rollout_schedule"][2:])
        ens = Ensemble(cfg.obs_dim, cfg.act_dim, members=p["members"], hidden=(p["model_hidden"],) * p["model_layers"],
                       probabilistic=True, learn_reward=True)
        return MBPOStatic(cfg, ens, TrainConfig(), p["buffer"], p["rollouts_per_step"] * k_max * p["model_retain"],
                          p["rollouts_per_step"], p["updates_per_step"], p["real_ratio"],
                          rollout_length(0, p["rollout_schedule"]))

    @staticmethod
    def _init(static: Any, key: jax.Array) -> MBPOCarry:
        return _mbpo_carry(static, key)

    def observe(self, obs: Any, action: Any, reward: Any, next_obs: Any, terminated: Any, truncated: Any) -> None:
        """Store the real transition; from ``learning_starts`` on: refit the ensemble when due,
        then branched rollouts and G updates (Algorithm 2)."""
        transition = self._transition(obs, action, reward, next_obs, terminated)
        p, t = self.params, self.steps
        if t < p["learning_starts"] or (t - p["learning_starts"]) % p["model_train_every"] == 0:
            self.carry = self.call(add_real, self.carry, *transition)
            if t < p["learning_starts"]:
                return
            self.carry = self.call(_mbpo_train_model, self.carry)
            transition = ()
        k = rollout_length(t, p["rollout_schedule"])
        self.static = self.static._replace(k=k)
        self.carry = self.call(_mbpo_add_plan if transition else _mbpo_plan, self.carry, *transition)
        self.updates += p["updates_per_step"]
        self.model_steps += p["rollouts_per_step"] * k
