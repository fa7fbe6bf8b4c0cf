"""Soft actor-critic (SAC) as pure, jittable functions: the n = 0 row of the deep Figure 8.2.

Haarnoja, Zhou, Abbeel & Levine (2018), "Soft Actor-Critic: Off-Policy Maximum Entropy Deep
Reinforcement Learning with a Stochastic Actor", with the learned temperature of Haarnoja, Zhou,
Hartikainen et al. (2018b), "Soft Actor-Critic Algorithms and Applications". Written in the
single-file style of CleanRL's ``sac_continuous_action.py``:

* twin critics ``Q_1, Q_2`` and their target copies, the target ``y = r + gamma (1 - d)
  (min_i Q'_i(s', a') - alpha log pi(a'|s'))`` with ``a' ~ pi(.|s')`` (2018b, eq. 3 and 5, the
  clipped double-Q of Fujimoto et al. 2018), each critic regressed on ``y`` by squared error;
* the actor ``pi(a|s) = scale * tanh(u) + bias``, ``u ~ N(mu(s), sigma(s)^2)``, minimising
  ``E[alpha log pi(a|s) - min_i Q_i(s, a)]`` through the reparameterisation ``u = mu + sigma eps``
  (eq. 7 and 8 of 2018b), with the change-of-variables correction of the tanh squashing
  (2018a, appendix C, eq. 21): ``log pi(a|s) = log N(u) - sum_j log(scale_j (1 - tanh(u_j)^2))``,
  written as ``2 (log 2 - u - softplus(-2u))`` for ``log(1 - tanh(u)^2)`` (exact, no epsilon);
* the temperature ``alpha = exp(log_alpha)`` minimising ``E[-log_alpha (log pi(a|s) +
  H_target)]`` with ``H_target = -act_dim`` (2018b, eq. 18);
* Polyak averaging of the targets, ``theta' <- tau theta + (1 - tau) theta'`` after every update.

All functions are pure over a :class:`SACState` pytree, so one run is ``jax.jit`` of them and many
runs are ``jax.vmap`` over a leading seed axis (``dynaplan.neural.runner``).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from dynaplan.neural.jax_agent import JaxAgent
from dynaplan.neural.nets import MLPParams, mlp_apply, mlp_init
from dynaplan.neural.replay import Replay, replay_add, replay_init, replay_sample

__all__ = [
    "SACAgent",
    "SACCarry",
    "SACConfig",
    "SACState",
    "SACStatic",
    "add_real",
    "mixed_batch",
    "sac_act",
    "sac_actor_loss",
    "sac_config",
    "sac_critic_loss",
    "sac_critic_step",
    "sac_init",
    "sac_update",
    "sac_updates",
    "squashed_sample",
    "twin_q",
]

LOG_STD_MIN, LOG_STD_MAX = -5.0, 2.0
"""The actor's log standard deviation is ``tanh`` mapped into this range (CleanRL's choice)."""


class SACConfig(NamedTuple):
    """Static settings of one SAC learner (hashable: a ``jax.jit`` static argument).

    obs_dim, act_dim: sizes; low, high: the action box (one value per dimension)
    hidden: widths of the actor's and each critic's hidden layers
    lr_actor, lr_critic, lr_alpha: Adam step sizes; gamma: discount; tau: Polyak rate
    batch: transitions per update; init_alpha: the temperature at the start
    target_entropy: ``H_target`` (None: ``-act_dim``, 2018b section 5)
    """

    obs_dim: int
    act_dim: int
    low: tuple[float, ...]
    high: tuple[float, ...]
    hidden: tuple[int, ...] = (64, 64)
    lr_actor: float = 3e-4
    lr_critic: float = 1e-3
    lr_alpha: float = 1e-3
    gamma: float = 0.99
    tau: float = 0.005
    batch: int = 128
    init_alpha: float = 1.0
    target_entropy: float | None = None


class SACState(NamedTuple):
    """Everything SAC learns.

    actor: MLP obs -> (mu, pre-log-std), float32[.., 2 * act_dim]
    critic: two MLPs (obs, action) -> Q stacked on a leading axis of 2 (``jax.vmap(mlp_init)``)
    critic_target: the Polyak-averaged copy of ``critic``
    log_alpha: float32[] the log temperature
    actor_opt, critic_opt, alpha_opt: Adam states
    updates: int32[] gradient updates made so far
    """

    actor: MLPParams
    critic: MLPParams
    critic_target: MLPParams
    log_alpha: jax.Array
    actor_opt: optax.OptState
    critic_opt: optax.OptState
    alpha_opt: optax.OptState
    updates: jax.Array


def _optimisers(cfg: SACConfig) -> tuple[optax.GradientTransformation, ...]:
    return optax.adam(cfg.lr_actor), optax.adam(cfg.lr_critic), optax.adam(cfg.lr_alpha)


def sac_init(key: jax.Array, cfg: SACConfig) -> SACState:
    """Fresh networks (PyTorch's default initialisation), targets equal to the critics."""
    k_actor, k_critic = jax.random.split(key)
    actor = mlp_init(k_actor, (cfg.obs_dim, *cfg.hidden, 2 * cfg.act_dim))
    critic = jax.vmap(lambda k: mlp_init(k, (cfg.obs_dim + cfg.act_dim, *cfg.hidden, 1)))(jax.random.split(k_critic))
    log_alpha = jnp.log(jnp.float32(cfg.init_alpha))
    opt_a, opt_c, opt_t = _optimisers(cfg)
    return SACState(actor, critic, critic, log_alpha, opt_a.init(actor), opt_c.init(critic), opt_t.init(log_alpha),
                    jnp.zeros((), jnp.int32))


def twin_q(critic: MLPParams, obs: jax.Array, action: jax.Array) -> jax.Array:
    """Both critics' values, float32[2, batch], for ``obs: [batch, obs_dim]``, ``action: [batch, act_dim]``."""
    x = jnp.concatenate([obs, action], axis=-1)
    return jax.vmap(lambda p: mlp_apply(p, x)[..., 0])(critic)


def squashed_sample(actor: MLPParams, cfg: SACConfig, obs: jax.Array, key: jax.Array) -> tuple[jax.Array, jax.Array]:
    """An action ``a ~ pi(.|obs)`` and ``log pi(a|obs)`` with the tanh correction (2018a, eq. 21).

    obs: float32[..., obs_dim] -> action float32[..., act_dim], log_prob float32[...]
    """
    out = mlp_apply(actor, obs)
    mu, pre = out[..., : cfg.act_dim], out[..., cfg.act_dim :]
    log_std = LOG_STD_MIN + 0.5 * (LOG_STD_MAX - LOG_STD_MIN) * (jnp.tanh(pre) + 1.0)
    eps = jax.random.normal(key, mu.shape, mu.dtype)
    u = mu + jnp.exp(log_std) * eps
    gauss = -0.5 * eps**2 - log_std - 0.5 * jnp.log(2.0 * jnp.pi)
    scale = 0.5 * (jnp.asarray(cfg.high, jnp.float32) - jnp.asarray(cfg.low, jnp.float32))
    bias = 0.5 * (jnp.asarray(cfg.high, jnp.float32) + jnp.asarray(cfg.low, jnp.float32))
    log_det = jnp.log(scale) + 2.0 * (jnp.log(2.0) - u - jax.nn.softplus(-2.0 * u))  # log |d a / d u|
    return scale * jnp.tanh(u) + bias, jnp.sum(gauss - log_det, axis=-1)


def sac_act(state: SACState, cfg: SACConfig, obs: jax.Array, key: jax.Array, deterministic: bool = False) -> jax.Array:
    """The action for ``obs``: a draw from the policy, or ``scale * tanh(mu) + bias`` when ``deterministic``."""
    if deterministic:
        mu = mlp_apply(state.actor, obs)[..., : cfg.act_dim]
        low, high = jnp.asarray(cfg.low, jnp.float32), jnp.asarray(cfg.high, jnp.float32)
        return 0.5 * (high - low) * jnp.tanh(mu) + 0.5 * (high + low)
    return squashed_sample(state.actor, cfg, obs, key)[0]


Batch = tuple[jax.Array, jax.Array, jax.Array, jax.Array, jax.Array]
"""(obs [B, obs_dim], action [B, act_dim], reward [B], next_obs [B, obs_dim], terminated bool[B])."""


def sac_critic_loss(critic: MLPParams, state: SACState, cfg: SACConfig, batch: Batch, key: jax.Array) -> jax.Array:
    """Sum over the twin critics of the mean squared soft Bellman error (2018b, eq. 5)."""
    obs, action, reward, next_obs, terminated = batch
    next_action, next_logp = squashed_sample(state.actor, cfg, next_obs, key)
    next_q = jnp.min(twin_q(state.critic_target, next_obs, next_action), axis=0)
    soft_v = next_q - jnp.exp(state.log_alpha) * next_logp
    y = jax.lax.stop_gradient(reward + cfg.gamma * (1.0 - terminated.astype(jnp.float32)) * soft_v)
    return jnp.sum(jnp.mean((twin_q(critic, obs, action) - y) ** 2, axis=-1))


def sac_actor_loss(actor: MLPParams, state: SACState, cfg: SACConfig, obs: jax.Array,
                   key: jax.Array) -> tuple[jax.Array, jax.Array]:
    """``E[alpha log pi(a|s) - min_i Q_i(s, a)]`` (2018b, eq. 7) and the batch's log-probs."""
    action, logp = squashed_sample(actor, cfg, obs, key)
    q = jnp.min(twin_q(state.critic, obs, action), axis=0)
    return jnp.mean(jnp.exp(state.log_alpha) * logp - q), logp


def _polyak(target: MLPParams, online: MLPParams, tau: float) -> MLPParams:
    return jax.tree_util.tree_map(lambda t, o: (1.0 - tau) * t + tau * o, target, online)


def sac_critic_step(state: SACState, cfg: SACConfig, batch: Batch, key: jax.Array) -> SACState:
    """One Adam step of the critics on ``batch`` and the Polyak step of their targets."""
    _, opt_c, _ = _optimisers(cfg)
    grads = jax.grad(sac_critic_loss)(state.critic, state, cfg, batch, key)
    upd, critic_opt = opt_c.update(grads, state.critic_opt, state.critic)
    critic = optax.apply_updates(state.critic, upd)
    return state._replace(critic=critic, critic_opt=critic_opt, critic_target=_polyak(state.critic_target, critic,
                                                                                      cfg.tau))


def sac_update(state: SACState, cfg: SACConfig, batch: Batch, key: jax.Array) -> SACState:
    """One SAC update: critics (and targets), then actor, then temperature, on the same batch."""
    k_critic, k_actor = jax.random.split(key)
    state = sac_critic_step(state, cfg, batch, k_critic)
    opt_a, _, opt_t = _optimisers(cfg)
    (_, logp), grads = jax.value_and_grad(sac_actor_loss, has_aux=True)(state.actor, state, cfg, batch[0], k_actor)
    upd, actor_opt = opt_a.update(grads, state.actor_opt, state.actor)
    actor = optax.apply_updates(state.actor, upd)
    target_entropy = -float(cfg.act_dim) if cfg.target_entropy is None else cfg.target_entropy
    logp = jax.lax.stop_gradient(logp)
    g_alpha = jax.grad(lambda la: jnp.mean(-la * (logp + target_entropy)))(state.log_alpha)
    upd_t, alpha_opt = opt_t.update(g_alpha, state.alpha_opt, state.log_alpha)
    return state._replace(actor=actor, actor_opt=actor_opt, log_alpha=optax.apply_updates(state.log_alpha, upd_t),
                          alpha_opt=alpha_opt, updates=state.updates + 1)


def mixed_batch(real: Replay, model: Replay | None, key: jax.Array, batch: int, real_ratio: float) -> Batch:
    """``batch`` transitions: ``round(real_ratio * batch)`` from ``real``, the rest from ``model``
    (MBPO's mix, Janner et al. 2019, Algorithm 2 line 11); all from ``real`` when ``model`` is None
    or still empty."""
    if model is None:
        return replay_sample(real, key, batch)  # type: ignore[return-value]
    n_real = min(batch, max(0, round(real_ratio * batch)))
    k_real, k_model = jax.random.split(key)
    r = replay_sample(real, k_real, batch)
    m = replay_sample(model, k_model, batch)
    take_real = (jnp.arange(batch) < n_real) | (model.size == 0)
    return tuple(jnp.where(take_real.reshape((batch,) + (1,) * (x.ndim - 1)), x, y)  # type: ignore[return-value]
                 for x, y in zip(r, m))


def sac_updates(state: SACState, cfg: SACConfig, real: Replay, model: Replay | None, key: jax.Array, n: int,
                real_ratio: float = 1.0) -> SACState:
    """``n`` SAC updates in a ``lax.scan`` (``n`` static), each on a fresh :func:`mixed_batch`."""
    def body(s: SACState, k: jax.Array) -> tuple[SACState, None]:
        k_batch, k_update = jax.random.split(k)
        return sac_update(s, cfg, mixed_batch(real, model, k_batch, cfg.batch, real_ratio), k_update), None

    if n == 0:
        return state
    out: SACState = jax.lax.scan(body, state, jax.random.split(key, n))[0]
    return out



# -- the agent ----------------------------------------------------------------------------------

class SACCarry(NamedTuple):
    """One SAC run: the learner, the real replay buffer and the run's key."""

    sac: SACState
    real: Replay
    key: jax.Array


class SACStatic(NamedTuple):
    """The static part of a SAC agent (hashable)."""

    cfg: SACConfig
    capacity: int
    updates_per_step: int


def _sac_carry(static: SACStatic, key: jax.Array) -> SACCarry:
    k_init, k_run = jax.random.split(key)
    return SACCarry(sac_init(k_init, static.cfg), replay_init(static.capacity, static.cfg.obs_dim, static.cfg.act_dim),
                    k_run)


def _act_random(static: Any, carry: Any, obs: jax.Array) -> tuple[Any, jax.Array]:
    """A uniform action in the box (the warm-up before learning starts); ``carry`` has ``key`` and a
    ``sac``-style config at ``static.cfg``."""
    key, k = jax.random.split(carry.key)
    cfg = static.cfg
    a = jax.random.uniform(k, (cfg.act_dim,), jnp.float32, jnp.asarray(cfg.low, jnp.float32),
                           jnp.asarray(cfg.high, jnp.float32))
    return carry._replace(key=key), a


def _act_policy(static: Any, carry: Any, obs: jax.Array) -> tuple[Any, jax.Array]:
    key, k = jax.random.split(carry.key)
    return carry._replace(key=key), sac_act(carry.sac, static.cfg, obs, k)


def _act_greedy(static: Any, carry: Any, obs: jax.Array) -> tuple[Any, jax.Array]:
    return carry, sac_act(carry.sac, static.cfg, obs, carry.key, deterministic=True)


def add_real(static: Any, carry: Any, obs: jax.Array, action: jax.Array, reward: jax.Array, next_obs: jax.Array,
             terminated: jax.Array) -> Any:
    """``carry`` (any with a ``real`` replay buffer) with one more real transition."""
    return carry._replace(real=replay_add(carry.real, obs, action, reward, next_obs, terminated))


def _sac_learn(static: SACStatic, carry: SACCarry) -> SACCarry:
    key, k = jax.random.split(carry.key)
    sac = sac_updates(carry.sac, static.cfg, carry.real, None, k, static.updates_per_step)
    return carry._replace(sac=sac, key=key)


def _add_learn(static: SACStatic, carry: SACCarry, *transition: jax.Array) -> SACCarry:
    """Store a real transition, then ``updates_per_step`` updates (one jitted call per real step)."""
    return _sac_learn(static, add_real(static, carry, *transition))


def sac_config(p: dict[str, Any], action_space: Any, obs_dim: int) -> SACConfig:
    """The :class:`SACConfig` of checked parameters ``p`` for a Box ``action_space``."""
    return SACConfig(obs_dim=obs_dim, act_dim=int(action_space.shape[0]),
                     low=tuple(float(x) for x in action_space.low), high=tuple(float(x) for x in action_space.high),
                     hidden=(p["hidden"],) * p["layers"], lr_actor=p["lr_actor"], lr_critic=p["lr_critic"],
                     lr_alpha=p["lr_alpha"], gamma=p["gamma"], tau=p["tau"], batch=p["batch"],
                     init_alpha=p["init_alpha"])


class SACAgent(JaxAgent):
    """SAC on a bounded Box action space (parameters as ``dynaplan.agents.deep_dyna.SAC`` checks
    them): uniform random actions for the first
    ``learning_starts`` real steps, then ``updates_per_step`` updates per real step on batches
    from the real replay buffer (``updates_per_step = 1``: Haarnoja et al. 2018's one gradient
    step per environment step).

    Defaults (stated; the paper's in brackets): two hidden layers of 64 (256), batch 128 (256),
    Adam 3e-4 actor and 1e-3 critic and temperature (3e-4 all), gamma 0.99, tau 0.005, initial
    temperature 1, replay 10,000 (1e6; our runs are shorter), 200 warm-up steps (one Pendulum episode; CleanRL 5,000).
    """

    name = "sac"
    discrete = False

    def _setup(self, observation_space: Any, action_space: Any) -> Any:
        p = self.params
        return SACStatic(sac_config(p, action_space, int(observation_space.shape[0])), p["buffer"],
                         p["updates_per_step"])

    @staticmethod
    def _init(static: Any, key: jax.Array) -> Any:
        return _sac_carry(static, key)

    def act(self, obs: Any) -> Any:
        """An action for ``obs`` (a NumPy float32 array; ``[seeds, act_dim]`` when batched)."""
        fn = _act_random if self.steps < self.params["learning_starts"] else _act_policy
        self.carry, a = self.call(fn, self.carry, self._obs(obs))
        return np.asarray(a)

    def greedy(self, obs: Any) -> Any:
        """The policy's mean action squashed (no exploration), for evaluation."""
        return np.asarray(self.call(_act_greedy, self.carry, self._obs(obs))[1])

    def _transition(self, obs: Any, action: Any, reward: Any, next_obs: Any, terminated: Any) -> tuple[Any, ...]:
        """A real transition as the jitted functions take it (NumPy arrays; a leading seed axis
        when batched); counts the real step."""
        a = np.asarray(action, np.float32).reshape((len(self.seeds), -1) if self.batched else (-1,))
        self.steps += 1
        return (self._obs(obs), a, np.asarray(reward, np.float32), self._obs(next_obs),
                np.asarray(terminated, bool))

    def observe(self, obs: Any, action: Any, reward: Any, next_obs: Any, terminated: Any, truncated: Any) -> None:
        """Store the real transition; from ``learning_starts`` on, learn (a truncated episode is
        bootstrapped: only ``terminated`` stops the target)."""
        transition = self._transition(obs, action, reward, next_obs, terminated)
        if self.steps >= self.params["learning_starts"]:
            self.carry = self.call(_add_learn, self.carry, *transition)
            self.updates += self.params["updates_per_step"]
        else:
            self.carry = self.call(add_real, self.carry, *transition)
