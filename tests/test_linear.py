"""Linear agents: one-hot == tabular, object API == batched runner, learning sanity."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import dynaplan  # noqa: F401  (registers the envs)
from dynaplan.agents import AGENTS, QLearning
from dynaplan.agents.linear import LinearQLearning, Sarsa
from dynaplan.experiments.batch import linear_problem_of, problem_of, run_agent, run_linear_agent
from dynaplan.features import OneHot, TileCoder


@pytest.mark.parametrize("env_id", ["dynaplan/DynaMaze-v0", "FrozenLake-v1"])
def test_one_hot_linear_q_learning_is_tabular_q_learning(env_id: str) -> None:
    params = dict(alpha=0.1, epsilon=0.1, gamma=0.95, q_init=0.0)
    for seed in (0, 1, 2):
        tab = run_agent(QLearning, params, problem_of(env_id), seed, episodes=30)
        lin = run_linear_agent(LinearQLearning, params, linear_problem_of(env_id), seed, episodes=30)
        assert np.array_equal(tab.episode_steps, lin.episode_steps)
        assert np.array_equal(tab.episode_returns, lin.episode_returns)
        assert np.array_equal(tab.agent.q, lin.agent.w)  # the weights are the Q table, bit for bit


def _object_api_run(
    cls: type, env_id: str, features: object, params: dict, seed: int, episodes: int, limit: int | None
):
    env = gym.make(env_id, max_episode_steps=limit) if limit else gym.make(env_id)
    agent = cls(env, features, seed=seed, **params)
    steps = [agent.run_episode(env, seed=seed)[0]]
    steps += [agent.run_episode(env)[0] for _ in range(episodes - 1)]
    return agent, np.array(steps)


MC_FEATURES = TileCoder([-1.2, -0.07], [0.5, 0.07], tilings=8, tiles_per_dim=8, size=1024)
CASES = [
    ("linear-q-learning", dict(alpha=0.5 / 8, epsilon=0.1)),
    ("sarsa", dict(alpha=0.5 / 8, epsilon=0.0)),
    ("sarsa-lambda", dict(alpha=0.5 / 8, epsilon=0.0, lam=0.9)),
    ("linear-td", dict(alpha=0.01)),
    ("lstd", dict()),
    ("linear-dyna", dict(alpha=0.01, planning_steps=3, model="lms", beta=0.05)),
    ("linear-dyna-q", dict(alpha=0.05, planning_steps=3, epsilon=0.1, beta=0.1)),
    ("linear-ps", dict(alpha=0.05, planning_steps=3, epsilon=0.1, beta=0.1)),
    ("linear-ps", dict(alpha=0.05, planning_steps=3, epsilon=0.1, beta=0.1, model="substochastic")),
]


@pytest.mark.parametrize(("name", "params"), CASES, ids=[c[0] for c in CASES])
def test_object_api_equals_batched_runner_on_mountain_car(name: str, params: dict) -> None:
    cls = AGENTS[name]
    seed, episodes = 11, 3
    agent, steps = _object_api_run(cls, "MountainCar-v0", MC_FEATURES, params, seed, episodes, 400)
    run = run_linear_agent(cls, params, linear_problem_of("MountainCar-v0", MC_FEATURES, max_episode_steps=400),
                           seed, episodes=episodes)
    assert np.array_equal(run.episode_steps, steps)
    for field in ("w", "theta", "z", "a_mat"):
        if hasattr(agent.state, field):
            assert np.array_equal(getattr(agent.state, field), getattr(run.agent, field))


@pytest.mark.parametrize("env_id", ["CartPole-v1", "Acrobot-v1", "dynaplan/DynaMaze-v0"])
def test_object_api_equals_batched_runner_on_other_worlds(env_id: str) -> None:
    env = gym.make(env_id)
    if isinstance(env.observation_space, gym.spaces.Box):
        lo = np.clip(env.observation_space.low, -4.0, 4.0)
        hi = np.clip(env.observation_space.high, -4.0, 4.0)
        feats = TileCoder(lo, hi, tilings=4, tiles_per_dim=4, size=2048)
    else:
        feats = OneHot.from_space(env.observation_space)
    params = dict(alpha=0.1 / feats.n_active, epsilon=0.1)
    agent, steps = _object_api_run(Sarsa, env_id, feats, params, 5, 4, None)
    run = run_linear_agent(Sarsa, params, linear_problem_of(env_id, feats), 5, episodes=4)
    assert np.array_equal(run.episode_steps, steps)
    assert np.array_equal(agent.state.w, run.agent.w)


def test_runner_refuses_other_box_envs_by_name() -> None:
    with pytest.raises(ValueError, match="Pendulum-v1"):
        linear_problem_of("Pendulum-v1", TileCoder([-1, -1, -8], [1, 1, 8]))
    with pytest.raises(ValueError, match="needs features"):  # unbounded Box: no default tile coder
        linear_problem_of("CartPole-v1")
    assert linear_problem_of("MountainCar-v0").features.n_active == 8  # bounded Box: 8 tilings by default


def test_sarsa_learns_mountain_car_as_in_the_book() -> None:
    # Figure 10.1/10.2 (8 tilings of 8 x 8, alpha = 0.5/8, epsilon = 0, Q0 = 0): the first episode
    # takes on the order of a thousand steps (optimism drives the exploration), and within 100
    # episodes the car escapes in under 200. Measured for seeds 0-7: first episode 865-2770 steps,
    # mean of episodes 81-100 per run 132-146. A run is the unit: every one of the 8 must learn.
    feats = TileCoder([-1.2, -0.07], [0.5, 0.07], tilings=8, tiles_per_dim=8, size=4096)
    problem = linear_problem_of("MountainCar-v0", feats, max_episode_steps=100_000)
    params = dict(alpha=0.5 / 8, epsilon=0.0, gamma=1.0, q_init=0.0)
    first, late = [], []
    for seed in range(8):
        steps = run_linear_agent(Sarsa, params, problem, seed, episodes=100).episode_steps
        first.append(int(steps[0]))
        late.append(float(steps[-20:].mean()))
    assert min(first) > 500, first
    assert max(late) < 200, late


def _book_sarsa_episodes(alpha: float, seed: int, episodes: int) -> list[int]:
    """Figure 10.2's Sarsa as the book's reference code writes it (ShangtongZhang,
    ``chapter10/mountain_car.py``): its own step function (bounds [-1.2, 0.5], the goal is
    position 0.5), tiles3 over (8 x / 1.7, 8 v / 0.14) with the *action as a tile integer* in one
    IHT of 2048, one weight per tile, step alpha/8, ties broken at random, no step limit. Its
    random draws are taken as dynaplan's: the start as ``env.reset(seed)``'s uniform(-0.6, -0.4)
    and a tie among k actions as ``int(random() * k)`` of the agent's stream (none when k = 1,
    none after the goal), so the episodes must be identical, not just alike."""
    from tiles3_reference import IHT, tiles

    env_rng = np.random.default_rng(seed)
    agent_rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(0,)))
    iht, w, step = IHT(2048), np.zeros(2048), alpha / 8

    def active(x: float, v: float, a: int) -> list[int]:
        return tiles(iht, 8, [8 / 1.7 * x, 8 / 0.14 * v], [a])

    def value(x: float, v: float, a: int) -> float:
        total = 0.0
        for i in active(x, v, a):
            total += w[i]
        return 0.0 if x == 0.5 else total

    def act(x: float, v: float) -> int:
        q = [value(x, v, a) for a in (-1, 0, 1)]
        best = [i for i in range(3) if q[i] == max(q)]
        return (best[0] if len(best) == 1 else best[int(agent_rng.random() * len(best))]) - 1

    out = []
    for _ in range(episodes):
        x, v = -0.6 + (-0.4 - -0.6) * env_rng.random(), 0.0
        a = act(x, v)
        steps = 0
        while True:
            v2 = min(max(-0.07, v + 0.001 * a - 0.0025 * np.cos(3 * x)), 0.07)
            x2 = min(max(-1.2, x + v2), 0.5)
            if x2 == -1.2:
                v2 = 0.0
            steps += 1
            a2 = act(x2, v2) if x2 != 0.5 else 0
            target = -1.0 + value(x2, v2, a2)
            t = active(x, v, a)
            delta = step * (target - value(x, v, a))
            for i in t:
                w[i] += delta
            if x2 == 0.5:
                break
            x, v, a = x2, v2, a2
        out.append(steps)
    return out


@pytest.mark.parametrize(("alpha", "seed"), [(0.5, 3), (0.2, 8)])
def test_sarsa_on_the_books_mountain_car_is_the_reference_code_step_for_step(alpha: float, seed: int) -> None:
    # MountainCarWorld(float32_obs=False): Gymnasium's dynamics, observed in float64 as the
    # reference code's agent sees its state; our tiles are per state with one weight column per
    # action, the reference's per (state, action) in one table: equal when nothing collides.
    feats = TileCoder([-1.2, -0.07], [0.5, 0.07], tilings=8, tiles_per_dim=8, size=1024)
    problem = linear_problem_of("MountainCar-v0", feats, max_episode_steps=0)
    problem = problem._replace(world=problem.world._replace(float32_obs=False))
    run = run_linear_agent(Sarsa, dict(alpha=alpha / 8, epsilon=0.0), problem, seed, episodes=6)
    assert list(run.episode_steps) == _book_sarsa_episodes(alpha, seed, 6)
