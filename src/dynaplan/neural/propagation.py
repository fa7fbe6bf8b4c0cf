"""Scoring action sequences in a model: particle propagation (PETS, Chua et al. 2018, section 5).

:func:`sequence_returns` takes a population of action sequences ``actions[P, H, a]`` from one
observation and returns each sequence's estimated return, the mean over ``particles`` imagined
trajectories, as one ``lax.scan`` over the horizon with the population and particles batched:

* the **true model** (:class:`TrueModel`): the world's own ``obs_dynamics`` (deterministic: one
  particle), the reference row of the experiments;
* an **ensemble** (:class:`dynaplan.neural.ensemble.Ensemble`) with ``propagation``
  - ``"tsinf"`` (TS-infinity): particle ``k`` keeps member ``k % E`` for the whole horizon and
    draws from its Gaussian at each step (one network evaluation per particle and step);
  - ``"ts1"`` (TS-1): at each step the particles of a sequence are randomly permuted over the
    members (mbrl-lib's balanced form of a uniform re-draw of the member);
  - ``"expectation"``: one trajectory, each step the mean over members of their means (no
    sampling; E evaluations per step).

Rewards are the world's reward function on imagined observations (``reward_fn``) or the model's
learned reward. After an imagined step that the world's ``terminal`` marks terminal, the
trajectory's later rewards count zero.

Exploration (:func:`sequence_returns` with ``bonus > 0``): each step adds ``bonus`` times the
ensemble's disagreement, the variance over members of their mean predictions in normalised units
averaged over output dimensions (the epistemic part of the model's uncertainty; Pathak, Gandhi &
Gupta 2019; Sekar et al. 2020). It is the continuous counterpart of Dyna-Q+'s bonus (Sutton &
Barto section 8.3): reward for going where the model is unsure. It costs E evaluations per
particle and step.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp

from dynaplan.neural.ensemble import Ensemble, ensemble_predict, ensemble_predict_all
from dynaplan.neural.worlds.base import JaxWorld

__all__ = ["PROPAGATIONS", "TrueModel", "sequence_returns", "sequence_rollouts"]

PROPAGATIONS = ("ts1", "tsinf", "expectation")



@dataclass(frozen=True)
class TrueModel:
    """The world's own dynamics as the planner's model (no parameters: pass ``params=None``)."""

    world: JaxWorld


def _true_returns(world: JaxWorld, obs: jax.Array, actions: jax.Array, record: bool = False) -> Any:
    P = actions.shape[0]
    states = jnp.broadcast_to(obs, (P, obs.shape[-1]))

    def step(carry: tuple, a: jax.Array) -> tuple[tuple, jax.Array | None]:
        o, alive, total = carry
        nxt = jax.vmap(world.obs_dynamics)(o, a)
        r = jax.vmap(world.reward)(o, a, nxt)
        total = total + alive * r
        alive = alive * (1.0 - jax.vmap(world.terminal)(nxt).astype(jnp.float32))
        return (nxt, alive, total), (nxt[:, None] if record else None)

    (_, _, total), seen = jax.lax.scan(step, (states, jnp.ones(P), jnp.zeros(P)), jnp.swapaxes(actions, 0, 1))
    return (total, _trajectories(obs, seen, P, 1)) if record else total


def _trajectories(obs: jax.Array, seen: Any, P: int, K: int) -> jax.Array:
    """The start and the scan's imagined observations ``seen[H, P, K, d]`` as ``[P, K, H + 1, d]``."""
    start = jnp.broadcast_to(obs, (1, P, K, obs.shape[-1]))
    return jnp.transpose(jnp.concatenate([start, seen], 0), (1, 2, 0, 3))


