"""The compiled tile coder against a plain-Python port of Sutton's tiles3; one-hot features."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import tiles3_reference as t3
from dynaplan.features import OneHot, TileCoder, encode_once, new_tile_record, python_tuple_hash, tiles_into


@pytest.mark.parametrize("coords", [(0,), (3, -1, 7), (7, -2, 5, 1), (1, 2**62, -(2**61) + 1, -1, -2), ()])
def test_tuple_hash_is_pythons(coords: tuple[int, ...]) -> None:
    assert python_tuple_hash(np.array(coords, dtype=np.int64)) == hash(coords)


@pytest.mark.parametrize(
    ("n_tilings", "size", "dims", "n_ints"), [(8, 4096, 2, 1), (4, 64, 3, 0), (8, 100, 2, 2), (16, 2048, 1, 0)]
)
def test_tiles_equal_tiles3_in_order(n_tilings: int, size: int, dims: int, n_ints: int) -> None:
    # small tables overflow: then indices come from Python's hash modulo size, collisions allowed
    rng = np.random.default_rng(n_tilings * size + dims)
    iht = t3.IHT(size)
    rec = new_tile_record(np.ones(dims), n_tilings, size, n_coords=1 + dims + n_ints)
    out = np.zeros(n_tilings, dtype=np.int64)
    for _ in range(600):
        floats = rng.uniform(-7.0, 7.0, dims)
        ints = rng.integers(-3, 4, n_ints)
        expected = t3.tiles(iht, n_tilings, list(floats), [int(i) for i in ints])
        tiles_into(rec, floats, ints.astype(np.int64), out)
        assert out.tolist() == expected
    assert int(rec.n_keys[0]) == iht.count()
    assert int(rec.overfull[0]) == iht.overfullCount


def test_tiles_modulo_and_wrap_equal_tiles3() -> None:
    rng = np.random.default_rng(5)
    out = np.zeros(8, dtype=np.int64)
    plain = new_tile_record(np.ones(2), 8, 1000, use_table=False, n_coords=3)
    wrapped = new_tile_record(np.ones(2), 8, 4096, wrap=[10, 0], n_coords=3)
    iht = t3.IHT(4096)
    for _ in range(300):
        floats = rng.uniform(-25.0, 25.0, 2)
        tiles_into(plain, floats, np.zeros(0, dtype=np.int64), out)
        assert out.tolist() == t3.tiles(1000, 8, list(floats))
        tiles_into(wrapped, floats, np.zeros(0, dtype=np.int64), out)
        assert out.tolist() == t3.tileswrap(iht, 8, list(floats), [10, 0])


def test_tile_coder_object_matches_book_scaling() -> None:
    # The book's Mountain Car code: tiles(iht, 8, [8 * x / 1.7, 8 * v / 0.14]) (section 10.1)
    coder = TileCoder([-1.2, -0.07], [0.5, 0.07], tilings=8, tiles_per_dim=8, size=2048)
    iht = t3.IHT(2048)
    rng = np.random.default_rng(1)
    for _ in range(300):
        x, v = rng.uniform(-1.2, 0.5), rng.uniform(-0.07, 0.07)
        expected = t3.tiles(iht, 8, [x * (8 / (0.5 + 1.2)), v * (8 / (0.07 + 0.07))])
        assert coder(np.array([x, v])).tolist() == expected
    # every observation has one tile per tiling, and the 8 tilings give distinct indices
    assert len(set(coder(np.array([-0.5, 0.0])).tolist())) == 8


def test_tile_coder_from_space_and_bad_input() -> None:
    env = gym.make("MountainCar-v0")
    coder = TileCoder.from_space(env.observation_space, tilings=4, size=512)
    assert coder.n_features == 512 and coder.n_active == 4
    with pytest.raises(ValueError, match="high must be above low"):
        TileCoder([0.0], [0.0])
    with pytest.raises(ValueError, match="tilings"):
        TileCoder([0.0], [1.0], tilings=0)
    with pytest.raises(ValueError, match="Box"):
        TileCoder.from_space(gym.spaces.Discrete(3))


def test_one_hot() -> None:
    rec = OneHot(5).record()
    idx, val = np.zeros(1, dtype=np.int64), np.zeros(1)
    encode_once(rec, np.array([3.0]), idx, val)
    assert idx[0] == 3 and val[0] == 1.0
    with pytest.raises(ValueError, match="n must be"):
        OneHot(0)
