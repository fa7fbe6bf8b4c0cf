"""Scaled and slippery mazes against counts, BFS, value iteration and sampling statistics."""

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import dynaplan
from dynaplan import DYNA_MAZE, value_iteration
from dynaplan.envs.layouts import shortest_path_length
from dynaplan.envs.scaled_maze import BOOK_SCALES, ScaledMaze, scale_layout


def test_book_sizes_double_from_47_to_6016():
    sizes = [scale_layout(DYNA_MAZE, k).n_open for k in BOOK_SCALES]
    assert sizes == [47 * 2**i for i in range(8)]
    assert scale_layout(DYNA_MAZE, 3).n_open == 47 * 9


@pytest.mark.parametrize("scale", [1, 2, (1, 3), (2, 4)])
def test_scaled_maze_values_match_bfs(scale):
    # Reward 1 on entering the goal, gamma^(steps - 1) from each state: v*(start) = gamma^(L-1)
    # with L the breadth-first shortest path of the scaled layout.
    env = ScaledMaze(scale=scale)
    layout = env.layout
    L = shortest_path_length(layout.walls, layout.start, layout.goals)
    gamma = 0.95
    v = value_iteration(env.model, gamma, tol=1e-13).v
    assert v[env.to_state(*layout.start)] == pytest.approx(gamma ** (L - 1), rel=1e-9)
    # The shape: every original cell is a kr x kc block of the same kind.
    kr, kc = (scale, scale) if isinstance(scale, int) else scale
    base = dynaplan.load_layout(DYNA_MAZE)
    assert np.array_equal(layout.walls, np.kron(base.walls, np.ones((kr, kc), dtype=bool)))
    assert layout.start == (base.start[0] * kr, base.start[1] * kc)


def test_slip_zero_is_the_deterministic_maze_and_probabilities_are_right():
    det = ScaledMaze(scale=1).model
    same = ScaledMaze(scale=1, slip=0.0).model
    assert np.array_equal(det.next_state, same.next_state) and np.array_equal(det.prob, same.prob)
    slip = 0.3
    env = ScaledMaze(scale=1, slip=slip)
    m = env.model
    assert np.allclose(m.prob.sum(axis=2), 1.0)
    # An open interior cell (row 4, col 1): four distinct neighbours, intended 1 - slip, others slip / 3.
    s = env.to_state(4, 1)
    for a, (dr, dc) in enumerate([(-1, 0), (1, 0), (0, -1), (0, 1)]):
        target = env.to_state(4 + dr, 1 + dc)
        k = list(m.next_state[s, a]).index(target)
        assert m.prob[s, a, k] == pytest.approx(1 - slip)
        others = [m.prob[s, a, j] for j in range(4) if j != k]
        assert others == pytest.approx([slip / 3] * 3)


def test_slippery_steps_follow_the_model():
    slip = 0.4
    env = gym.make("dynaplan/SlipperyDynaMaze-v0", slip=slip)
    inner = env.unwrapped
    s = inner.to_state(4, 1)
    n = 20_000
    hits = 0
    env.reset(seed=0)
    for _ in range(n):
        inner.s = s
        s2, *_ = env.step(3)  # right
        hits += s2 == inner.to_state(4, 2)
    sd = np.sqrt(slip * (1 - slip) / n)
    assert abs(hits / n - (1 - slip)) < 5 * sd


@pytest.mark.parametrize(
    ("env_id", "kwargs"),
    [("dynaplan/ScaledDynaMaze-v0", {"scale": 3}), ("dynaplan/SlipperyDynaMaze-v0", {"scale": (1, 2), "slip": 0.1})],
)
def test_registered_with_kwargs_and_pass_check_env(env_id, kwargs):
    env = gym.make(env_id, **kwargs)
    check_env(env.unwrapped, skip_render_check=True)
    assert env.observation_space.n == env.unwrapped.n_rows * env.unwrapped.n_cols


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"scale": 0}, "scale"), ({"scale": (1, 2, 3)}, "scale"), ({"scale": 1.5}, "scale"), ({"slip": 1.5}, "slip"),
     ({"slip": "x"}, "slip")],
)
def test_bad_arguments_are_one_clear_error(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ScaledMaze(**kwargs)
