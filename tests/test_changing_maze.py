"""Mazes that change: the book's layouts, the exact switch step, the wall-under-the-agent rule,
the same behaviour in the object env and in the compiled kernels."""

import gymnasium as gym
import numpy as np
import pytest

import dynaplan
from dynaplan.envs.changing_maze import (
    BLOCKING_MAZE_AFTER,
    BLOCKING_MAZE_BEFORE,
    SHORTCUT_MAZE_AFTER,
    SHORTCUT_MAZE_BEFORE,
    BlockingMaze,
    ChangingMaze,
    changing_maze_model,
    changing_world,
)
from dynaplan.envs.layouts import LayoutError, parse_layout, shortest_path_length
from dynaplan.envs.tabular import world_reset, world_step
from dynaplan.rng import env_stream

UP, DOWN, LEFT, RIGHT = 0, 1, 2, 3

# Two 2 x 5 layouts: B puts a wall on (0, 1), right of the start.
A = "S...G\n.....\n"
B = "S#..G\n.....\n"


def bfs(text):
    lay = parse_layout(text)
    return shortest_path_length(lay.walls, lay.start, lay.goals)


@pytest.mark.parametrize(
    ("before", "after", "lengths", "wall_cols"),
    [
        (BLOCKING_MAZE_BEFORE, BLOCKING_MAZE_AFTER, (10, 16), (range(0, 8), range(1, 9))),
        (SHORTCUT_MAZE_BEFORE, SHORTCUT_MAZE_AFTER, (16, 10), (range(1, 9), range(1, 8))),
    ],
)
def test_book_layouts(before, after, lengths, wall_cols):
    """Examples 8.2 and 8.3: 6 x 9, start (5, 3), goal (0, 8), one wall in row 3; BFS lengths."""
    for text, length, cols in zip((before, after), lengths, wall_cols):
        lay = parse_layout(text)
        assert lay.shape == (6, 9) and lay.start == (5, 3) and lay.goals == ((0, 8),)
        assert set(zip(*np.nonzero(lay.walls))) == {(3, c) for c in cols}
        assert bfs(text) == length


def test_registered_ids_and_switch_steps():
    for env_id, step in (("dynaplan/BlockingMaze-v0", 1000), ("dynaplan/ShortcutMaze-v0", 3000)):
        world = dynaplan.problem_of(env_id).world
        assert list(world.switch_at) == [0, step]
        assert (world.relocate == np.arange(54)).all()  # no teleport: the rule is in the arrays


def _alternating_trace(k):
    """Expected states of right, left, right, left... from S with the switch A -> B at step k.

    Before step k: 1, 0, 1, 0... From step k on, B's wall stops every move right from (0, 0),
    and an agent standing on (0, 1) when the wall appears (k odd) walks out to (0, 0).
    """
    return [(1 if t % 2 == 0 else 0) if t < k else 0 for t in range(12)]


@pytest.mark.parametrize("k", [1, 2, 3, 6, 7])
def test_switch_at_exact_step_env_and_kernel(k):
    schedule = [(0, A), (k, B)]
    actions = [RIGHT if t % 2 == 0 else LEFT for t in range(12)]
    expected = _alternating_trace(k)

    env = ChangingMaze(schedule)
    obs, _ = env.reset(seed=5)
    env_states, phases = [], []
    for a in actions:
        obs, _r, _term, _trunc, info = env.step(a)
        env_states.append(obs)
        phases.append(info["phase"])
    assert env_states == expected
    assert phases == [0 if t + 1 < k else 1 for t in range(12)]

    world = changing_world(schedule)
    rng = env_stream(5)
    s = world_reset(world, 0, rng)
    kernel_states = []
    for t, a in enumerate(actions):
        s, _r, _term = world_step(world, t, s, a, rng)
        kernel_states.append(int(s))
    assert kernel_states == expected


def test_wall_under_agent_rule_in_model():
    """A wall cell moves like a free cell but can never be entered."""
    m = changing_maze_model(parse_layout(B))
    assert m.next_state[1, RIGHT, 0] == 2 and m.next_state[1, LEFT, 0] == 0 and m.next_state[1, DOWN, 0] == 6
    assert m.next_state[0, RIGHT, 0] == 0 and m.next_state[2, LEFT, 0] == 2 and m.next_state[6, UP, 0] == 6