def _ensemble_returns(model: Ensemble, world: JaxWorld, params: Any, key: jax.Array, obs: jax.Array,
                      actions: jax.Array, particles: int, propagation: str, bonus: float,
                      record: bool = False) -> Any:
    P, _, A = actions.shape
    E, d = model.members, model.obs_dim
    K = 1 if propagation == "expectation" else particles
    states = jnp.broadcast_to(obs, (P, K, d))
    member = jnp.arange(K) % E  # particle k's member (TS-infinity; TS-1 permutes the particles)

    def reward_of(o: jax.Array, a: jax.Array, nxt: jax.Array, mu: jax.Array) -> jax.Array:
        if model.learn_reward:
            return mu[..., d]
        return jax.vmap(jax.vmap(world.reward))(o, a, nxt)

    def step(carry: tuple, inp: tuple) -> tuple[tuple, jax.Array | None]:
        o, alive, total = carry[:3]
        a_t, k = inp
        a = jnp.broadcast_to(a_t[:, None, :], (P, K, A))
        k_perm, k_noise = jax.random.split(k)
        if propagation == "ts1":
            perm = jnp.argsort(jax.random.uniform(k_perm, (P, K)), axis=1)
            o = jnp.take_along_axis(o, perm[..., None], axis=1)
            alive = jnp.take_along_axis(alive, perm, axis=1)
            total = jnp.take_along_axis(total, perm, axis=1)
            if record:  # which particle each slot now holds, to draw each particle's line unbroken
                carry = (*carry[:3], jnp.take_along_axis(carry[3], perm, axis=1))
        if propagation == "expectation" or bonus > 0:
            mu_all, lv_all = ensemble_predict_all(model, params, o.reshape(P * K, d), a.reshape(P * K, A))
            mu_all = mu_all.reshape(E, P, K, -1)
            lv_all = lv_all.reshape(E, P, K, -1)
            if propagation == "expectation":
                mu, lv = jnp.mean(mu_all, 0), None
            else:
                mu = jnp.take_along_axis(mu_all, member[None, None, :, None], 0)[0]
                lv = jnp.take_along_axis(lv_all, member[None, None, :, None], 0)[0]
        else:  # each member on its own particles: [P, K, .] -> [E, P * K / E, .]
            def to_members(x: jax.Array) -> jax.Array:
                return jnp.moveaxis(x.reshape(P, K // E, E, x.shape[-1]), 2, 0).reshape(E, -1, x.shape[-1])

            def from_members(x: jax.Array) -> jax.Array:
                return jnp.moveaxis(x.reshape(E, P, K // E, x.shape[-1]), 0, 2).reshape(P, K, x.shape[-1])

            mu_m, lv_m = ensemble_predict(model, params, to_members(o), to_members(a))
            mu, lv = from_members(mu_m), from_members(lv_m)
        if model.probabilistic and lv is not None:
            mu = mu + jnp.exp(0.5 * lv) * jax.random.normal(k_noise, mu.shape)
        nxt = mu[..., :d]
        r = reward_of(o, a, nxt, mu)
        if bonus > 0:
            disagreement = jnp.mean(jnp.var(mu_all / params.out_std, axis=0), -1)  # [P, K]
            r = r + bonus * disagreement
        total = total + alive * r
        alive = alive * (1.0 - jax.vmap(jax.vmap(world.terminal))(nxt).astype(jnp.float32))
        if not record:
            return (nxt, alive, total), None
        slot = jnp.argsort(carry[3], axis=1)  # slot[p, i]: where particle i of sequence p is
        return (nxt, alive, total, carry[3]), jnp.take_along_axis(nxt, slot[..., None], axis=1)

    keys = jax.random.split(key, actions.shape[1])
    init = (states, jnp.ones((P, K)), jnp.zeros((P, K)))
    if not record:
        (_, _, total), _ = jax.lax.scan(step, init, (jnp.swapaxes(actions, 0, 1), keys))
        return jnp.mean(total, axis=1)
    followed = (*init, jnp.broadcast_to(jnp.arange(K), (P, K)))
    (_, _, total, _), seen = jax.lax.scan(step, followed, (jnp.swapaxes(actions, 0, 1), keys))
    return jnp.mean(total, axis=1), _trajectories(obs, seen, P, K)


def sequence_returns(model: Ensemble | TrueModel, world: JaxWorld, params: Any, key: jax.Array, obs: jax.Array,
                     actions: jax.Array, particles: int = 5, propagation: str = "tsinf",
                     bonus: float = 0.0) -> jax.Array:
    """Estimated returns ``float32[P]`` of ``actions[P, H, a]`` from ``obs[d]`` (module docstring).

    ``particles`` must be a multiple of the ensemble's size for ``"ts1"`` / ``"tsinf"``; the
    true model and ``"expectation"`` use one particle.
    """
    if isinstance(model, TrueModel):
        return _true_returns(model.world, obs, actions)
    return _ensemble_returns(model, world, params, key, obs, actions, particles, propagation, bonus)


def sequence_rollouts(model: Ensemble | TrueModel, world: JaxWorld, params: Any, key: jax.Array, obs: jax.Array,
                      actions: jax.Array, particles: int = 5, propagation: str = "tsinf",
                      bonus: float = 0.0) -> tuple[jax.Array, jax.Array]:
    """:func:`sequence_returns` with the imagined trajectories it scored (the same draws, the same
    returns): ``(returns float32[P], states float32[P, K, H + 1, d])``, ``states[p, k, 0] = obs``,
    ``states[p, k, h]`` particle ``k``'s observation after ``h`` actions of sequence ``p``
    (``K = particles``; 1 for the true model and ``"expectation"``). Under ``"ts1"`` each
    particle is followed through the permutations. After an imagined terminal step the
    trajectory goes on in the model; its later rewards count zero. For viewers
    (``dynaplan.neural.mpc.plan_samples``); planners call :func:`sequence_returns`.
    """
    if isinstance(model, TrueModel):
        return _true_returns(model.world, obs, actions, record=True)  # type: ignore[no-any-return]
    return _ensemble_returns(model, world, params, key, obs, actions, particles,  # type: ignore[no-any-return]
                             propagation, bonus, record=True)
