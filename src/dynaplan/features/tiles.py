"""Tile coding with hashing, equivalent to Sutton's ``tiles3`` (book section 9.5.4).

``tiles3`` (http://incompleteideas.net/tiles/tiles3.html) maps floats, each scaled so that a
tile is 1 wide, to the indices of the tiles they fall in, one per tiling. For tiling ``t`` of
``n`` the coordinates are ``(t, (floor(f_0 n) + t) // n, (floor(f_1 n) + 3t) // n, ...)``
(offsets grow by ``2t`` per dimension: asymmetric displacement, section 9.5.4) followed by the
extra integers; ``tileswrap`` takes each coordinate modulo its wrap width. The coordinates are
then turned into an index by an *index hash table* (``IHT``): the ``k``-th distinct tuple seen
gets index ``k``; once the table holds ``size`` tuples, a new tuple gets ``hash(tuple) % size``
(Python's own tuple hash: collisions are allowed from then on). With a plain integer instead
of an IHT, every tuple gets ``hash(tuple) % size``.

Here the table is an open-addressing hash table in arrays and Python's tuple hash (CPython
3.8+, xxHash-based, 64-bit) is computed in compiled code, so the indices are the ones
``tiles3`` gives for the same inputs in the same order (tested against a plain-Python port of
``tiles3`` in ``tests/tiles3_reference.py``). A tile coder's table is part of the run: a fresh
run starts with an empty table (``TileCoder.record()``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from dynaplan._jit import kernel
from dynaplan.core.encoding import encode_once, register_features

_M64 = np.uint64(0xFFFFFFFFFFFFFFFF)
_XXPRIME_1 = np.uint64(11400714785074694791)
_XXPRIME_2 = np.uint64(14029467366897019727)
_XXPRIME_5 = np.uint64(2870177450012600261)
_LEN_MIX = np.uint64(2870177450012600261 ^ 3527539)
_HASH_MODULUS = (1 << 61) - 1


class TileCoderRecord(NamedTuple):
    """A compiled tile coder (its index table included).

    Attributes:
      scale: float64[n], floats given to tiles3 are ``obs * scale`` (one tile = 1 unit)
      wrap: int64[n], wrap width per dimension (``tileswrap``); 0 = no wrapping
      ints: int64[j], integers appended to every tiling's coordinates (tiles3's ``ints``)
      n_tilings: number of tilings (= active features per observation)
      size: number of feature indices (the IHT's size, or the modulus without a table)
      use_table: True = IHT semantics, False = ``hash(coords) % size``
      keys: int64[C, 1 + n + j], coordinates stored in each slot (C a power of two >= 2 size)
      slots: int64[C], feature index of each slot, -1 if empty
      n_keys: int64[1], distinct tuples in the table
      overfull: int64[1], lookups that found the table full (tiles3's ``overfullCount``)
      coords: int64[1 + n + j], scratch
      n_active: = n_tilings
    """

    scale: np.ndarray
    wrap: np.ndarray
    ints: np.ndarray
    n_tilings: int
    size: int
    use_table: bool
    keys: np.ndarray
    slots: np.ndarray
    n_keys: np.ndarray
    overfull: np.ndarray
    coords: np.ndarray
    n_active: int


@kernel(inline=True)
def _int_hash(v: int) -> np.uint64:
    # CPython's hash of an int: sign * (|v| mod 2**61 - 1), and -1 becomes -2.
    m = abs(v) % _HASH_MODULUS
    x = -m if v < 0 else m
    if x == -1:
        x = -2
    return np.uint64(np.int64(x))


@kernel
def python_tuple_hash(coords: np.ndarray) -> int:
    """CPython's ``hash(tuple(coords))`` for a tuple of ints (``Objects/tupleobject.c``, 64-bit)."""
    acc = _XXPRIME_5
    for i in range(coords.shape[0]):
        lane = _int_hash(coords[i])
        acc = acc + lane * _XXPRIME_2
        acc = (acc << np.uint64(31)) | (acc >> np.uint64(33))
        acc = acc * _XXPRIME_1
    acc = acc + (np.uint64(coords.shape[0]) ^ _LEN_MIX)
    if acc == _M64:
        return 1546275796
    return int(np.int64(acc))


@kernel
def _index_of(rec: TileCoderRecord, coords: np.ndarray) -> int:
    h = python_tuple_hash(coords)
    if not rec.use_table:
        return h % rec.size
    mask = rec.slots.shape[0] - 1
    slot = h & mask
    n = coords.shape[0]
    while rec.slots[slot] >= 0:
        same = True
        for i in range(n):
            if rec.keys[slot, i] != coords[i]:
                same = False
                break
        if same:
            return rec.slots[slot]
        slot = (slot + 1) & mask
    count = rec.n_keys[0]
    if count >= rec.size:
        rec.overfull[0] += 1
        return h % rec.size
    for i in range(n):
        rec.keys[slot, i] = coords[i]
    rec.slots[slot] = count
    rec.n_keys[0] = count + 1
    return count


@kernel(inline=True)
def _coord(q: int, b: int, nt: int, width: int) -> int:
    """The tile coordinate of one float (already times ``n_tilings``, floored to ``q``) in the
    tiling with offset ``b``: ``(q + b) // nt``, or with ``b % nt`` taken modulo ``width`` when
    the dimension wraps (``width > 0``), as ``tiles3.tileswrap`` does."""
    if width > 0:
        return ((q + b % nt) // nt) % width
    return (q + b) // nt


@kernel
def tiles_into(rec: TileCoderRecord, floats: np.ndarray, ints: np.ndarray, out: np.ndarray) -> None:
    """``tiles3.tileswrap(iht, n_tilings, floats, wrap, ints)`` into ``out: int64[n_tilings]``.

    With every wrap width 0 this is ``tiles3.tiles``.
    """
    nt = rec.n_tilings
    nf = floats.shape[0]
    coords = rec.coords
    for tiling in range(nt):
        coords[0] = tiling
        b = tiling
        for j in range(nf):
            coords[1 + j] = _coord(int(np.floor(floats[j] * nt)), b, nt, rec.wrap[j])
            b += 2 * tiling
        for j in range(ints.shape[0]):
            coords[1 + nf + j] = ints[j]
        out[tiling] = _index_of(rec, coords[: 1 + nf + ints.shape[0]])


@kernel
def tile_encode(rec: TileCoderRecord, obs: np.ndarray, idx: np.ndarray, val: np.ndarray) -> None:
    """Active tiles of ``obs * scale``: ``n_tilings`` indices, each with value 1."""
    nt = rec.n_tilings
    nf = rec.scale.shape[0]
    coords = rec.coords
    for tiling in range(nt):
        coords[0] = tiling
        b = tiling
        for j in range(nf):
            coords[1 + j] = _coord(int(np.floor(obs[j] * rec.scale[j] * nt)), b, nt, rec.wrap[j])
            b += 2 * tiling
        for j in range(rec.ints.shape[0]):
            coords[1 + nf + j] = rec.ints[j]
        idx[tiling] = _index_of(rec, coords)
        val[tiling] = 1.0


register_features(TileCoderRecord, encode=tile_encode)


def new_tile_record(
    scale: Sequence[float] | np.ndarray,
    n_tilings: int,
    size: int,
    *,
    wrap: Sequence[int] | np.ndarray | None = None,
    ints: Sequence[int] | np.ndarray = (),
    use_table: bool = True,
    n_coords: int | None = None,
) -> TileCoderRecord:
    """An empty tile coder record (``n_coords``: length of the coordinate tuples, default 1 + n + j)."""
    scale_a = np.asarray(scale, dtype=np.float64).reshape(-1)
    n = scale_a.shape[0]
    ints_a = np.asarray(ints, dtype=np.int64).reshape(-1)
    wrap_a = np.zeros(n, dtype=np.int64) if wrap is None else np.asarray(wrap, dtype=np.int64).reshape(-1)
    length = n_coords if n_coords is not None else 1 + n + ints_a.shape[0]
    capacity = 1
    while capacity < 2 * size:
        capacity *= 2
    if not use_table:
        capacity = 1
    return TileCoderRecord(
        scale=scale_a,
        wrap=wrap_a,
        ints=ints_a,
        n_tilings=int(n_tilings),
        size=int(size),
        use_table=bool(use_table),
        keys=np.zeros((capacity, length), dtype=np.int64),
        slots=np.full(capacity, -1, dtype=np.int64),
        n_keys=np.zeros(1, dtype=np.int64),
        overfull=np.zeros(1, dtype=np.int64),
        coords=np.zeros(length, dtype=np.int64),
        n_active=int(n_tilings),
    )


def _check_int(name: str, value: Any, low: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or int(value) < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    return int(value)


class TileCoder:
    """Tile-coded features of a Box observation (book section 9.5.4), as ``tiles3`` computes them.

    ``TileCoder(low, high, tilings=8, tiles_per_dim=8, size=4096)``: dimension ``j`` is scaled by
    ``tiles_per_dim / (high_j - low_j)``, so a tile spans ``1 / tiles_per_dim`` of the range
    (tiles3's convention: the grid is anchored at the origin, not at ``low``, as in the book's
    Mountain Car code). ``tiles_per_dim`` may be a list (one per dimension); ``wrap=True`` (or a
    list of booleans) wraps a dimension (``tileswrap``), for angles. ``size`` is the index hash
    table's size: the number of features ``d``. ``hashing="table"`` is tiles3's IHT;
    ``hashing="modulo"`` is tiles3 with an integer ``size`` (``hash(coords) % size``).

    ``TileCoder.from_space(env.observation_space, ...)`` takes ``low`` / ``high`` from a Box.
    ``coder(obs)`` returns the active indices (int64[tilings]); ``coder.record()`` a fresh
    compiled record (an empty table) for a run.
    """

    def __init__(
        self,
        low: Sequence[float] | np.ndarray,
        high: Sequence[float] | np.ndarray,
        *,
        tilings: int = 8,
        tiles_per_dim: int | Sequence[int] = 8,
        size: int = 4096,
        wrap: bool | Sequence[bool] = False,
        hashing: str = "table",
    ) -> None:
        lo = np.asarray(low, dtype=np.float64).reshape(-1)
        hi = np.asarray(high, dtype=np.float64).reshape(-1)
        if lo.shape != hi.shape or lo.size == 0:
            raise ValueError(f"low and high must be non-empty and of one shape, got {lo.shape} and {hi.shape}")
        if not (np.all(np.isfinite(lo)) and np.all(np.isfinite(hi))):
            raise ValueError("low and high must be finite (give bounds for unbounded Box dimensions)")
        if not np.all(hi > lo):
            raise ValueError("high must be above low in every dimension")
        self.tilings = _check_int("tilings", tilings)
        self.size = _check_int("size", size)
        if hashing == "table":  # the index hash table: 2 size to 4 size slots of 1 + n + 1 int64 keys
            from dynaplan.memory import too_large

            slots = 1 << max(1, (2 * self.size - 1).bit_length())
            problem = too_large(slots * 8 * (lo.size + 3), f"a hash table of {self.size:,} features")
            if problem:
                raise ValueError(f"size: {problem}; lower size")
        per = np.broadcast_to(np.asarray(tiles_per_dim), lo.shape)
        self.tiles_per_dim = [_check_int("tiles_per_dim", int(t) if float(t).is_integer() else t) for t in per]
        wraps = np.broadcast_to(np.asarray(wrap, dtype=bool), lo.shape)
        if hashing not in ("table", "modulo"):
            raise ValueError(f"hashing must be 'table' or 'modulo', got {hashing!r}")
        self.hashing = hashing
        self.low, self.high = lo, hi
        self.scale = np.array(self.tiles_per_dim, dtype=np.float64) / (hi - lo)
        self.wrap = np.where(wraps, np.array(self.tiles_per_dim), 0).astype(np.int64)
        self.n_features = self.size
        self.n_active = self.tilings
        self._record = self.record()

    @classmethod
    def from_space(cls, space: Any, **kwargs: Any) -> TileCoder:
        """A tile coder over a Gymnasium ``Box`` space's bounds."""
        import gymnasium as gym

        if not isinstance(space, gym.spaces.Box):
            raise ValueError(f"TileCoder.from_space needs a Box space, got {space}")
        return cls(space.low, space.high, **kwargs)

    def record(self) -> TileCoderRecord:
        """A fresh compiled record (empty index table)."""
        return new_tile_record(self.scale, self.tilings, self.size, wrap=self.wrap, use_table=self.hashing == "table")

    def __call__(self, obs: Any) -> np.ndarray:
        """Active feature indices of ``obs`` (uses and fills this coder's own table)."""
        x = np.asarray(obs, dtype=np.float64).reshape(-1)
        if x.shape != self.low.shape:
            raise ValueError(f"observation of shape {x.shape}, expected {self.low.shape}")
        idx = np.zeros(self.tilings, dtype=np.int64)
        encode_once(self._record, x, idx, np.zeros(self.tilings))
        return idx

    def __repr__(self) -> str:
        return (
            f"TileCoder(low={self.low.tolist()}, high={self.high.tolist()}, tilings={self.tilings}, "
            f"tiles_per_dim={self.tiles_per_dim}, size={self.size})"
        )
