"""A learned terminal value for the planner at decision time (TD-MPC's idea: Hansen, Wang & Su 2022).

A planner that looks ``H`` steps ahead scores a sequence by the rewards it sees; what happens
after step ``H`` is ignored, so a short horizon is myopic. TD-MPC adds a value learned by
temporal differences at the end of each imagined trajectory (their eq. 5, with a state value in
place of their ``Q(z_H, pi(z_H))``). With a terminal value ``V`` the return of an action sequence
``a_0 .. a_{H-1}`` imagined from ``s_0`` is

    G = sum_{t=0}^{H-1} gamma^t r_t  +  gamma^H V(s_H)                                    (1)

(the value counts only while the imagined trajectory has not terminated;
:func:`dynaplan.neural.propagation.sequence_returns`). Dynamic programming says why it works: if
``V`` is the optimal cost-to-go, the first action maximising (1) is the optimal action for any
``H >= 1`` (Bertsekas 2005, section 6.1; tested on a linear-quadratic system, where the Riccati
cost-to-go as ``V`` makes a two-step horizon recover the infinite-horizon LQR action).

The value network ``V_phi`` (:class:`ValueNet`) is fitted on the real transitions of the replay
by fitted value iteration with TD(0) targets (Sutton & Barto section 6.1; Ernst et al. 2005):
``rounds`` times, the targets

    y_i = r_i + gamma (1 - terminated_i) V_phibar(s'_i)                                    (2)

are computed with the parameters ``phibar`` frozen at the start of the round, and ``steps``
Adam steps on minibatches minimise ``mean (V_phi(s_i) - y_i)^2``. Each round is one Bellman
backup of the policy that collected the data (after the first random episodes, the planner's own
actions: the next action in the data is the one the planner took), so ``rounds`` backups
propagate values ``rounds`` steps back; training continues from the previous fit (warm start
across episodes, as the ensemble's does). A transition cut off by the time limit is not terminal:
its target bootstraps. Inputs are normalised by the data's mean and standard deviation, and the
output is scaled by ``std(r) / (1 - gamma)``, the size of a discounted return.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax

from dynaplan.neural.nets import MLPParams, mlp_apply, mlp_init
from dynaplan.neural.replay import Replay

__all__ = ["ValueNet", "ValueParams", "ValueTrain", "value_fit", "value_init"]


class ValueParams(NamedTuple):
    """A value network's parameters and the data's normalisation.

    net: the MLP (input ``obs_dim``, output 1); in_mean, in_std: float32[obs_dim]; scale:
    float32[] (``V(s) = scale * net((s - in_mean) / in_std)``).
    """

    net: MLPParams
    in_mean: jax.Array
    in_std: jax.Array
    scale: jax.Array


@dataclass(frozen=True)
class ValueNet:
    """A state-value network ``V(obs)`` (hashable: a static argument of ``jax.jit``); calling it
    with ``(params, obs[..., d])`` gives ``float32[...]``. ``discount`` is the gamma of eqs. (1)
    and (2)."""

    obs_dim: int
    hidden: tuple[int, ...] = (64, 64)
    discount: float = 0.95

    def __post_init__(self) -> None:
        if self.obs_dim < 1 or any(h < 1 for h in self.hidden):
            raise ValueError(f"value network sizes must be >= 1, got obs_dim={self.obs_dim}, hidden={self.hidden}")
        if not 0.0 <= self.discount < 1.0:
            raise ValueError(f"discount must be in [0, 1) (a fitted value needs gamma < 1), got {self.discount}")

    def __call__(self, params: ValueParams, obs: jax.Array) -> jax.Array:
        x = (obs - params.in_mean) / params.in_std
        return params.scale * mlp_apply(params.net, x, activation=jax.nn.silu)[..., 0]


class ValueTrain(NamedTuple):
    """Fitting sizes (ours): ``rounds`` Bellman backups (eq. 2) of ``steps`` Adam steps each on
    minibatches of ``batch`` transitions, step size ``lr``."""

    rounds: int = 50
    steps: int = 40
    batch: int = 256
    lr: float = 1e-3


DEFAULT_VALUE_TRAIN = ValueTrain()


def value_init(value: ValueNet, key: jax.Array) -> ValueParams:
    """Fresh parameters (PyTorch's default initialisation), unit normalisation and scale."""
    d = value.obs_dim
    return ValueParams(mlp_init(key, (d, *value.hidden, 1)), jnp.zeros((d,), jnp.float32),
                       jnp.ones((d,), jnp.float32), jnp.ones((), jnp.float32))


@partial(jax.jit, static_argnums=(0, 4))
def value_fit(value: ValueNet, params: ValueParams, key: jax.Array, data: Replay,
              train: ValueTrain = DEFAULT_VALUE_TRAIN) -> tuple[ValueParams, jax.Array]:
    """Fit ``V`` to the stored transitions by fitted value iteration (module docstring, eq. 2),
    continuing from ``params``; returns the new parameters and the root mean squared TD error of
    the last round's targets (the data's units). Needs at least one stored transition."""
    n = jnp.maximum(data.size, 1)
    valid = (jnp.arange(data.capacity) < data.size)[:, None]
    mean = jnp.sum(jnp.where(valid, data.obs, 0.0), 0) / n
    std = jnp.sqrt(jnp.sum(jnp.where(valid, (data.obs - mean) ** 2, 0.0), 0) / n)
    std = jnp.where(std < 1e-6, 1.0, std)
    r_valid = valid[:, 0]
    r_mean = jnp.sum(jnp.where(r_valid, data.reward, 0.0)) / n
    r_std = jnp.sqrt(jnp.sum(jnp.where(r_valid, (data.reward - r_mean) ** 2, 0.0)) / n)
    scale = jnp.maximum(r_std, 1e-3) / (1.0 - value.discount)
    # re-express the current function under the new normalisation's output scale
    last = params.net[-1]
    ratio = params.scale / scale
    net = (*params.net[:-1], last._replace(w=last.w * ratio, b=last.b * ratio))
    params = ValueParams(net, mean, std, scale)
    opt = optax.adam(train.lr)
    not_done = 1.0 - data.terminated.astype(jnp.float32)

    def target(frozen: ValueParams, idx: jax.Array) -> jax.Array:
        return data.reward[idx] + value.discount * not_done[idx] * value(frozen, data.next_obs[idx])

    def loss(net: MLPParams, frozen: ValueParams, idx: jax.Array) -> jax.Array:
        y = jax.lax.stop_gradient(target(frozen, idx))
        return jnp.mean(((value(params._replace(net=net), data.obs[idx]) - y) / scale) ** 2)

    def round_(carry: tuple, k: jax.Array) -> tuple[tuple, jax.Array]:
        net, opt_state = carry
        frozen = params._replace(net=net)

        def step(c: tuple, kk: jax.Array) -> tuple[tuple, None]:
            net, opt_state = c
            idx = jax.random.randint(kk, (train.batch,), 0, n)
            grads = jax.grad(loss)(net, frozen, idx)
            updates, opt_state = opt.update(grads, opt_state, net)
            return (optax.apply_updates(net, updates), opt_state), None

        (net, opt_state), _ = jax.lax.scan(step, (net, opt_state), jax.random.split(k, train.steps))
        return (net, opt_state), loss(net, frozen, jax.random.randint(k, (train.batch,), 0, n))

    (net, _), losses = jax.lax.scan(round_, (params.net, opt.init(params.net)), jax.random.split(key, train.rounds))
    return params._replace(net=net), jnp.sqrt(losses[-1]) * scale