def test_blocking_maze_agent_on_new_wall_env_and_kernel():
    """Agent reaches (3, 8) exactly when the blocking wall covers it: stays, walks out, can't return."""
    switch = 7
    actions = [RIGHT] * 5 + [UP, UP] + [UP, DOWN, DOWN, LEFT, RIGHT]
    cell = lambda r, c: r * 9 + c  # noqa: E731
    expected = [cell(5, c) for c in range(4, 9)] + [cell(4, 8), cell(3, 8)] + [
        cell(2, 8), cell(2, 8), cell(2, 8), cell(2, 7), cell(2, 8)
    ]
    env = gym.make("dynaplan/BlockingMaze-v0", switch_at=switch)
    _obs, _ = env.reset(seed=0)
    got = [env.step(a)[0] for a in actions]
    assert got == expected
    assert env.unwrapped.layout.walls[3, 8]
    world = dynaplan.problem_of("dynaplan/BlockingMaze-v0", switch_at=switch).world
    rng = env_stream(0)
    s = world_reset(world, 0, rng)
    kernel = []
    for t, a in enumerate(actions):
        s, _, _ = world_step(world, t, s, a, rng)
        kernel.append(int(s))
    assert kernel == expected


def test_count_survives_reset_and_restarts_with_seed():
    C = "S..#G\n.....\n"
    env = ChangingMaze([(0, A), (6, C)])
    env.reset(seed=1)
    assert [env.step(RIGHT)[2] for _ in range(4)] == [False, False, False, True]  # steps 0-3 in A
    env.reset()  # same run: the count goes on
    assert env.total_steps == 4
    trace = [env.step(RIGHT)[0] for _ in range(4)]  # steps 4, 5 in A, then C blocks at (0, 2)
    assert trace == [1, 2, 2, 2]
    env.reset(seed=1)  # a new run starts at step 0 in A
    assert env.total_steps == 0 and env.phase == 0
    assert [env.step(RIGHT)[2] for _ in range(4)] == [False, False, False, True]
    env.reset(options={"total_steps": 6})
    assert env.phase == 1 and env.layout.walls[0, 3]


def test_same_run_env_vs_kernel_across_switch():
    """Random actions for 1,500 steps across the blocking maze's switch: identical transitions."""
    env = gym.make("dynaplan/BlockingMaze-v0")
    world = dynaplan.problem_of("dynaplan/BlockingMaze-v0").world
    rng = env_stream(9)
    obs, _ = env.reset(seed=9)
    assert world_reset(world, 0, rng) == obs
    actions = np.random.default_rng(1).integers(0, 4, 1500)
    for t, a in enumerate(actions):
        s2, r, term = world_step(world, t, obs, int(a), rng)
        obs2, r2, term2, _, _ = env.step(int(a))
        assert (s2, r, term) == (obs2, r2, term2)
        obs = obs2
        if term2:
            obs, _ = env.reset()
            assert world_reset(world, t + 1, rng) == obs


def test_ansi_and_rgb_render_follow_the_layout():
    env = BlockingMaze(render_mode="ansi", switch_at=2)
    env.reset(seed=0)
    assert env.render().splitlines()[3] == "########."
    env.step(LEFT)
    env.step(LEFT)
    assert env.render().splitlines()[-3] == ".########"
    rgb = BlockingMaze(render_mode="rgb_array", cell_pixels=10)
    rgb.reset(seed=0)
    assert rgb.render().shape == (60, 90, 3)


@pytest.mark.parametrize(
    ("schedule", "message"),
    [
        ([], "non-empty"),
        ([(5, A)], "start at step 0"),
        ([(0, A), (0, B)], "must increase"),
        ([(0, A), (-3, B)], "non-negative"),
        ([(0, A), (10, "S.G\n")], "expected 2x5"),
        ([(0, A), 7], "pair"),
    ],
)
def test_bad_schedules_one_line(schedule, message):
    with pytest.raises(ValueError, match=message) as info:
        ChangingMaze(schedule)
    assert "\n" not in str(info.value)


def test_bad_layout_in_schedule_is_a_layout_error():
    with pytest.raises(LayoutError):
        ChangingMaze([(0, A), (10, "S#G\n")])


def test_user_schedule_from_files_through_gym_make(tmp_path):
    """A schedule as a spec writes it (lists, file paths) works through the registered id."""
    (tmp_path / "a.txt").write_text(A)
    (tmp_path / "b.txt").write_text(B)
    schedule = [[0, str(tmp_path / "a.txt")], [3, str(tmp_path / "b.txt")]]
    env = gym.make("dynaplan/ChangingMaze-v0", schedule=schedule)
    env.reset(seed=0)
    assert [env.step(a)[0] for a in (RIGHT, LEFT, RIGHT, RIGHT)] == [1, 0, 1, 2]
    world = dynaplan.problem_of("dynaplan/ChangingMaze-v0", schedule=schedule).world
    assert list(world.switch_at) == [0, 3]
