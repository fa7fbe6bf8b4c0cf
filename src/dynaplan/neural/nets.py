"""Multi-layer perceptrons as pure functions over parameter pytrees (mctx / haiku-free style).

A network is a tuple of :class:`Dense` layers; ``mlp_init`` makes one from a JAX key and
``mlp_apply`` evaluates it. Both are plain functions, so an ensemble is ``jax.vmap(mlp_init)``
over a batch of keys and ``jax.vmap(mlp_apply)`` over the stacked parameters, and every
optimiser is an optax transformation of the same pytree.

Initialisation is PyTorch's default for ``nn.Linear`` (weights and biases uniform in
``+-1/sqrt(fan_in)``: He et al. 2015's bound with a = sqrt(5)), the one PETS, MBPO and SAC's
reference implementations were tuned with.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp

__all__ = ["Dense", "MLPParams", "mlp_apply", "mlp_init", "n_params"]


class Dense(NamedTuple):
    """One affine layer ``y = x @ w + b``.

    w: float32[fan_in, fan_out]
    b: float32[fan_out]
    """

    w: jax.Array
    b: jax.Array


MLPParams = tuple[Dense, ...]


def mlp_init(key: jax.Array, sizes: Sequence[int], dtype: jnp.dtype = jnp.float32) -> MLPParams:
    """Parameters of an MLP with layer widths ``sizes`` (input first, output last).

    ``sizes = (obs_dim, 64, 64, out_dim)`` gives two hidden layers of 64 units.
    """
    if len(sizes) < 2 or any(int(s) < 1 for s in sizes):
        raise ValueError(f"sizes: need at least an input and an output width, each >= 1, got {tuple(sizes)}")
    keys = jax.random.split(key, len(sizes) - 1)
    layers = []
    for k, fan_in, fan_out in zip(keys, sizes[:-1], sizes[1:]):
        kw, kb = jax.random.split(k)
        bound = 1.0 / jnp.sqrt(fan_in)
        w = jax.random.uniform(kw, (fan_in, fan_out), dtype, -bound, bound)
        b = jax.random.uniform(kb, (fan_out,), dtype, -bound, bound)
        layers.append(Dense(w, b))
    return tuple(layers)


def mlp_apply(
    params: MLPParams, x: jax.Array, activation: Callable[[jax.Array], jax.Array] = jax.nn.relu
) -> jax.Array:
    """The network's output for inputs ``x: float32[..., fan_in]`` (linear output layer)."""
    for layer in params[:-1]:
        x = activation(x @ layer.w + layer.b)
    last = params[-1]
    return x @ last.w + last.b


def n_params(params: object) -> int:
    """How many scalars a parameter pytree holds."""
    return sum(int(leaf.size) for leaf in jax.tree_util.tree_leaves(params))
