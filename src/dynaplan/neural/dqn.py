"""DQN and Dyna-DQN: Q-learning with a neural value function on real and model transitions.

DQN (Mnih et al. 2015): a network ``Q(s, .)`` trained by the Q-learning target
``y = r + gamma (1 - d) max_a' Q_target(s', a')`` (Sutton & Barto eq. 6.8 with a function
approximator) on batches drawn from a replay buffer of real transitions, with the Huber loss and
a target network copied from the online one every ``target_every`` real steps.

Dyna-DQN is Dyna-Q (Sutton & Barto section 8.2, the tabular Dyna-Q of Figure 8.2) with both
tables replaced by networks: besides the Q-learning update on real data (direct RL), each real
step makes one gradient step of a learned deterministic model ``(s, a) -> (s' - s, r, done)``
(model learning; squared error on the normalised state difference and reward, cross-entropy on
``done``) and then ``n`` planning updates (``planning_steps``): each draws a batch of states
from the real buffer (previously observed states) and actions uniformly at random, asks the
model for ``(s', r, done)`` and makes the same Q-learning update on those imagined transitions.
``n = 0`` is DQN. The target network is copied every ``target_every`` *real* steps, so with
``n`` planning updates each copy follows ``(n + 1) target_every`` regressions toward a fixed
target (fitted Q iteration between copies): copying every ``target_every`` *updates* made
``n = 50`` diverge on CartPole-v1 in our first runs (every seed stuck at returns of 8-12).
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

__all__ = ["DQNAgent", "DQNCarry", "DQNStatic", "DynaDQNAgent", "model_predict", "q_learning_loss"]


class DQNStatic(NamedTuple):
    """Static settings (hashable). ``planning_steps`` is Dyna's n."""

    obs_dim: int
    n_actions: int
    hidden: tuple[int, ...]
    lr: float
    model_lr: float
    gamma: float
    batch: int
    capacity: int
    target_every: int
    planning_steps: int


class DQNCarry(NamedTuple):
    """One run: Q network, its target, the model, their Adam states, the real buffer, the key.

    model: MLP ``[obs, one-hot a] -> [delta obs (normalised), reward (normalised), done logit]``
    """

    q: MLPParams
    q_target: MLPParams
    q_opt: optax.OptState
    model: MLPParams
    model_opt: optax.OptState
    real: Replay
    updates: jax.Array
    key: jax.Array


def _init(static: DQNStatic, key: jax.Array) -> DQNCarry:
    k_q, k_m, k_run = jax.random.split(key, 3)
    q = mlp_init(k_q, (static.obs_dim, *static.hidden, static.n_actions))
    model = mlp_init(k_m, (static.obs_dim + static.n_actions, *static.hidden, static.obs_dim + 2))
    return DQNCarry(q, q, optax.adam(static.lr).init(q), model, optax.adam(static.model_lr).init(model),
                    replay_init(static.capacity, static.obs_dim, None), jnp.zeros((), jnp.int32), k_run)


def q_learning_loss(q: MLPParams, q_target: MLPParams, gamma: float, obs: jax.Array, action: jax.Array,
                    reward: jax.Array, next_obs: jax.Array, done: jax.Array) -> jax.Array:
    """Mean Huber loss between ``Q(s, a)`` and the Q-learning target (Mnih et al. 2015)."""
    next_max = jnp.max(mlp_apply(q_target, next_obs), axis=-1)
    y = jax.lax.stop_gradient(reward + gamma * (1.0 - done.astype(jnp.float32)) * next_max)
    pred = jnp.take_along_axis(mlp_apply(q, obs), action[:, None], axis=-1)[:, 0]
    return jnp.mean(optax.huber_loss(pred, y))


def _buffer_stats(real: Replay) -> tuple[jax.Array, jax.Array, jax.Array, jax.Array]:
    """Mean and std of stored observations and of [state difference, reward] (for the model)."""
    valid = (jnp.arange(real.capacity) < real.size)[:, None]
    n = jnp.maximum(real.size, 1)

    def stats(x: jax.Array) -> tuple[jax.Array, jax.Array]:
        m = jnp.sum(jnp.where(valid, x, 0.0), 0) / n
        s = jnp.sqrt(jnp.sum(jnp.where(valid, (x - m) ** 2, 0.0), 0) / n)
        return m, jnp.where(s < 1e-6, 1.0, s)

    in_m, in_s = stats(real.obs)
    out_m, out_s = stats(jnp.concatenate([real.next_obs - real.obs, real.reward[:, None]], -1))
    return in_m, in_s, out_m, out_s


