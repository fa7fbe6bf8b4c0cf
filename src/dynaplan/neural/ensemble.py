"""Ensembles of dynamics networks: probabilistic (PETS) and deterministic, with held-out early stopping.

Chua, Calandra, McAllister & Levine (2018), *Deep Reinforcement Learning in a Handful of Trials
using Probabilistic Dynamics Models* (PETS), section 4: each of ``members`` networks maps a
normalised ``(obs, action)`` to a Gaussian over the normalised *state difference*
``next_obs - obs`` (and, when ``learn_reward``, the reward), trained on its own bootstrap
resample of the data by the Gaussian negative log-likelihood (their eq. 1). The log-variance is
kept between learned soft bounds (their appendix A.1):
``logvar = max_lv - softplus(max_lv - raw)``, then ``logvar = min_lv + softplus(logvar - min_lv)``,
with ``0.01 (sum max_lv - sum min_lv)`` added to the loss so that the bounds tighten; they start
at ``max_lv = 0.5``, ``min_lv = -10`` (in normalised units). A deterministic ensemble
(``probabilistic=False``) has the same networks trained by squared error and predicts zero
variance.

Everything is a pure function of a parameter pytree, so an ensemble, its training and its
predictions ``vmap`` over seeds:

* :func:`ensemble_init` ``(model, key) -> EnsembleParams``
* :func:`ensemble_predict` ``(model, params, obs[E, N, d], action[E, N, a])`` -> per-member
  Gaussians (each member its own rows: one network evaluation per row);
* :func:`ensemble_predict_all` ``(model, params, obs[N, d], action[N, a])`` -> every member on
  every row (``[E, N, out]``: for the expectation and the disagreement bonus);
* :func:`ensemble_step` ``(model, params, key, obs[N, d], action[N, a], mean=False)`` ->
  ``(next_obs[N, d], reward[N])``: each row through a member drawn uniformly (MBPO's way of
  sampling a model step), a sample of its Gaussian (its mean with ``mean=True``), the reward
  learned or given by ``model.reward_fn``. **The stable entry point for other families.**
* :func:`ensemble_train` ``(model, params, key, data, train) -> (params, TrainReport)``: optax
  Adam on bootstrapped minibatches, the held-out loss checked every ``eval_every`` steps, each
  member keeping its best parameters, stopping after ``patience`` checks without a 1% relative
  improvement of any member (mbrl-lib's rule).

Data live in a fixed-capacity :class:`dynaplan.neural.replay.Replay` (shapes fixed, so training
compiles once for a whole run): slot ``i`` is held out when ``i % 5 == 0`` (a fifth of the
data), the others are the training set, drawn from in closed form (no index arrays).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from dynaplan.neural.nets import Dense, MLPParams, mlp_apply, mlp_init
from dynaplan.neural.replay import Replay

__all__ = [
    "Ensemble",
    "EnsembleParams",
    "TrainConfig",
    "TrainReport",
    "ensemble_init",
    "ensemble_predict",
    "ensemble_predict_all",
    "ensemble_step",
    "ensemble_train",
    "prediction_errors",
]

HOLDOUT_EVERY = 5


@dataclass(frozen=True)
class Ensemble:
    """The static description of an ensemble (hashable: a static argument of ``jax.jit``).

    Attributes:
      obs_dim, act_dim: sizes of observations and actions.
      members: ensemble size E (>= 1; PETS uses 5).
      hidden: widths of the hidden layers (PETS: 4 x 200 on its tasks; our Pendulum default 2 x 64).
      probabilistic: Gaussian outputs (PETS's P) or deterministic ones (D).
      learn_reward: predict the reward as one more output; otherwise ``reward_fn`` gives it.
      reward_fn: ``(obs, action, next_obs) -> r`` on single rows (a world's reward in JAX), or None.
    """

    obs_dim: int
    act_dim: int
    members: int = 5
    hidden: tuple[int, ...] = (64, 64)
    probabilistic: bool = True
    learn_reward: bool = False
    reward_fn: Callable[[jax.Array, jax.Array, jax.Array], jax.Array] | None = None

    def __post_init__(self) -> None:
        if self.members < 1:
            raise ValueError(f"members: an ensemble needs at least 1 member, got {self.members}")
        if self.obs_dim < 1 or self.act_dim < 1 or any(h < 1 for h in self.hidden):
            raise ValueError(f"ensemble sizes must be >= 1, got obs_dim={self.obs_dim}, act_dim={self.act_dim}, "
                             f"hidden={self.hidden}")
        if not self.learn_reward and self.reward_fn is None:
            raise ValueError("an ensemble that does not learn the reward needs reward_fn")

    @property
    def out_dim(self) -> int:
        """State difference, plus the reward when learned."""
        return self.obs_dim + int(self.learn_reward)


class EnsembleParams(NamedTuple):
    """Trained parameters and the data's normalisation.

    nets: the members' MLPs stacked on a leading axis E (each leaf ``[E, ...]``), output width
      ``2 * out_dim`` (mean and raw log-variance).
    max_logvar, min_logvar: float32[out_dim], the learned soft bounds.
    in_mean, in_std: float32[obs_dim + act_dim], inputs' normalisation.
    out_mean, out_std: float32[out_dim], targets' normalisation (state difference, reward).
    """

    nets: MLPParams
    max_logvar: jax.Array
    min_logvar: jax.Array
    in_mean: jax.Array
    in_std: jax.Array
    out_mean: jax.Array
    out_std: jax.Array


class TrainConfig(NamedTuple):
    """Training sizes (the defaults are ours, sized for a few thousand transitions).

    batch: minibatch per member (32, PETS's); lr: Adam step size (1e-3); eval_every: gradient
    steps between held-out checks (50); max_evals: at most this many checks (40, so at most 2,000
    steps per call); patience: checks without a 1% improvement before stopping (5).
    """

    batch: int = 32
    lr: float = 1e-3
    eval_every: int = 50
    max_evals: int = 40
    patience: int = 5


DEFAULT_TRAIN = TrainConfig()


class TrainReport(NamedTuple):
    """What one training call did: ``steps`` taken, ``holdout_mse`` per member (normalised units)."""

    steps: jax.Array
    holdout_mse: jax.Array


def _nets_one_draw(key: jax.Array, members: int, sizes: tuple[int, ...]) -> MLPParams:
    """Every member's layers from one uniform draw (the same distribution as ``nets.mlp_init``)."""
    shapes = [s for i, o in itertools.pairwise(sizes) for s in ((members, i, o), (members, o))]
    u = jax.random.uniform(key, (sum(int(np.prod(s)) for s in shapes),), jnp.float32, -1.0, 1.0)
    ends = np.cumsum([int(np.prod(s)) for s in shapes])
    parts = [u[e - int(np.prod(s)):e].reshape(s) for s, e in zip(shapes, ends)]
    return tuple(Dense(w * float(fan_in ** -0.5), b * float(fan_in ** -0.5))
                 for w, b, fan_in in zip(parts[::2], parts[1::2], sizes[:-1]))


def ensemble_init(model: Ensemble, key: jax.Array, *, one_draw: bool = False) -> EnsembleParams:
    """Fresh parameters (PyTorch's default initialisation, ``nets.mlp_init``) and unit normalisation.

    ``one_draw``: draw every member's weights with one random call rather than one per layer and
    member (the same distribution, other numbers): XLA compiles each random call separately, and
    on a CPU a per-layer initialisation costs seconds of compilation, one draw a fraction of that.
    """
    sizes = (model.obs_dim + model.act_dim, *model.hidden, 2 * model.out_dim)
    if one_draw:
        nets = _nets_one_draw(key, model.members, sizes)
    else:
        nets = jax.vmap(lambda k: mlp_init(k, sizes))(jax.random.split(key, model.members))
    d_in, d_out = model.obs_dim + model.act_dim, model.out_dim
    return EnsembleParams(
        nets=nets,
        max_logvar=jnp.full((d_out,), 0.5, jnp.float32),
        min_logvar=jnp.full((d_out,), -10.0, jnp.float32),
        in_mean=jnp.zeros((d_in,), jnp.float32), in_std=jnp.ones((d_in,), jnp.float32),
        out_mean=jnp.zeros((d_out,), jnp.float32), out_std=jnp.ones((d_out,), jnp.float32),
    )


def _bounded_logvar(raw: jax.Array, max_lv: jax.Array, min_lv: jax.Array) -> jax.Array:
    logvar = max_lv - jax.nn.softplus(max_lv - raw)
    return min_lv + jax.nn.softplus(logvar - min_lv)


def _forward(model: Ensemble, nets: MLPParams, max_lv: jax.Array, min_lv: jax.Array, x: jax.Array,
             per_member: bool) -> tuple[jax.Array, jax.Array]:
    """Normalised mean and log-variance ``[E, N, out]`` of normalised inputs ``x``
    (``[E, N, d_in]`` with ``per_member``, else ``[N, d_in]`` for every member)."""
    apply = partial(mlp_apply, activation=jax.nn.silu)  # PETS's swish
    out = jax.vmap(apply, in_axes=(0, 0 if per_member else None))(nets, x)
    mean, raw = out[..., : model.out_dim], out[..., model.out_dim:]
    if not model.probabilistic:
        return mean, jnp.full_like(mean, -jnp.inf)
    return mean, _bounded_logvar(raw, max_lv, min_lv)


def _denormalise(params: EnsembleParams, obs: jax.Array, mean_n: jax.Array,
                 logvar_n: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Next-observation (and reward) mean and log-variance in the data's units."""
    mean = params.out_mean + params.out_std * mean_n
    logvar = logvar_n + 2 * jnp.log(params.out_std)
    d = obs.shape[-1]
    next_mean = jnp.concatenate([obs + mean[..., :d], mean[..., d:]], axis=-1)
    return next_mean, logvar


def ensemble_predict(model: Ensemble, params: EnsembleParams, obs: jax.Array,
                     action: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Each member on its own rows: ``obs[E, N, d]``, ``action[E, N, a]`` ->
    ``(mean[E, N, out], logvar[E, N, out])``; ``mean[..., :d]`` is the next observation's mean,
    ``mean[..., d]`` the reward's when learned; log-variances in the data's units."""
    x = (jnp.concatenate([obs, action], -1) - params.in_mean) / params.in_std
    m, lv = _forward(model, params.nets, params.max_logvar, params.min_logvar, x, per_member=True)
    return _denormalise(params, obs, m, lv)


def ensemble_predict_all(model: Ensemble, params: EnsembleParams, obs: jax.Array,
                         action: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Every member on every row: ``obs[N, d]``, ``action[N, a]`` -> ``[E, N, out]`` each."""
    x = (jnp.concatenate([obs, action], -1) - params.in_mean) / params.in_std
    m, lv = _forward(model, params.nets, params.max_logvar, params.min_logvar, x, per_member=False)
    return _denormalise(params, obs[None], m, lv)


def ensemble_step(model: Ensemble, params: EnsembleParams, key: jax.Array, obs: jax.Array, action: jax.Array,
                  mean: bool = False) -> tuple[jax.Array, jax.Array]:
    """One model step for rows ``obs[N, d]``, ``action[N, a]``: ``(next_obs[N, d], reward[N])``.

    Each row goes through a member drawn uniformly at random and, unless ``mean``, a draw of its
    Gaussian. Costs E network evaluations per row (every member is evaluated, one is kept);
    planners use :func:`ensemble_predict` with particles assigned to members instead.
    """
    k_member, k_noise = jax.random.split(key)
    mu, logvar = ensemble_predict_all(model, params, obs, action)  # [E, N, out]
    n = obs.shape[0]
    idx = jax.random.randint(k_member, (n,), 0, model.members)
    mu, logvar = mu[idx, jnp.arange(n)], logvar[idx, jnp.arange(n)]
    if model.probabilistic and not mean:
        mu = mu + jnp.exp(0.5 * logvar) * jax.random.normal(k_noise, mu.shape)
    next_obs = mu[:, : model.obs_dim]
    if model.learn_reward:
        return next_obs, mu[:, model.obs_dim]
    assert model.reward_fn is not None
    return next_obs, jax.vmap(model.reward_fn)(obs, action, next_obs)


# -- training ---------------------------------------------------------------------------------


def _train_index(j: jax.Array) -> jax.Array:
    """The slot of the ``j``-th training transition (slots ``i % 5 != 0``)."""
    per = HOLDOUT_EVERY - 1
    return (j // per) * HOLDOUT_EVERY + 1 + j % per


def _targets(model: Ensemble, data: Replay) -> jax.Array:
    delta = data.next_obs - data.obs
    return jnp.concatenate([delta, data.reward[:, None]], -1) if model.learn_reward else delta


def _normalisation(model: Ensemble, data: Replay) -> tuple[jax.Array, ...]:
    valid = (jnp.arange(data.capacity) < data.size)[:, None]
    n = jnp.maximum(data.size, 1)

    def stats(x: jax.Array) -> tuple[jax.Array, jax.Array]:
        m = jnp.sum(jnp.where(valid, x, 0.0), 0) / n
        s = jnp.sqrt(jnp.sum(jnp.where(valid, (x - m) ** 2, 0.0), 0) / n)
        return m, jnp.where(s < 1e-6, 1.0, s)  # a constant input (or target) is left unscaled

    in_mean, in_std = stats(jnp.concatenate([data.obs, data.action], -1))
    out_mean, out_std = stats(_targets(model, data))
    return in_mean, in_std, out_mean, out_std


def _member_losses(model: Ensemble, trainable: tuple, x: jax.Array, y: jax.Array, w: jax.Array,
                   nll: bool) -> jax.Array:
    """Per-member loss ``[E]`` on rows ``x[E, B, d_in]``, targets ``y[E, B, out]`` (normalised),
    weights ``w[E, B]``: Gaussian NLL (up to constants) or squared error."""
    nets, max_lv, min_lv = trainable
    mean, logvar = _forward(model, nets, max_lv, min_lv, x, per_member=True)
    if nll and model.probabilistic:
        per_row = jnp.mean((mean - y) ** 2 * jnp.exp(-logvar) + logvar, -1)
    else:
        per_row = jnp.mean((mean - y) ** 2, -1)
    return jnp.sum(per_row * w, -1) / jnp.maximum(jnp.sum(w, -1), 1.0)


@partial(jax.jit, static_argnums=(0, 4))
def ensemble_train(model: Ensemble, params: EnsembleParams, key: jax.Array, data: Replay,
                   train: TrainConfig = DEFAULT_TRAIN) -> tuple[EnsembleParams, TrainReport]:
    """Fit the ensemble to the stored transitions with held-out early stopping (module docstring).

    The data's normalisation is recomputed from all stored transitions; training continues from
    ``params`` (warm start across calls, as PETS and mbrl-lib do); Adam's moments start afresh
    at each call. Needs at least ``HOLDOUT_EVERY + 1`` stored transitions (one held out, one to
    train on). Returns the best parameters per member and a :class:`TrainReport`.
    """
    in_mean, in_std, out_mean, out_std = _normalisation(model, data)
    xs = (jnp.concatenate([data.obs, data.action], -1) - in_mean) / in_std
    ys = (_targets(model, data) - out_mean) / out_std
    n_hold = (data.size + HOLDOUT_EVERY - 1) // HOLDOUT_EVERY
    n_train = jnp.maximum(data.size - n_hold, 1)
    hold_idx = jnp.arange(0, data.capacity, HOLDOUT_EVERY)
    hold_w = (hold_idx < data.size).astype(jnp.float32)
    E = model.members
    x_hold = jnp.broadcast_to(xs[hold_idx], (E, *xs[hold_idx].shape))
    y_hold = jnp.broadcast_to(ys[hold_idx], (E, *ys[hold_idx].shape))
    w_hold = jnp.broadcast_to(hold_w, (E, hold_w.shape[0]))
    opt = optax.adam(train.lr)
    trainable = (params.nets, params.max_logvar, params.min_logvar)

    def holdout(tr: tuple) -> jax.Array:
        return _member_losses(model, tr, x_hold, y_hold, w_hold, nll=False)

    def loss(tr: tuple, idx: jax.Array) -> jax.Array:
        x, y = xs[idx], ys[idx]  # [E, B, ...]: each member its own bootstrap draws
        per_member = _member_losses(model, tr, x, y, jnp.ones(idx.shape), nll=True)
        _, max_lv, min_lv = tr
        bound = 0.01 * (jnp.sum(max_lv) - jnp.sum(min_lv)) if model.probabilistic else 0.0
        return jnp.sum(per_member) + bound

    def sgd_step(carry: tuple, k: jax.Array) -> tuple[tuple, None]:
        tr, opt_state = carry
        j = jax.random.randint(k, (E, train.batch), 0, n_train)  # bootstrap: with replacement
        grads = jax.grad(loss)(tr, _train_index(j))
        updates, opt_state = opt.update(grads, opt_state, tr)
        return (optax.apply_updates(tr, updates), opt_state), None

    def block(state: tuple) -> tuple:
        tr, opt_state, best, best_mse, since, i, k = state
        k, sub = jax.random.split(k)
        (tr, opt_state), _ = jax.lax.scan(sgd_step, (tr, opt_state), jax.random.split(sub, train.eval_every))
        mse = holdout(tr)
        better = mse < best_mse * 0.99
        pick = lambda new, old: jnp.where(better.reshape((E,) + (1,) * (new.ndim - 1)), new, old)  # noqa: E731
        best = (jax.tree_util.tree_map(pick, tr[0], best[0]), tr[1], tr[2])
        best_mse = jnp.where(better, mse, best_mse)
        since = jnp.where(jnp.any(better), 0, since + 1)
        return tr, opt_state, best, best_mse, since, i + 1, k

    def go_on(state: tuple) -> jax.Array:
        return (state[5] < train.max_evals) & (state[4] < train.patience)

    start = (trainable, opt.init(trainable), trainable, holdout(trainable), jnp.int32(0), jnp.int32(0), key)
    _, _, best, best_mse, _, n_blocks, _ = jax.lax.while_loop(go_on, block, start)
    nets, max_lv, min_lv = best
    new = EnsembleParams(nets, max_lv, min_lv, in_mean, in_std, out_mean, out_std)
    return new, TrainReport(steps=n_blocks * train.eval_every, holdout_mse=best_mse)


@partial(jax.jit, static_argnums=(0, 5))
def prediction_errors(model: Ensemble, params: EnsembleParams, obs: jax.Array, actions: jax.Array,
                      true_next: jax.Array, horizon: int) -> jax.Array:
    """Root mean squared error of the ensemble's mean prediction, ``horizon`` steps ahead.

    obs: float32[N, d] start observations; actions: float32[N, H, a]; true_next: float32[N, H, d]
    the true observations after each action. The model's open-loop rollout of each member's mean
    (averaged over members at each step: the expectation propagation) is compared with the true
    trajectory: returns float32[H], entry ``h`` the RMSE ``h + 1`` steps ahead (entry 0 is the
    one-step error).
    """
    def step(o: jax.Array, a: jax.Array) -> tuple[jax.Array, jax.Array]:
        mu, _ = ensemble_predict_all(model, params, o, a)
        nxt = jnp.mean(mu[..., : model.obs_dim], 0)
        return nxt, nxt

    _, pred = jax.lax.scan(step, obs, jnp.swapaxes(actions, 0, 1)[:horizon])  # [H, N, d]
    err = pred - jnp.swapaxes(true_next, 0, 1)[:horizon]
    return jnp.sqrt(jnp.mean(err**2, axis=(1, 2)))
