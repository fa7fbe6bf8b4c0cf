"""The object face of the JAX agents (``act`` / ``observe`` / ``defaults()`` / ``view()``), one run
or many runs in lockstep.

A JAX agent is a *carry* (a pytree: networks, optimiser states, replay buffers, a key) and pure
functions over it. :class:`JaxAgent` holds the carry and calls the functions jitted. Built with
``seeds=[s0, s1, ...]`` instead of ``seed=s``, the same agent holds one carry per seed stacked on
a leading axis and calls ``jax.vmap`` of the same functions: that is the batched runner
(``dynaplan.neural.runner.run_seeds``), which steps one Gymnasium env per seed in lockstep.
Everything that depends only on the step count (warm-up, schedules, when the model is trained)
is decided in Python, the same for every seed, so no ``lax.cond`` is turned into a ``select``
that computes both branches under ``vmap``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import gymnasium as gym
import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["JaxAgent", "check_obs"]


def check_obs(obs: Any, dim: int, batched: bool) -> np.ndarray:
    """``obs`` as float32 of shape ``[dim]`` (``[seeds, dim]`` when batched); ``ValueError`` in one
    line for a wrong shape or a NaN / infinite entry."""
    x = np.asarray(obs, dtype=np.float32)
    want = x.ndim == (2 if batched else 1) and x.shape[-1] == dim
    if not want:
        raise ValueError(f"observation must have shape {'[seeds, ' if batched else '['}{dim}], got {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError(f"observation must be finite, got {np.asarray(obs).tolist()}")
    return x


@functools.lru_cache(maxsize=256)
def _compiled(fn: Callable[..., Any], static: Any, batched: bool) -> Callable[..., Any]:
    """``jax.jit`` of ``fn(static, *args)`` (vmapped over every argument when ``batched``); the first
    argument (the carry) is donated, so its buffers are updated in place, not copied per call."""
    f = functools.partial(fn, static)
    return jax.jit(jax.vmap(f) if batched else f, donate_argnums=0)


class JaxAgent:
    """Base class: subclasses set ``name``, ``discrete`` and implement ``_setup`` (-> static
    config), ``_init`` (static, key -> carry) and the ``act`` / ``observe`` logic with :meth:`call`.

    ``params`` are complete and checked: ``dynaplan.agents.deep_dyna`` (which imports no JAX)
    holds every agent's defaults and checks them, and the spaces, once
    (``AGENTS[name].check_params(...)``).

    ``seed`` gives one run; ``seeds`` (a sequence) gives one run per seed in lockstep: ``act``
    then takes ``[seeds, obs_dim]`` and returns one action per seed, ``observe`` takes arrays
    with that leading axis. Run ``i`` of a batched agent uses the same key as the single agent
    built with ``seed=seeds[i]``.
    """

    name: ClassVar[str] = ""
    discrete: ClassVar[bool] = False

    def __init__(self, observation_space: gym.Space[Any], action_space: gym.Space[Any], seed: int = 0, *,
                 seeds: Sequence[int] | None = None, **params: Any) -> None:
        self.params = dict(params)
        self.obs_dim = int((observation_space.shape or (0,))[0])
        self.action_space = action_space
        self.batched = seeds is not None
        self.seeds = [int(s) for s in (seeds if seeds is not None else [seed])]
        self.static = self._setup(observation_space, action_space)
        keys = jnp.stack([jax.random.PRNGKey(s) for s in self.seeds])
        # not jitted: XLA would constant-fold the large zero buffers of the replay (minutes of compile)
        carry = jax.vmap(functools.partial(self._init, self.static))(keys)
        # a fresh buffer per leaf: the carry is donated, and a target network starts as the very
        # arrays of its online network (donating one buffer twice is an error)
        self.carry = jax.tree_util.tree_map(lambda x: jnp.array(x, copy=True) if self.batched else x[0], carry)
        self.steps = 0
        self.updates = 0
        self.model_steps = 0

    def call(self, fn: Callable[..., Any], *args: Any) -> Any:
        """``fn(static, *args)`` jitted (vmapped over the leading seed axis when batched)."""
        return _compiled(fn, self.static, self.batched)(*args)

    def view(self) -> dict[str, Any]:
        """Counters: real steps, gradient updates and model steps made so far (per run)."""
        return {"agent": self.name, "steps": self.steps, "updates": self.updates, "model_steps": self.model_steps,
                **self.params}

    def _obs(self, obs: Any) -> np.ndarray:
        return check_obs(obs, self.obs_dim, self.batched)

    def _setup(self, observation_space: gym.Space[Any], action_space: gym.Space[Any]) -> Any:
        raise NotImplementedError

    @staticmethod
    def _init(static: Any, key: jax.Array) -> Any:
        raise NotImplementedError

    def act(self, obs: Any) -> Any:
        raise NotImplementedError

    def observe(self, obs: Any, action: Any, reward: Any, next_obs: Any, terminated: Any, truncated: Any) -> None:
        raise NotImplementedError
