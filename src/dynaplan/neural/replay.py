"""A replay buffer as a record of preallocated arrays and pure add / sample functions.

The buffer is a ring: once ``capacity`` transitions are stored, the oldest is overwritten. All
functions are jittable and return a new record (the arrays are JAX arrays), so a buffer can live
inside a jitted training loop or be carried by ``lax.scan`` and ``vmap`` over seeds.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

__all__ = ["Replay", "replay_add", "replay_add_batch", "replay_add_masked", "replay_init", "replay_sample"]


class Replay(NamedTuple):
    """Stored transitions ``(s, a, r, s', terminated)``.

    obs: float32[capacity, obs_dim]
    action: float32[capacity, act_dim] (continuous) or int32[capacity] (discrete)
    reward: float32[capacity]
    next_obs: float32[capacity, obs_dim]
    terminated: bool[capacity]
    size: int32[] (how many slots hold a transition, at most capacity)
    ptr: int32[] (the slot the next transition goes to)
    """

    obs: jax.Array
    action: jax.Array
    reward: jax.Array
    next_obs: jax.Array
    terminated: jax.Array
    size: jax.Array
    ptr: jax.Array

    @property
    def capacity(self) -> int:
        return int(self.reward.shape[0])


def replay_init(capacity: int, obs_dim: int, act_dim: int | None) -> Replay:
    """An empty buffer; ``act_dim=None`` stores discrete (integer) actions."""
    if capacity < 1 or obs_dim < 1 or (act_dim is not None and act_dim < 1):
        raise ValueError(f"replay: capacity, obs_dim and act_dim must be >= 1, got {capacity}, {obs_dim}, {act_dim}")
    action = jnp.zeros((capacity,), jnp.int32) if act_dim is None else jnp.zeros((capacity, act_dim), jnp.float32)
    return Replay(
        obs=jnp.zeros((capacity, obs_dim), jnp.float32),
        action=action,
        reward=jnp.zeros((capacity,), jnp.float32),
        next_obs=jnp.zeros((capacity, obs_dim), jnp.float32),
        terminated=jnp.zeros((capacity,), bool),
        size=jnp.zeros((), jnp.int32),
        ptr=jnp.zeros((), jnp.int32),
    )


def replay_add(buf: Replay, obs: jax.Array, action: jax.Array, reward: jax.Array, next_obs: jax.Array,
               terminated: jax.Array) -> Replay:
    """The buffer with one more transition (overwriting the oldest when full)."""
    i = buf.ptr
    return Replay(
        obs=buf.obs.at[i].set(obs),
        action=buf.action.at[i].set(action),
        reward=buf.reward.at[i].set(reward),
        next_obs=buf.next_obs.at[i].set(next_obs),
        terminated=buf.terminated.at[i].set(terminated),
        size=jnp.minimum(buf.size + 1, buf.capacity),
        ptr=(i + 1) % buf.capacity,
    )


def replay_add_batch(buf: Replay, obs: jax.Array, action: jax.Array, reward: jax.Array, next_obs: jax.Array,
                     terminated: jax.Array) -> Replay:
    """The buffer with a batch of ``n`` transitions (leading axis) added in order.

    ``n`` must not exceed the capacity (checked where the batch size is chosen).
    """
    n = reward.shape[0]
    idx = (buf.ptr + jnp.arange(n)) % buf.capacity
    return Replay(
        obs=buf.obs.at[idx].set(obs),
        action=buf.action.at[idx].set(action),
        reward=buf.reward.at[idx].set(reward),
        next_obs=buf.next_obs.at[idx].set(next_obs),
        terminated=buf.terminated.at[idx].set(terminated),
        size=jnp.minimum(buf.size + n, buf.capacity),
        ptr=(buf.ptr + n) % buf.capacity,
    )


def replay_sample(buf: Replay, key: jax.Array, batch: int) -> tuple[jax.Array, ...]:
    """``batch`` transitions drawn uniformly with replacement from the stored ones.

    Returns ``(obs, action, reward, next_obs, terminated)``, each with leading axis ``batch``.
    The buffer must hold at least one transition.
    """
    idx = jax.random.randint(key, (batch,), 0, jnp.maximum(buf.size, 1))
    return buf.obs[idx], buf.action[idx], buf.reward[idx], buf.next_obs[idx], buf.terminated[idx]


def replay_add_masked(buf: Replay, obs: jax.Array, action: jax.Array, reward: jax.Array, next_obs: jax.Array,
                      terminated: jax.Array, keep: jax.Array) -> Replay:
    """The buffer with the transitions of a batch whose ``keep: bool[n]`` is set, added in order
    (the others are dropped: model rollouts past a predicted terminal state). ``n <= capacity``."""
    keep = keep.astype(bool)
    n_keep = jnp.sum(keep, dtype=jnp.int32)
    slot = (buf.ptr + jnp.cumsum(keep, dtype=jnp.int32) - 1) % buf.capacity
    idx = jnp.where(keep, slot, buf.capacity)  # out of range: dropped by mode="drop"
    return Replay(
        obs=buf.obs.at[idx].set(obs, mode="drop"),
        action=buf.action.at[idx].set(action, mode="drop"),
        reward=buf.reward.at[idx].set(reward, mode="drop"),
        next_obs=buf.next_obs.at[idx].set(next_obs, mode="drop"),
        terminated=buf.terminated.at[idx].set(terminated, mode="drop"),
        size=jnp.minimum(buf.size + n_keep, buf.capacity),
        ptr=(buf.ptr + n_keep) % buf.capacity,
    )