def model_predict(static: DQNStatic, model: MLPParams, norm: tuple[jax.Array, ...], obs: jax.Array,
                  action: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
    """The learned model's ``(next_obs, reward, p_done)`` for ``obs[B, d]``, ``action[B]``; the
    probability of termination enters the target as ``(1 - p_done)`` (an expectation over the
    model's termination, not a thresholded guess: with terminations one step in twenty, a
    thresholded classifier predicts "never", and CartPole's only learning signal is termination)."""
    in_m, in_s, out_m, out_s = norm
    x = jnp.concatenate([(obs - in_m) / in_s, jax.nn.one_hot(action, static.n_actions)], -1)
    out = mlp_apply(model, x)
    dr = out[:, : static.obs_dim + 1] * out_s + out_m
    return obs + dr[:, : static.obs_dim], dr[:, static.obs_dim], jax.nn.sigmoid(out[:, -1])


def _model_loss(model: MLPParams, static: DQNStatic, norm: tuple[jax.Array, ...], obs: jax.Array, action: jax.Array,
                reward: jax.Array, next_obs: jax.Array, done: jax.Array) -> jax.Array:
    in_m, in_s, out_m, out_s = norm
    x = jnp.concatenate([(obs - in_m) / in_s, jax.nn.one_hot(action, static.n_actions)], -1)
    out = mlp_apply(model, x)
    target = (jnp.concatenate([next_obs - obs, reward[:, None]], -1) - out_m) / out_s
    mse = jnp.mean(jnp.sum((out[:, :-1] - target) ** 2, -1))
    bce = jnp.mean(optax.sigmoid_binary_cross_entropy(out[:, -1], done.astype(jnp.float32)))
    return mse + bce


def _q_step(static: DQNStatic, carry: DQNCarry, batch: tuple[jax.Array, ...]) -> DQNCarry:
    grads = jax.grad(q_learning_loss)(carry.q, carry.q_target, static.gamma, *batch)
    upd, q_opt = optax.adam(static.lr).update(grads, carry.q_opt, carry.q)
    q = optax.apply_updates(carry.q, upd)
    return carry._replace(q=q, q_opt=q_opt, updates=carry.updates + 1)


def _dqn_learn(static: DQNStatic, carry: DQNCarry, copy: jax.Array) -> DQNCarry:
    """One real step's learning: direct RL on a real batch; with ``planning_steps = n > 0`` also
    one model-learning step and ``n`` Q-learning updates on model transitions (Dyna, Figure 8.1);
    then the target network becomes the online one when ``copy``."""
    key, k_real, k_model, k_plan = jax.random.split(carry.key, 4)
    carry = _q_step(static, carry, replay_sample(carry.real, k_real, static.batch))
    if static.planning_steps > 0:
        carry = _dyna_planning(static, carry, k_model, k_plan)
    q_target = jax.tree_util.tree_map(lambda o, t: jnp.where(copy, o, t), carry.q, carry.q_target)
    return carry._replace(key=key, q_target=q_target)


def _dyna_planning(static: DQNStatic, carry: DQNCarry, k_model: jax.Array, k_plan: jax.Array) -> DQNCarry:
    """One model-learning step on a real batch, then ``n`` planning updates on model transitions."""
    norm = _buffer_stats(carry.real)
    batch = replay_sample(carry.real, k_model, static.batch)
    grads = jax.grad(_model_loss)(carry.model, static, norm, *batch)
    upd, model_opt = optax.adam(static.model_lr).update(grads, carry.model_opt, carry.model)
    carry = carry._replace(model=optax.apply_updates(carry.model, upd), model_opt=model_opt)

    def plan(c: DQNCarry, k: jax.Array) -> tuple[DQNCarry, None]:
        k_s, k_a = jax.random.split(k)
        idx = jax.random.randint(k_s, (static.batch,), 0, jnp.maximum(c.real.size, 1))
        obs = c.real.obs[idx]
        action = jax.random.randint(k_a, (static.batch,), 0, static.n_actions)
        next_obs, reward, done = model_predict(static, c.model, norm, obs, action)
        return _q_step(static, c, (obs, action, reward, next_obs, done)), None

    out: DQNCarry = jax.lax.scan(plan, carry, jax.random.split(k_plan, static.planning_steps))[0]
    return out


def _dqn_act(static: DQNStatic, carry: DQNCarry, obs: jax.Array, epsilon: jax.Array) -> tuple[DQNCarry, jax.Array]:
    """Epsilon-greedy on ``Q(obs, .)`` (ties to the lowest index, as ``argmax``)."""
    key, k_explore, k_action = jax.random.split(carry.key, 3)
    greedy = jnp.argmax(mlp_apply(carry.q, obs)).astype(jnp.int32)
    random = jax.random.randint(k_action, (), 0, static.n_actions)
    return carry._replace(key=key), jnp.where(jax.random.uniform(k_explore) < epsilon, random, greedy)


def _dqn_add(static: DQNStatic, carry: DQNCarry, obs: jax.Array, action: jax.Array, reward: jax.Array,
             next_obs: jax.Array, terminated: jax.Array) -> DQNCarry:
    return carry._replace(real=replay_add(carry.real, obs, action, reward, next_obs, terminated))


def _dqn_add_learn(static: DQNStatic, carry: DQNCarry, obs: jax.Array, action: jax.Array, reward: jax.Array,
                   next_obs: jax.Array, terminated: jax.Array, copy: jax.Array) -> DQNCarry:
    """Store a real transition, then :func:`_dqn_learn` (one jitted call per real step)."""
    return _dqn_learn(static, _dqn_add(static, carry, obs, action, reward, next_obs, terminated), copy)


class DQNAgent(JaxAgent):
    """DQN on a Discrete action space (``planning_steps = 0``); :class:`DynaDQNAgent` plans.
    Parameters as ``dynaplan.agents.deep_dyna.DQN`` checks them.

    Defaults (ours, for CartPole-v1 / Acrobot-v1 on 2 cores; Mnih et al. 2015 in brackets): two
    hidden layers of 64 (conv net), Adam 1e-3 (RMSProp 2.5e-4), batch 64 (32), gamma 0.99 (the
    same), replay 50,000 (1e6), 200 uniform warm-up steps (50,000), epsilon linear from 1 to 0.05
    over the first 1,000 real steps (1 to 0.1 over 1e6), target copied every 200 real steps (10,000 updates),
    one update per real step (one per 4 frames).
    """

    name = "dqn"
    discrete = True

    def _setup(self, observation_space: Any, action_space: Any) -> DQNStatic:
        p = self.params
        return DQNStatic(int(observation_space.shape[0]), int(action_space.n), (p["hidden"],) * p["layers"], p["lr"],
                         p["model_lr"], p["gamma"], p["batch"], p["buffer"], p["target_every"], p["planning_steps"])

    @staticmethod
    def _init(static: Any, key: jax.Array) -> DQNCarry:
        return _init(static, key)

    def epsilon(self) -> float:
        """The exploration rate at the current real step (linear decay, then constant)."""
        p = self.params
        frac = min(1.0, self.steps / p["explore_steps"])
        return p["epsilon_start"] + frac * (p["epsilon_end"] - p["epsilon_start"])

    def act(self, obs: Any) -> Any:
        """An epsilon-greedy action (an int; one per seed when batched)."""
        eps = np.full((len(self.seeds),), self.epsilon(), np.float32) if self.batched else np.float32(self.epsilon())
        self.carry, a = self.call(_dqn_act, self.carry, self._obs(obs), eps)
        return np.asarray(a) if self.batched else int(a)

    def observe(self, obs: Any, action: Any, reward: Any, next_obs: Any, terminated: Any, truncated: Any) -> None:
        """Store the real transition; from ``learning_starts`` on, one direct-RL update and, for
        Dyna-DQN, one model step and ``planning_steps`` planning updates (truncation bootstraps)."""
        a = np.asarray(action)
        if not (np.issubdtype(a.dtype, np.integer) and ((a >= 0) & (a < self.static.n_actions)).all()):
            raise ValueError(f"action must be an integer in [0, {self.static.n_actions - 1}], got {action!r}")
        transition = (self._obs(obs), a.astype(np.int32), np.asarray(reward, np.float32), self._obs(next_obs),
                      np.asarray(terminated, bool))
        self.steps += 1
        if self.steps < self.params["learning_starts"]:
            self.carry = self.call(_dqn_add, self.carry, *transition)
        else:
            copy = self.steps % self.params["target_every"] == 0
            flag = np.full((len(self.seeds),), copy) if self.batched else np.asarray(copy)
            self.carry = self.call(_dqn_add_learn, self.carry, *transition, flag)
            n = self.params["planning_steps"]
            self.updates += 1 + n
            self.model_steps += n * self.params["batch"]


class DynaDQNAgent(DQNAgent):
    """Dyna-DQN (module docstring): DQN plus a learned model and ``planning_steps`` (default 5)
    Q-learning updates on model transitions per real step (the same program as
    :class:`DQNAgent`; its own name and default)."""

    name = "dyna-dqn"
