"""Planners at decision time (model-predictive control): random shooting, CEM, iCEM and MPPI.

Each decision is one jitted program (:func:`plan`): a few iterations of sampling a population of
action sequences ``[P, H, a]`` around a mean plan, scoring them in a model by particle
propagation (:mod:`dynaplan.neural.propagation`: ``lax.scan`` over the horizon, population x
particles batched), and refitting the sampling distribution. The first action of the result is
executed; the plan shifted by one step (:func:`shift_plan`) seeds the next decision when
``warm_start`` (the continuous form of keeping what decision-time planning computed, Sutton &
Barto section 8.8's "blend"); otherwise each decision starts from the middle of the action box.

* ``"random"``: random shooting (Nagabandi et al. 2018): one population drawn uniformly in the
  action box, the best sequence's first action.
* ``"cem"``: the cross-entropy method as PETS uses it (Chua et al. 2018, appendix; Botev et al.
  2013): Gaussian mean and standard deviation per step and action dimension, refitted to the
  ``elites`` best, smoothed ``new = alpha * old + (1 - alpha) * fit``; the mean's first action.
* ``"icem"``: improved CEM (Pinneri et al. 2020, algorithm 1): time-correlated ("colored")
  noise with power spectrum ``1 / f^beta``; population decayed by ``decay`` per iteration (at
  least twice the elites); a fraction ``keep_elites`` of the last iteration's elites carried into
  the next iteration's population; the mean added as a candidate in the last iteration; the best
  sequence seen is executed.
* ``"mppi"``: model-predictive path integral control (Williams et al. 2017, eq. 8): Gaussian
  perturbations of fixed ``init_std`` around the mean, the new mean their softmax-weighted
  average with temperature ``temperature`` (of returns); the mean's first action.

Sizes (our defaults, stated once): horizon 25, population 200, 3 iterations, 20 elites,
``alpha = 0.1``, initial standard deviation a quarter of the action range (PETS's variance
``(high - low)^2 / 16``), iCEM ``beta = 2``, ``decay = 1.25``, ``keep_elites = 0.3``, MPPI
temperature 1 (returns are not normalised: choose it on the reward's scale).

Terminal value: with ``value`` (a callable ``value(value_params, obs)``, e.g. a fitted
:class:`dynaplan.neural.value.ValueNet`) and the planner's ``discount`` gamma, a sequence is scored
by ``sum_{t<H} gamma^t r_t + gamma^H V(s_H)`` (TD-MPC, Hansen, Wang & Su 2022;
:mod:`dynaplan.neural.value` eq. 1); without it (the default) by the plain sum of its rewards.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from dynaplan.neural.ensemble import Ensemble
from dynaplan.neural.propagation import PROPAGATIONS, TrueModel, Value, sequence_returns, sequence_rollouts
from dynaplan.neural.worlds.base import JaxWorld

__all__ = ["METHODS", "PlanResult", "PlanSamples", "Planner", "colored_noise", "initial_plan", "plan", "plan_samples",
           "shift_plan"]

METHODS = ("random", "cem", "icem", "mppi")



@dataclass(frozen=True)
class Planner:
    """A planner's static settings (hashable: a static argument of ``jax.jit``); see the module docstring."""

    method: str = "cem"
    horizon: int = 25
    population: int = 200
    iterations: int = 3
    elites: int = 20
    alpha: float = 0.1
    init_std: float | None = None
    particles: int = 5
    propagation: str = "tsinf"
    warm_start: bool = True
    bonus: float = 0.0
    beta: float = 2.0
    decay: float = 1.25
    keep_elites: float = 0.3
    temperature: float = 1.0
    discount: float = 1.0

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {', '.join(METHODS)}, got {self.method!r}")
        if self.propagation not in PROPAGATIONS:
            raise ValueError(f"propagation must be one of {', '.join(PROPAGATIONS)}, got {self.propagation!r}")
        for name in ("horizon", "population", "iterations", "elites", "particles"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be a positive integer, got {getattr(self, name)!r}")
        if self.method in ("cem", "icem") and self.elites > self.population:
            raise ValueError(f"elites ({self.elites}) must not exceed population ({self.population})")
        if not 0.0 <= self.alpha < 1.0 or not 0.0 <= self.keep_elites <= 1.0:
            raise ValueError("alpha must be in [0, 1) and keep_elites in [0, 1]")
        if self.bonus < 0 or self.temperature <= 0 or self.decay < 1.0:
            raise ValueError("bonus must be >= 0, temperature > 0 and decay >= 1")
        if not 0.0 < self.discount <= 1.0:
            raise ValueError(f"discount must be in (0, 1], got {self.discount}")

    def populations(self) -> list[int]:
        """Population of each iteration (iCEM's decay; constant for the others)."""
        if self.method != "icem":
            return [self.population] * self.iterations
        return [max(int(self.population * self.decay ** (-i)), 2 * self.elites) for i in range(self.iterations)]

    def samples_per_decision(self, members: int = 1) -> int:
        """Model steps (network evaluations of one member) per decision."""
        per = {"expectation": members}.get(self.propagation, self.particles)
        if self.bonus > 0 and self.propagation != "expectation":
            per = self.particles * members
        return sum(self.populations()) * self.horizon * per


class PlanResult(NamedTuple):
    """One decision: ``action[a]`` to execute, ``mean[H, a]`` the refined plan (unshifted),
    ``elites[k, H, a]`` the last elites (iCEM carries a fraction to the next decision; the
    others return an empty array), ``value`` the estimated return of the executed sequence."""

    action: jax.Array
    mean: jax.Array
    elites: jax.Array
    value: jax.Array


class PlanSamples(NamedTuple):
    """One iteration of a decision as the planner did it (:func:`plan_samples`; for viewers).

    P sequences scored (iCEM: its population of the iteration, then the carried elites, then, in
    the last iteration, the mean itself), H steps, K particles per sequence (1 for the true model
    and ``"expectation"``), d observation dimensions, k = ``planner.elites``.

    Attributes:
      mean: float32[H, a], the plan the iteration sampled around (random shooting: the plan it was
        given; it samples the whole action box).
      sequences: float32[P, H, a], the action sequences scored.
      returns: float32[P], their estimated returns (mean over particles; NaN scored as -inf).
      elites: int32[k], the k best sequences by ``returns``, best first: the ones CEM and iCEM
        refit to (random shooting executes the first; MPPI weights every sequence, these only shown).
      states: float32[P, K, H + 1, d], each particle's imagined observations (index 0: ``obs``),
        the trajectories the returns were computed from (``propagation.sequence_rollouts``).
    """

    mean: jax.Array
    sequences: jax.Array
    returns: jax.Array
    elites: jax.Array
    states: jax.Array


def _bounds(world: JaxWorld) -> tuple[float, float]:
    return float(world.action_low), float(world.action_high)


def initial_plan(planner: Planner, world: JaxWorld) -> jax.Array:
    """The plan a decision starts from without a warm start: the middle of the action box, ``[H, a]``."""
    low, high = _bounds(world)
    return jnp.full((planner.horizon, world.act_dim), 0.5 * (low + high), jnp.float32)


def shift_plan(planner: Planner, world: JaxWorld, mean: jax.Array) -> jax.Array:
    """The plan for the next decision: ``mean`` shifted by one step, the middle of the box appended."""
    return jnp.concatenate([mean[1:], initial_plan(planner, world)[:1]], 0)


def colored_noise(key: jax.Array, beta: float, shape: tuple[int, ...], horizon: int) -> jax.Array:
    """Standard normal noise ``[*shape, horizon, ...]`` correlated along the horizon (axis ``len(shape)``
    of ``shape + (horizon,)``), with power spectral density ``1 / f^beta`` (``beta = 0``: white;
    Pinneri et al. 2020, section 3.1; Timmer & Koenig 1995's construction), normalised to unit
    variance per step. ``shape`` = ``(P, a)``: the result is ``[P, horizon, a]``."""
    P, A = shape
    freqs = jnp.fft.rfftfreq(horizon)
    freqs = freqs.at[0].set(1.0 / horizon)  # the constant component weighted as the lowest frequency
    scale = freqs ** (-beta / 2.0)
    k_re, k_im = jax.random.split(key)
    nf = freqs.shape[0]
    spec = scale * (jax.random.normal(k_re, (P, A, nf)) + 1j * jax.random.normal(k_im, (P, A, nf)))
    x = jnp.fft.irfft(spec, n=horizon, axis=-1)
    # Var x_t = (s_0^2 + 4 sum_mid s_f^2 + s_nyq^2) / H^2: irfft keeps only the real part at 0 and Nyquist
    weights = jnp.full((nf,), 4.0).at[0].set(1.0)
    if horizon % 2 == 0:
        weights = weights.at[-1].set(1.0)
    x = x / jnp.sqrt(jnp.sum(weights * scale**2) / horizon**2)
    return jnp.swapaxes(x, 1, 2).astype(jnp.float32)


@partial(jax.jit, static_argnums=(0, 1, 2), static_argnames=("value",))
def plan(planner: Planner, model: Ensemble | TrueModel, world: JaxWorld, params: Any, key: jax.Array,
         obs: jax.Array, mean: jax.Array, elites: jax.Array | None = None, value: Value | None = None,
         value_params: Any = None) -> PlanResult:
    """One decision from ``obs[d]`` starting from the plan ``mean[H, a]`` (module docstring).

    ``params``: the ensemble's parameters (``None`` for :class:`TrueModel`). ``elites``: iCEM's
    elites carried from the previous decision (already shifted), or None. ``value``: a terminal
    value (hashable, static) called as ``value(value_params, obs)``, or None.
    """
    return _decision(planner, model, world, params, key, obs, mean, elites, value, value_params, False)[0]


@partial(jax.jit, static_argnums=(0, 1, 2), static_argnames=("value",))
def plan_samples(planner: Planner, model: Ensemble | TrueModel, world: JaxWorld, params: Any, key: jax.Array,
                 obs: jax.Array, mean: jax.Array, elites: jax.Array | None = None, value: Value | None = None,
                 value_params: Any = None) -> tuple[PlanResult, tuple[PlanSamples, ...]]:
    """:func:`plan` (the same arguments, the same draws, the same :class:`PlanResult`) and what
    each of its iterations sampled and imagined, one :class:`PlanSamples` per iteration. A
    separate program for viewers: :func:`plan` keeps its own, which records nothing."""
    return _decision(planner, model, world, params, key, obs, mean, elites, value, value_params, True)


def _decision(planner: Planner, model: Ensemble | TrueModel, world: JaxWorld, params: Any, key: jax.Array,
              obs: jax.Array, mean: jax.Array, elites: jax.Array | None, value: Value | None, value_params: Any,
              record: bool) -> tuple[PlanResult, tuple[PlanSamples, ...]]:
    """The body of :func:`plan`; with ``record``, also every iteration's :class:`PlanSamples`."""
    low, high = _bounds(world)
    records: list[PlanSamples] = []
    H, A = planner.horizon, world.act_dim
    std0 = planner.init_std if planner.init_std is not None else (high - low) / 4.0
    std = jnp.full((H, A), std0, jnp.float32)

    def score(k: jax.Array, seqs: jax.Array) -> Any:
        if record:
            return sequence_rollouts(model, world, params, k, obs, seqs, planner.particles, planner.propagation,
                                     planner.bonus, planner.discount, value, value_params)
        return sequence_returns(model, world, params, k, obs, seqs, planner.particles, planner.propagation,
                                planner.bonus, planner.discount, value, value_params)

    def recorded(around: jax.Array, seqs: jax.Array, scored: Any) -> jax.Array:
        """The returns of ``scored``; with ``record``, the iteration is kept as a :class:`PlanSamples`."""
        if not record:
            return scored  # type: ignore[no-any-return]
        returns, states = scored
        ranked = jnp.where(jnp.isnan(returns), -jnp.inf, returns)
        records.append(PlanSamples(around, seqs, ranked, jax.lax.top_k(ranked, min(planner.elites, seqs.shape[0]))[1],
                                   states))
        return returns  # type: ignore[no-any-return]

    if planner.method == "random":
        k_s, k_r = jax.random.split(key)
        seqs = jax.random.uniform(k_s, (planner.population, H, A), jnp.float32, low, high)
        returns = recorded(mean, seqs, score(k_r, seqs))
        best = jnp.argmax(returns)
        return PlanResult(seqs[best, 0], seqs[best], jnp.zeros((0, H, A)), returns[best]), tuple(records)

    if planner.method in ("cem", "mppi"):  # a constant population: one compiled iteration, scanned
        def iteration(carry: tuple, k: jax.Array) -> tuple[tuple, Any]:
            mean, std, best_seq, best_ret = carry
            k_s, k_r = jax.random.split(k)
            noise = jax.random.normal(k_s, (planner.population, H, A))
            seqs = jnp.clip(mean + (std0 if planner.method == "mppi" else std) * noise, low, high)
            returns = recorded(mean, seqs, score(k_r, seqs))
            returns = jnp.where(jnp.isnan(returns), -jnp.inf, returns)
            top = jnp.argmax(returns)
            improved = returns[top] > best_ret
            best_seq = jnp.where(improved, seqs[top], best_seq)
            best_ret = jnp.where(improved, returns[top], best_ret)
            if planner.method == "mppi":
                w = jax.nn.softmax((returns - returns[top]) / planner.temperature)
                return (jnp.einsum("p,pha->ha", w, seqs), std, best_seq, best_ret), \
                    records.pop() if record else returns[top]  # the scan stacks the iterations' records
            _, idx = jax.lax.top_k(returns, planner.elites)
            elite = seqs[idx]
            mean = planner.alpha * mean + (1 - planner.alpha) * jnp.mean(elite, 0)
            std = planner.alpha * std + (1 - planner.alpha) * jnp.std(elite, 0)
            return (mean, std, best_seq, best_ret), records.pop() if record else returns[top]

        init = (mean, std, mean, jnp.array(-jnp.inf, jnp.float32))
        (mean, _, _, best_ret), stacked = jax.lax.scan(iteration, init, jax.random.split(key, planner.iterations))
        if record:
            records.extend(jax.tree_util.tree_map(lambda x, i=i: x[i], stacked) for i in range(planner.iterations))
        return PlanResult(mean[0], mean, jnp.zeros((0, H, A)), best_ret), tuple(records)

    # iCEM: the population shrinks from one iteration to the next, so its iterations are unrolled
    best_seq, best_ret = mean, jnp.array(-jnp.inf, jnp.float32)
    n_keep = round(planner.keep_elites * planner.elites)
    kept = elites if (elites is not None and elites.shape[0] > 0) else None
    last_elites = jnp.zeros((0, H, A))
    for i, pop in enumerate(planner.populations()):
        key, k_s, k_r = jax.random.split(key, 3)
        seqs = jnp.clip(mean + std * colored_noise(k_s, planner.beta, (pop, A), H), low, high)
        if kept is not None:
            seqs = jnp.concatenate([seqs, kept], 0)
        if i == planner.iterations - 1:
            seqs = jnp.concatenate([seqs, mean[None]], 0)
        returns = recorded(mean, seqs, score(k_r, seqs))
        returns = jnp.where(jnp.isnan(returns), -jnp.inf, returns)
        top = jnp.argmax(returns)
        improved = returns[top] > best_ret
        best_seq = jnp.where(improved, seqs[top], best_seq)
        best_ret = jnp.where(improved, returns[top], best_ret)
        _, idx = jax.lax.top_k(returns, planner.elites)
        elite = seqs[idx]
        mean = planner.alpha * mean + (1 - planner.alpha) * jnp.mean(elite, 0)
        std = planner.alpha * std + (1 - planner.alpha) * jnp.std(elite, 0)
        last_elites = elite
        kept = elite[:n_keep] if n_keep > 0 else None
    return PlanResult(best_seq[0], best_seq, last_elites[:n_keep], best_ret), tuple(records)
