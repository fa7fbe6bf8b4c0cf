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

Discount and terminal value (:func:`sequence_returns` with ``discount`` and ``value``): the
return of a sequence is ``sum_t discount^t r_t + discount^H V(s_H)`` (TD-MPC's objective,
:mod:`dynaplan.neural.value` eq. 1), ``V`` counted only for a trajectory not terminated; the
defaults (``discount = 1``, no value) give the plain sum of the imagined rewards.

Exploration (:func:`sequence_returns` with ``bonus > 0``): each step adds ``bonus`` times the
ensemble's disagreement, the variance over members of their mean predictions in normalised units
averaged over output dimensions (the epistemic part of the model's uncertainty; Pathak, Gandhi &
Gupta 2019; Sekar et al. 2020). It is the continuous counterpart of Dyna-Q+'s bonus (Sutton &
Barto section 8.3): reward for going where the model is unsure. It costs E evaluations per
particle and step.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp

from dynaplan.neural.ensemble import Ensemble, ensemble_predict, ensemble_predict_all
from dynaplan.neural.worlds.base import JaxWorld

__all__ = ["PROPAGATIONS", "TrueModel", "Value", "sequence_returns", "sequence_rollouts"]

PROPAGATIONS = ("ts1", "tsinf", "expectation")



@dataclass(frozen=True)
class TrueModel:
    """The world's own dynamics as the planner's model (no parameters: pass ``params=None``)."""

    world: JaxWorld


#: A terminal value: ``value(value_params, obs[..., d]) -> float32[...]``.
Value = Callable[[Any, jax.Array], jax.Array]


def _add_terminal_value(total: jax.Array, alive: jax.Array, last: jax.Array, H: int, discount: float,
              value: Value | None, value_params: Any) -> jax.Array:
    """Add ``discount^H V(s_H)`` to the returns of trajectories still alive after ``H`` steps."""
    if value is None:
        return total
    return total + (discount ** H) * alive * value(value_params, last)


def _true_returns(world: JaxWorld, obs: jax.Array, actions: jax.Array, discount: float, value: Value | None,
                  value_params: Any, record: bool = False) -> Any:
    P, H = actions.shape[:2]
    states = jnp.broadcast_to(obs, (P, obs.shape[-1]))

    def step(carry: tuple, a: jax.Array) -> tuple[tuple, jax.Array | None]:
        o, alive, total, weight = carry
        nxt = jax.vmap(world.obs_dynamics)(o, a)
        r = jax.vmap(world.reward)(o, a, nxt)
        total = total + weight * alive * r
        alive = alive * (1.0 - jax.vmap(world.terminal)(nxt).astype(jnp.float32))
        return (nxt, alive, total, weight * discount), (nxt[:, None] if record else None)

    init = (states, jnp.ones(P), jnp.zeros(P), jnp.float32(1.0))
    (last, alive, total, _), seen = jax.lax.scan(step, init, jnp.swapaxes(actions, 0, 1))
    returns = _add_terminal_value(total, alive, last, H, discount, value, value_params)
    return (returns, _trajectories(obs, seen, P, 1)) if record else returns


def _trajectories(obs: jax.Array, seen: Any, P: int, K: int) -> jax.Array:
    """The start and the scan's imagined observations ``seen[H, P, K, d]`` as ``[P, K, H + 1, d]``."""
    start = jnp.broadcast_to(obs, (1, P, K, obs.shape[-1]))
    return jnp.transpose(jnp.concatenate([start, seen], 0), (1, 2, 0, 3))


