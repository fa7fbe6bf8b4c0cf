"""Minigrid rooms as tabular worlds: ground truth from an independent BFS over the room's cells,
the same state numbering observed and enumerated, and refusals by name."""

from __future__ import annotations

from collections import deque

import gymnasium as gym
import numpy as np
import pytest

pytest.importorskip("minigrid")

from dynaplan.envs.minigrid_world import MinigridWorld, make_minigrid, snapshot
from dynaplan.planning.value_iteration import value_iteration

DIRS = ((1, 0), (0, 1), (-1, 0), (0, -1))  # Minigrid's agent_dir 0..3: east, south, west, north


def shortest_actions(grid: np.ndarray, start: tuple[int, int, int]) -> int:
    """Fewest Minigrid actions (turn left / right, forward) from ``start`` into a goal cell, by BFS over
    (x, y, direction) on the room's encoded grid ``uint8[W, H, 3]`` (object 2 wall, 8 goal)."""
    seen = {start: 0}
    queue = deque([start])
    while queue:
        x, y, d = queue.popleft()
        n = seen[(x, y, d)]
        dx, dy = DIRS[d]
        forward = (x + dx, y + dy, d)
        if grid[x + dx, y + dy, 0] == 8:
            return n + 1
        moves = [(x, y, (d - 1) % 4), (x, y, (d + 1) % 4)]
        if grid[x + dx, y + dy, 0] in (1, 3):  # empty or floor
            moves.append(forward)
        for m in moves:
            if m not in seen:
                seen[m] = n + 1
                queue.append(m)
    raise AssertionError("no path to the goal")


@pytest.mark.parametrize(("env_id", "layout_seed"), [("MiniGrid-FourRooms-v0", 0), ("MiniGrid-FourRooms-v0", 7),
                                                     ("MiniGrid-Empty-8x8-v0", 0)])
def test_value_iteration_equals_the_bfs_shortest_path(env_id: str, layout_seed: int) -> None:
    gamma = 0.9
    world = MinigridWorld(env_id, layout_seed=layout_seed)
    inner = gym.make(env_id).unwrapped
    inner.reset(seed=layout_seed)
    d = shortest_actions(inner.grid.encode(), (*map(int, inner.agent_pos), int(inner.agent_dir)))
    v = value_iteration(world.model, gamma).v
    assert v[0] == pytest.approx(gamma ** (d - 1), abs=1e-9)  # reward 1 on the d-th action
    # and a greedy walk on the real env reaches the goal in exactly d actions
    q = value_iteration(world.model, gamma).q
    s, _ = world.reset()
    rewards, ends = [], []
    for _ in range(d):
        s, r, terminated, _, _ = world.step(int(np.argmax(q[s])))
        rewards.append(r)
        ends.append(terminated)
    assert rewards == [0.0] * (d - 1) + [1.0] and ends == [False] * (d - 1) + [True]


@pytest.mark.parametrize("env_id", ["MiniGrid-DoorKey-5x5-v0", "MiniGrid-FourRooms-v0"])
def test_observed_states_are_the_enumerated_ones(env_id: str) -> None:
    world = MinigridWorld(env_id, layout_seed=3)
    model = world.model
    gen = np.random.default_rng(0)
    s, _ = world.reset(seed=0)
    assert model.start[s] == 1.0
    seen_doors = set()
    for _ in range(3000):
        a = int(gen.integers(7))
        s2, r, terminated, truncated, _ = world.step(a)
        # the real Minigrid env's changing state is the snapshot enumerated under this index
        assert snapshot(world.minigrid) == world.states[s2]
        assert (s2, r, terminated) == (model.next_state[s, a, 0], model.reward[s, a, 0], model.terminated[s, a, 0])
        seen_doors.update(o[3] for o in world.states[s2].objects if o[1] == 4)
        s = s2
        if terminated or truncated:
            s, _ = world.reset()
    if env_id.startswith("MiniGrid-DoorKey"):
        assert seen_doors >= {1, 2}  # the walk met the door locked and unlocked


def test_doorkey_needs_the_key() -> None:
    """DoorKey-5x5: every optimal path picks up the key and opens the door, so it is longer than the
    shortest path through the door cell with the door ignored."""
    world = MinigridWorld("MiniGrid-DoorKey-5x5-v0", layout_seed=0)
    sol = value_iteration(world.model, 0.9)
    d_model = round(np.log(sol.v[0]) / np.log(0.9)) + 1
    inner = gym.make("MiniGrid-DoorKey-5x5-v0").unwrapped
    inner.reset(seed=0)
    grid = inner.grid.encode()
    grid[np.isin(grid[:, :, 0], (4, 5))] = (1, 0, 0)  # the door and the key as empty cells
    d_free = shortest_actions(grid, (*map(int, inner.agent_pos), int(inner.agent_dir)))
    assert d_model >= d_free + 2  # at least a pickup and a toggle more
    s, _ = world.reset()
    actions = []
    for _ in range(d_model):
        a = int(np.argmax(sol.q[s]))
        actions.append(a)
        s, r, terminated, _, _ = world.step(a)
    assert terminated and r == 1.0 and 3 in actions and 5 in actions  # pickup, toggle


def test_random_layout_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="MiniGrid-FourRooms-v0 draws its layout at random"):
        MinigridWorld("MiniGrid-FourRooms-v0", layout_seed=None)
    # a room whose layout is the same for every seed is accepted: 8 free cells x 4 directions, and the
    # goal cell entered facing east or south
    assert MinigridWorld("MiniGrid-Empty-5x5-v0", layout_seed=None).model.n_states == 8 * 4 + 2


def test_runs_in_the_compiled_runner() -> None:
    from dynaplan.experiments.batch import problem_of

    problem = problem_of("MiniGrid-Empty-5x5-v0")
    env = make_minigrid("MiniGrid-Empty-5x5-v0")
    assert problem.max_episode_steps == env.unwrapped.max_steps == 100
