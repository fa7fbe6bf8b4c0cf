"""Contract over every registered dynaplan env, as Gymnasium's own tests/envs/test_envs.py.

The ids come from the registry (every ``dynaplan/`` id), so a new env is covered when it
registers; the compiled-step and ``P`` checks cover every one with an exact model.
"""

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from dynaplan.envs import ENVS, GridMaze, maze_model, to_P, world_of, world_step
from dynaplan.envs.layouts import shortest_path_length
from dynaplan.envs.tabular import from_P, model_of, world_reset
from dynaplan.rng import env_stream

#: Every env registered under the ``dynaplan/`` namespace (``ENVS`` and any registered since).
ENV_IDS = sorted({*ENVS, *(env_id for env_id in gym.registry if env_id.startswith("dynaplan/"))})


def _has_exact_model(env_id):
    try:
        model_of(gym.make(env_id))
    except ValueError:
        return False
    return True


#: The envs with an exact model (a ``P`` table or a ``TabularModel``), stepped by compiled runners.
EXACT_IDS = [env_id for env_id in ENV_IDS if _has_exact_model(env_id)]


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_check_env(env_id):
    env = gym.make(env_id).unwrapped
    check_env(env, skip_render_check=False)


def _rollout(env, seed, n=200):
    obs, _ = env.reset(seed=seed)
    if isinstance(env.action_space, gym.spaces.Discrete):
        actions = [int(a) for a in np.random.default_rng(seed).integers(0, env.action_space.n, n)]
    else:  # a Box (the worlds stepped in JAX)
        shape = env.action_space.shape
        actions = list(np.random.default_rng(seed).uniform(-1, 1, (n, *shape)).astype(np.float32))
    trace = [np.asarray(obs).tolist()]
    for a in actions:
        obs, r, term, trunc, _ = env.step(a)
        trace.append((np.asarray(obs).tolist(), r, term, trunc))
        if term or trunc:
            obs, _ = env.reset()
            trace.append(np.asarray(obs).tolist())
    return trace


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_same_seed_same_rollout(env_id):
    assert _rollout(gym.make(env_id), 3) == _rollout(gym.make(env_id), 3)


@pytest.mark.parametrize("env_id", EXACT_IDS)
def test_compiled_step_matches_env_step(env_id):
    """world_step with the env's stream gives exactly the env's transitions."""
    env = gym.make(env_id)
    world = world_of(env)
    state = env_stream(11)
    obs, _ = env.reset(seed=11)
    t = 0
    assert world_reset(world, t, state) == obs
    actions = np.random.default_rng(0).integers(0, env.action_space.n, 300)
    for a in actions:
        s2, r, term = world_step(world, t, obs, int(a), state)
        obs2, r2, term2, trunc, _ = env.step(int(a))
        t += 1
        assert (s2, r, term) == (obs2, r2, term2)
        obs = obs2
        if term2 or trunc:
            obs, _ = env.reset()
            assert world_reset(world, t, state) == obs


@pytest.mark.parametrize("env_id", EXACT_IDS)
def test_P_table_and_dense_model_agree(env_id):
    env = gym.make(env_id)
    model = model_of(env)
    inner = env.unwrapped
    if hasattr(inner, "P"):
        rebuilt = from_P(inner.P, model.start)
        assert np.allclose(rebuilt.expected_reward(), model.expected_reward())
    assert np.allclose(model.prob.sum(axis=2), 1.0)


def test_dyna_maze_is_the_book_maze():
    env = gym.make("dynaplan/DynaMaze-v0").unwrapped
    assert env.layout.shape == (6, 9)
    assert env.layout.start == (2, 0)
    assert env.layout.goals == ((0, 8),)
    walls = {tuple(x) for x in np.argwhere(env.layout.walls)}
    assert walls == {(1, 2), (2, 2), (3, 2), (4, 5), (0, 7), (1, 7), (2, 7)}
    assert env.layout.n_open == 47
    assert shortest_path_length(env.layout.walls, env.layout.start, env.layout.goals) == 14


def test_maze_moves_by_hand():
    env = GridMaze("S.#\n..G\n")
    obs, _ = env.reset(seed=0)
    assert obs == 0
    assert env.step(0)[:3] == (0, 0.0, False)  # up: off the grid, stays
    assert env.step(2)[:3] == (0, 0.0, False)  # left: off the grid, stays
    assert env.step(3)[:3] == (1, 0.0, False)  # right
    assert env.step(3)[:3] == (1, 0.0, False)  # right into the wall, stays
    assert env.step(1)[:3] == (4, 0.0, False)  # down
    assert env.step(3)[:3] == (5, 1.0, True)  # right into the goal: +1, terminated


def test_goal_is_absorbing_and_P_roundtrips():
    env = GridMaze("S.G\n")
    model = maze_model(env.layout)
    assert to_P(model)[2][0] == [(1.0, 2, 0.0, True)]
    assert to_P(model) == env.P


@pytest.mark.parametrize("mode", ["ansi", "rgb_array"])
def test_render(mode):
    env = gym.make("dynaplan/DynaMaze-v0", render_mode=mode)
    env.reset(seed=0)
    out = env.render()
    if mode == "ansi":
        assert out.splitlines()[2][0] == "A" and out.count("\n") == 6
    else:
        assert out.shape == (6 * 24, 9 * 24, 3) and out.dtype == np.uint8
        assert len(np.unique(out.reshape(-1, 3), axis=0)) >= 4