def _ensemble_returns(model: Ensemble, world: JaxWorld, params: Any, key: jax.Array, obs: jax.Array,
                      actions: jax.Array, particles: int, propagation: str, bonus: float, discount: float,
                      value: Value | None, value_params: Any, record: bool = False) -> Any:
    P, H, A = actions.shape
    E, d = model.members, model.obs_dim
    K = 1 if propagation == "expectation" else particles
    states = jnp.broadcast_to(obs, (P, K, d))
    member = jnp.arange(K) % E  # particle k's member (TS-infinity; TS-1 permutes the particles)

    def reward_of(o: jax.Array, a: jax.Array, nxt: jax.Array, mu: jax.Array) -> jax.Array:
        if model.learn_reward:
            return mu[..., d]
        return jax.vmap(jax.vmap(world.reward))(o, a, nxt)

    sampled = model.probabilistic and propagation != "expectation"

    def step(carry: tuple, inp: tuple) -> tuple[tuple, jax.Array | None]:
        o, alive, total, weight = carry[:4]
        a_t, k_perm, eps = inp
        a = jnp.broadcast_to(a_t[:, None, :], (P, K, A))
        if propagation == "ts1":
            perm = jnp.argsort(jax.random.uniform(k_perm, (P, K)), axis=1)
            o = jnp.take_along_axis(o, perm[..., None], axis=1)
            alive = jnp.take_along_axis(alive, perm, axis=1)
            total = jnp.take_along_axis(total, perm, axis=1)
            if record:  # which particle each slot now holds, to draw each particle's line unbroken
                carry = (*carry[:4], jnp.take_along_axis(carry[4], perm, axis=1))
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
        if sampled and lv is not None:
            mu = mu + jnp.exp(0.5 * lv) * eps
        nxt = mu[..., :d]
        r = reward_of(o, a, nxt, mu)
        if bonus > 0:
            disagreement = jnp.mean(jnp.var(mu_all / params.out_std, axis=0), -1)  # [P, K]
            r = r + bonus * disagreement
        total = total + weight * alive * r
        alive = alive * (1.0 - jax.vmap(jax.vmap(world.terminal))(nxt).astype(jnp.float32))
        if not record:
            return (nxt, alive, total, weight * discount), None
        slot = jnp.argsort(carry[4], axis=1)  # slot[p, i]: where particle i of sequence p is
        return (nxt, alive, total, weight * discount, carry[4]), jnp.take_along_axis(nxt, slot[..., None], axis=1)

    # the Gaussian draws of the whole horizon at once: one random call, not one per step (drawn
    # step by step inside the scan, they cost about 40% of a probabilistic decision on a CPU)
    k_perm, k_noise = jax.random.split(key)
    eps = jax.random.normal(k_noise, (H, P, K, model.out_dim)) if sampled else jnp.zeros((H, 0))
    init: tuple = (states, jnp.ones((P, K)), jnp.zeros((P, K)), jnp.float32(1.0))
    if record:
        init = (*init, jnp.broadcast_to(jnp.arange(K), (P, K)))
    final, seen = jax.lax.scan(step, init, (jnp.swapaxes(actions, 0, 1), jax.random.split(k_perm, H), eps))
    last, alive, total = final[:3]  # by slot (the same particle order for all three)
    returns = jnp.mean(_add_terminal_value(total, alive, last, H, discount, value, value_params), axis=1)
    return (returns, _trajectories(obs, seen, P, K)) if record else returns


def sequence_returns(model: Ensemble | TrueModel, world: JaxWorld, params: Any, key: jax.Array, obs: jax.Array,
                     actions: jax.Array, particles: int = 5, propagation: str = "tsinf",
                     bonus: float = 0.0, discount: float = 1.0, value: Value | None = None,
                     value_params: Any = None) -> jax.Array:
    """Estimated returns ``float32[P]`` of ``actions[P, H, a]`` from ``obs[d]`` (module docstring).

    ``particles`` must be a multiple of the ensemble's size for ``"ts1"`` / ``"tsinf"``; the
    true model and ``"expectation"`` use one particle. ``value``: a terminal value called as
    ``value(value_params, obs[..., d])`` (e.g. :class:`dynaplan.neural.value.ValueNet`), or None.
    """
    if isinstance(model, TrueModel):
        return _true_returns(model.world, obs, actions, discount, value, value_params)
    return _ensemble_returns(model, world, params, key, obs, actions, particles, propagation, bonus, discount,
                             value, value_params)


def sequence_rollouts(model: Ensemble | TrueModel, world: JaxWorld, params: Any, key: jax.Array, obs: jax.Array,
                      actions: jax.Array, particles: int = 5, propagation: str = "tsinf",
                      bonus: float = 0.0, discount: float = 1.0, value: Value | None = None,
                      value_params: Any = None) -> tuple[jax.Array, jax.Array]:
    """:func:`sequence_returns` with the imagined trajectories it scored (the same draws, the same
    returns): ``(returns float32[P], states float32[P, K, H + 1, d])``, ``states[p, k, 0] = obs``,
    ``states[p, k, h]`` particle ``k``'s observation after ``h`` actions of sequence ``p``
    (``K = particles``; 1 for the true model and ``"expectation"``). Under ``"ts1"`` each
    particle is followed through the permutations. After an imagined terminal step the
    trajectory goes on in the model; its later rewards count zero. For viewers
    (``dynaplan.neural.mpc.plan_samples``); planners call :func:`sequence_returns`.
    """
    if isinstance(model, TrueModel):
        return _true_returns(model.world, obs, actions, discount, value, value_params,  # type: ignore[no-any-return]
                             record=True)
    return _ensemble_returns(model, world, params, key, obs, actions, particles,  # type: ignore[no-any-return]
                             propagation, bonus, discount, value, value_params, record=True)
