"""``exp`` for the softmax, inline and vectorisable: ``exp_nonpositive(x)`` for x <= 0.

A softmax evaluates exp(h(s, b) - max_b h(s, b)) for every action b, so every argument is at
most 0. libm's ``exp`` is an opaque call to LLVM: a loop over a row of preferences makes one
call per action (about 6 ns each on the benchmark machine) and cannot be vectorised, and the
Dyna actor-critic's planning update spent half its time there (``benchmarks/policy_planning.py``).
This is the textbook method in straight-line arithmetic, so LLVM's loop vectoriser packs a
row of actions into SIMD registers (Cody & Waite 1980 for the reduction; J.-M. Muller,
*Elementary Functions*, 3rd ed., ch. 11):

    x = k ln 2 + r,   k = round(x / ln 2),   |r| <= ln 2 / 2,   exp(x) = 2^k exp(r),

* k is rounded by adding 1.5 * 2^52: the sum's low mantissa bits then hold k, so 2^k is built
  by integer arithmetic on the sum's bits (no float-to-int conversion, no call);
* ln 2 is split into a high part with trailing zero bits and a low part (fdlibm's
  ``ln2HI``/``ln2LO``), so that ``x - k ln2_hi`` is exact;
* exp(r) is its Taylor polynomial of degree 13 (the truncation error is below
  0.347^14 / 14! < 4e-18, relative), evaluated by Estrin's scheme (shorter dependency chains
  than Horner's).

The result is within 2 ulp of the correctly rounded exp for -600 <= x <= 709
(``tests/test_exp.py`` checks 2 million points against numpy's exp) and exp(0) is exactly 1.
Arguments below -600 are raised to -600: exp(-600) = 2.6e-261. Beside the maximum's exp(0) = 1
in a softmax's sum it changes nothing, and a preference it moves (by a step times it) changes by
less than 1e-245 in absolute terms, below the last bit of any preference not itself that close
to 0. What the floor buys: every product of a probability with a step size or a value stays a
normal double. Without it, once a state's preferences spread past about 700 (they do: under
long planning on a fixed model a rejected action's preference falls linearly), probabilities and
their products became subnormal numbers, whose arithmetic takes a microcode assist of about a
hundred cycles on x86, and the Dyna-AC planning kernel slowed from 3.2e7 to 8.6e6 updates/s
between 3 and 30 million updates on the Dyna maze (measured; with libm's exp, which returns
subnormals down to -745, the same kernel slowed from 1.8e7 to 1.0e7); with the floor it stays
at 3.1e7-3.3e7 throughout. The floor also keeps a softmax over a subset of
the actions (the tried ones) from dividing 0 by 0.
"""

from __future__ import annotations

from typing import Any

from numba import types
from numba.extending import intrinsic

from dynaplan._jit import kernel


def _int64_to_float64_bits(typingctx: Any, x: Any) -> Any:
    """The float64 whose IEEE-754 bits are the int64 ``x`` (a bit cast, no conversion)."""
    sig = types.float64(types.int64)

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        return builder.bitcast(args[0], context.get_value_type(types.float64))

    return sig, codegen


def _float64_to_int64_bits(typingctx: Any, x: Any) -> Any:
    """The int64 holding the IEEE-754 bits of the float64 ``x`` (a bit cast, no conversion)."""
    sig = types.int64(types.float64)

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        return builder.bitcast(args[0], context.get_value_type(types.int64))

    return sig, codegen


# typed as Any: an intrinsic is called from compiled code with the arguments after ``typingctx``
_int64_bits_as_float64: Any = intrinsic(_int64_to_float64_bits)
_float64_bits_as_int64: Any = intrinsic(_float64_to_int64_bits)

_LOG2E = 1.4426950408889634  # 1 / ln 2
_LN2_HI = 6.93147180369123816490e-01  # ln 2, high 32 bits (fdlibm)
_LN2_LO = 1.90821492927058770002e-10  # ln 2 - _LN2_HI
_ROUND = 6755399441055744.0  # 1.5 * 2^52: adding it rounds to an integer kept in the low bits
_LOWEST = -600.0  # exp(-600) = 2.6e-261: its products with step sizes stay normal doubles


@kernel(inline=True)
def exp_nonpositive(x: float) -> float:
    """exp(x) for x <= 0 (and up to 709), within 2 ulp; arguments below -600 read as -600."""
    x = max(x, _LOWEST)
    shifted = x * _LOG2E + _ROUND
    bits = _float64_bits_as_int64(shifted)
    k = shifted - _ROUND
    r = (x - k * _LN2_HI) - k * _LN2_LO
    r2 = r * r
    r4 = r2 * r2
    r8 = r4 * r4
    # Taylor coefficients 1/j!, j = 0..13, paired for Estrin's scheme
    c01 = 1.0 + r
    c23 = 0.5 + r * (1.0 / 6.0)
    c45 = (1.0 / 24.0) + r * (1.0 / 120.0)
    c67 = (1.0 / 720.0) + r * (1.0 / 5040.0)
    c89 = (1.0 / 40320.0) + r * (1.0 / 362880.0)
    c1011 = (1.0 / 3628800.0) + r * (1.0 / 39916800.0)
    c1213 = (1.0 / 479001600.0) + r * (1.0 / 6227020800.0)
    p = ((c01 + r2 * c23) + r4 * (c45 + r2 * c67)) + r8 * ((c89 + r2 * c1011) + r4 * c1213)
    # the low 12 bits of ``bits`` + 1023 are k's biased exponent: shifted into place they are 2^k
    return p * _int64_bits_as_float64((bits + 1023) << 52)
