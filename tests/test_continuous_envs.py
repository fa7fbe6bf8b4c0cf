"""Compiled MountainCar, CartPole and Acrobot against Gymnasium's own, bit for bit; the Boyan chain."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

from dynaplan.envs.continuous import (
    BOYAN_FEATURES,
    BOYAN_THETA,
    CONTINUOUS_WORLDS,
    boyan_model,
    boyan_true_values,
    buffer_sizes,
    reset_once,
    step_once,
)
from dynaplan.rng import env_stream

N_STEPS = 10_000


def _policy(env_id: str, obs: np.ndarray, u: float, n_actions: int) -> int:
    # Mostly random actions; on Mountain Car half the time the energy-pumping action, so that
    # episodes also end at the goal (a purely random walk almost never reaches it).
    if env_id == "MountainCar-v0" and u < 0.5:
        return 2 if obs[1] >= 0 else 0
    return int(u * 2 * n_actions) % n_actions


@pytest.mark.parametrize("env_id", sorted(CONTINUOUS_WORLDS))
@pytest.mark.parametrize("seed", [0, 7, 123456789])
def test_compiled_env_is_gymnasium_bit_for_bit(env_id: str, seed: int) -> None:
    env = gym.make(env_id).unwrapped  # no time limit: long episodes test the dynamics further
    world = CONTINUOUS_WORLDS[env_id]()
    n_state, n_obs = buffer_sizes(world)
    state, obs = np.zeros(n_state), np.zeros(n_obs)
    rng = env_stream(seed)
    g_obs, _ = env.reset(seed=seed)
    reset_once(world, state, obs, rng)
    assert g_obs.dtype == np.float32 and np.array_equal(obs, g_obs.astype(np.float64))
    actions = np.random.default_rng(seed + 1).random(N_STEPS)
    episodes = 0
    for t in range(N_STEPS):
        a = _policy(env_id, obs, float(actions[t]), env.action_space.n)
        g_obs, g_r, g_term, _, _ = env.step(a)
        r, term = step_once(world, state, a, obs, rng)
        assert np.array_equal(obs, np.asarray(g_obs, dtype=np.float64)), (env_id, seed, t)
        assert np.array_equal(state, np.asarray(env.state, dtype=np.float64)), (env_id, seed, t)
        assert r == g_r and term == g_term, (env_id, seed, t)
        if term:
            episodes += 1
            g_obs, _ = env.reset()
            reset_once(world, state, obs, rng)
            assert np.array_equal(obs, g_obs.astype(np.float64))
    assert episodes >= 1  # every env ended episodes, so resets were compared too


def test_boyan_chain_true_values_and_features() -> None:
    v = boyan_true_values(boyan_model())
    # V(s) = -2 s: V(1) = -2, V(s) = -3 + (V(s-1) + V(s-2)) / 2
    np.testing.assert_allclose(v, -2.0 * np.arange(13), atol=1e-12)
    np.testing.assert_allclose(BOYAN_FEATURES @ BOYAN_THETA, v, atol=1e-12)
    assert BOYAN_FEATURES.shape == (13, 4)
    np.testing.assert_allclose(BOYAN_FEATURES.sum(axis=1), 1.0)
    env = gym.make("dynaplan/BoyanChain-v0")
    s, _ = env.reset(seed=0)
    assert s == 12
    steps = 0
    done = False
    while not done:
        s2, r, done, _, _ = env.step(0)
        assert (r == -3.0 and s - s2 in (1, 2)) or (r == -2.0 and s == 1 and s2 == 0)
        s, steps = s2, steps + 1
    assert s == 0 and 6 <= steps <= 12


def test_mountain_car_float64_observations_change_only_the_observation() -> None:
    # MountainCarWorld(float32_obs=False) is the book's reference code's view: the same states,
    # rewards and ends as Gymnasium's, observed without rounding to float32.
    from dynaplan.envs.continuous import MountainCarWorld

    worlds = MountainCarWorld(), MountainCarWorld(float32_obs=False)
    bufs = [(np.zeros(2), np.zeros(2), env_stream(5)) for _ in worlds]
    for w, (state, obs, rng) in zip(worlds, bufs):
        reset_once(w, state, obs, rng)
    actions = np.random.default_rng(6).random(3000)
    rounded = 0
    for t in range(3000):
        out = []
        for w, (state, obs, rng) in zip(worlds, bufs):
            a = _policy("MountainCar-v0", state, float(actions[t]), 3)
            out.append(step_once(w, state, a, obs, rng))
        (s32, o32, _), (s64, o64, _) = bufs
        assert out[0] == out[1] and np.array_equal(s32, s64)
        assert np.array_equal(o64, s64) and np.array_equal(o32, s32.astype(np.float32).astype(np.float64))
        rounded += int(not np.array_equal(o32, o64))
        if out[0][1]:
            for w, (state, obs, rng) in zip(worlds, bufs):
                reset_once(w, state, obs, rng)
    assert rounded > 2900  # float32 rounding changes nearly every observation
