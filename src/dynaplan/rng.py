"""Explicit random state for compiled kernels.

Every kernel takes its randomness as an argument: a ``uint64[4]`` array holding the state of a
PCG64 generator (``state_hi, state_lo, inc_hi, inc_lo``). The arithmetic is NumPy's PCG64
(XSL-RR 128/64) and ``rand`` is NumPy's ``Generator.random()``, bit for bit, so

* a kernel that steps an environment reproduces exactly the draws a Gymnasium env makes with
  its ``np_random`` (``categorical_sample``), which lets the batched runner match the object
  API on Gymnasium's own FrozenLake or Taxi;
* no global seed exists anywhere: a state array is made from a ``numpy.random.SeedSequence``
  and travels with the run.

Drawing an integer below ``n`` is ``int(rand(rng) * n)`` (about 2.5 ns), not a rejection
sampler: the bias is below 2**-40 for the sizes used here.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dynaplan._jit import kernel

_M32 = np.uint64(0xFFFFFFFF)
_S32 = np.uint64(32)
_MULT_HI = np.uint64(2549297995355413924)
_MULT_LO = np.uint64(4865540595714422341)
_INV_2_53 = 1.0 / 9007199254740992.0

#: Seed-sequence child used for an agent's stream; the env is seeded with the run seed itself.
AGENT_STREAM = 0


@kernel(inline=True)
def _next_uint64(rng: np.ndarray) -> np.uint64:
    # 128-bit LCG step: state = state * MULT + inc (mod 2**128), then XSL-RR output.
    al = rng[1]
    a0 = al & _M32
    a1 = al >> _S32
    b0 = _MULT_LO & _M32
    b1 = _MULT_LO >> _S32
    p00 = a0 * b0
    p01 = a0 * b1
    p10 = a1 * b0
    p11 = a1 * b1
    mid = (p00 >> _S32) + (p01 & _M32) + (p10 & _M32)
    lo = (p00 & _M32) | (mid << _S32)
    hi = p11 + (p01 >> _S32) + (p10 >> _S32) + (mid >> _S32)
    hi = hi + rng[0] * _MULT_LO + al * _MULT_HI
    lo2 = lo + rng[3]
    if lo2 < lo:
        hi = hi + np.uint64(1)
    hi = hi + rng[2]
    rng[0] = hi
    rng[1] = lo2
    x = hi ^ lo2
    rot = hi >> np.uint64(58)
    return (x >> rot) | (x << ((np.uint64(64) - rot) & np.uint64(63)))


@kernel(inline=True)
def rand(rng: np.ndarray) -> float:
    """A uniform double in [0, 1): NumPy's ``Generator.random()`` for the same state."""
    return np.float64(_next_uint64(rng) >> np.uint64(11)) * _INV_2_53


@kernel(inline=True)
def randint(rng: np.ndarray, n: int) -> int:
    """An integer in [0, n) drawn as ``int(rand * n)``."""
    return int(rand(rng) * n)


@kernel
def categorical(probs: np.ndarray, rng: np.ndarray) -> int:
    """Gymnasium's ``categorical_sample``: first index whose cumulative sum exceeds one draw.

    Like ``np.argmax(np.cumsum(p) > u)``, returns 0 when rounding leaves no index above u.
    """
    u = rand(rng)
    total = 0.0
    for k in range(probs.shape[0]):
        total += probs[k]
        if total > u:
            return k
    return 0


def from_generator(gen: np.random.Generator) -> np.ndarray:
    """The state array of a NumPy ``Generator`` backed by PCG64 (a copy, not a view)."""
    state = gen.bit_generator.state
    if state["bit_generator"] != "PCG64":
        raise ValueError(f"expected a PCG64 generator, got {state['bit_generator']}")
    mask = (1 << 64) - 1
    s, inc = state["state"]["state"], state["state"]["inc"]
    return np.array([s >> 64, s & mask, inc >> 64, inc & mask], dtype=np.uint64)


def write_back(rng: np.ndarray, gen: np.random.Generator) -> None:
    """Store a state array back into a NumPy PCG64 ``Generator``."""
    state: dict[str, Any] = dict(gen.bit_generator.state)
    state["state"] = dict(state["state"])
    state["state"]["state"] = (int(rng[0]) << 64) | int(rng[1])
    state["state"]["inc"] = (int(rng[2]) << 64) | int(rng[3])
    state["has_uint32"] = 0
    gen.bit_generator.state = state


def from_seed(seed: int | np.random.SeedSequence) -> np.ndarray:
    """State array of ``np.random.default_rng(seed)``."""
    return from_generator(np.random.default_rng(seed))


def agent_stream(seed: int | None) -> np.ndarray:
    """The agent's random stream for a run seed: ``SeedSequence(seed, spawn_key=(0,))``.

    Distinct from the env's stream (``env.reset(seed=seed)`` uses ``SeedSequence(seed)``), so
    the agent's exploration and the world's randomness are independent.
    """
    return from_seed(np.random.SeedSequence(seed, spawn_key=(AGENT_STREAM,)))


def env_stream(seed: int) -> np.ndarray:
    """The state of ``env.np_random`` after ``env.reset(seed=seed)`` in Gymnasium."""
    return from_seed(np.random.SeedSequence(seed))


def run_seeds(root_seed: int, n_runs: int, offset: int = 0) -> np.ndarray:
    """Seeds of runs ``offset .. offset + n_runs - 1`` derived from one root seed.

    ``seed_i`` is the first 32-bit word of ``SeedSequence(root_seed, spawn_key=(i,))``: well
    mixed, independent of how many runs are asked for, and reproducible one run at a time.
    """
    return np.array(
        [
            int(np.random.SeedSequence(root_seed, spawn_key=(i,)).generate_state(1)[0])
            for i in range(offset, offset + n_runs)
        ],
        dtype=np.int64,
    )
