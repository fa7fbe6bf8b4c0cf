"""Grid mazes read from a layout: the Dyna maze of the book and any maze a user writes."""

from __future__ import annotations

import os

import gymnasium as gym
import numpy as np

from dynaplan.envs.layouts import DYNA_MAZE, MOVES, MazeLayout, load_layout
from dynaplan.envs.tabular import TabularModel
from dynaplan.envs.tabular_env import TabularEnv

UP, DOWN, LEFT, RIGHT = 0, 1, 2, 3
ACTION_NAMES = ("up", "down", "left", "right")

_COLORS = {
    "wall": (64, 64, 64),
    "free": (245, 245, 245),
    "start": (173, 216, 230),
    "goal": (120, 200, 120),
    "agent": (220, 50, 47),
    "grid": (200, 200, 200),
}


def maze_model(layout: MazeLayout) -> TabularModel:
    """Exact deterministic model of a maze.

    State ``s = row * n_cols + col`` over every cell (walls included, so that states keep their
    index when a layout changes). A move into a wall or off the grid leaves the agent in place;
    entering a goal gives reward +1 and ends the episode; every other move gives 0. Goal cells
    are absorbing (``P[g][a] = [(1.0, g, 0.0, True)]``, as in FrozenLake); wall cells, which
    cannot be entered, are self-loops.
    """
    n_rows, n_cols = layout.shape
    n_states = n_rows * n_cols
    next_state = np.zeros((n_states, 4, 1), dtype=np.int64)
    reward = np.zeros((n_states, 4, 1))
    terminated = np.zeros((n_states, 4, 1), dtype=np.bool_)
    goals = set(layout.goals)
    for r in range(n_rows):
        for c in range(n_cols):
            s = r * n_cols + c
            for a, (dr, dc) in enumerate(MOVES):
                if (r, c) in goals:
                    next_state[s, a, 0], terminated[s, a, 0] = s, True
                    continue
                if layout.walls[r, c]:
                    next_state[s, a, 0] = s
                    continue
                nr, nc = r + dr, c + dc
                if not (0 <= nr < n_rows and 0 <= nc < n_cols) or layout.walls[nr, nc]:
                    nr, nc = r, c
                next_state[s, a, 0] = nr * n_cols + nc
                if (nr, nc) in goals:
                    reward[s, a, 0], terminated[s, a, 0] = 1.0, True
    start = np.zeros(n_states)
    start[layout.start[0] * n_cols + layout.start[1]] = 1.0
    prob = np.ones((n_states, 4, 1))
    return TabularModel(next_state, prob, reward, terminated, start)


class GridMaze(TabularEnv):
    """A maze on a grid, read from a text layout.

    ## Description
    The agent moves between the free cells of a grid from the start ``S`` to a goal ``G``. The
    default layout is the Dyna maze of Sutton & Barto (2018), Example 8.1: 6 x 9 cells, start at
    (row 2, col 0), goal at (row 0, col 8), shortest path 14 steps.

    ## Action Space
    ``Discrete(4)``: 0 up, 1 down, 2 left, 3 right. A move into a wall or off the grid leaves the
    agent where it is.

    ## Observation Space
    ``Discrete(n_rows * n_cols)``: the index ``row * n_cols + col`` of the agent's cell.

    ## Starting State
    The cell marked ``S``.

    ## Rewards
    +1 on entering a goal, 0 for every other step.

    ## Episode End
    Terminated on entering a goal. No time limit is set (the random walk of the first episode
    in the Dyna maze takes about 870 steps on average).

    ## Arguments
    ``layout``: layout text, a path to a layout file, or a ``MazeLayout``.
    ``render_mode``: ``"ansi"`` or ``"rgb_array"``.

    The exact model is ``env.unwrapped.model`` (dense arrays) and ``env.unwrapped.P``.
    """

    metadata = {"render_modes": ["ansi", "rgb_array"], "render_fps": 8}  # noqa: RUF012 (Gymnasium API)

    def __init__(
        self,
        layout: str | os.PathLike[str] | MazeLayout = DYNA_MAZE,
        render_mode: str | None = None,
        cell_pixels: int = 24,
    ) -> None:
        self.layout = load_layout(layout)
        self.n_rows, self.n_cols = self.layout.shape
        self.cell_pixels = cell_pixels
        super().__init__(maze_model(self.layout), render_mode)

    def to_cell(self, state: int) -> tuple[int, int]:
        """(row, col) of a state index."""
        return divmod(int(state), self.n_cols)

    def to_state(self, row: int, col: int) -> int:
        return row * self.n_cols + col

    def render(self) -> str | np.ndarray | None:  # type: ignore[override]
        if self.render_mode == "ansi":
            return self._render_text()
        if self.render_mode == "rgb_array":
            return self._render_rgb()
        gym.logger.warn('GridMaze.render needs render_mode "ansi" or "rgb_array"')
        return None

    def _render_text(self) -> str:
        grid = [list(row) for row in self.layout.rows]
        r, c = self.to_cell(self.s)
        grid[r][c] = "A"
        text = "\n".join("".join(row) for row in grid) + "\n"
        if self.lastaction is not None:
            text = f"  ({ACTION_NAMES[self.lastaction]})\n" + text
        return text

    def _render_rgb(self) -> np.ndarray:
        px = self.cell_pixels
        img = np.empty((self.n_rows * px, self.n_cols * px, 3), dtype=np.uint8)
        goals = set(self.layout.goals)
        for r in range(self.n_rows):
            for c in range(self.n_cols):
                if self.layout.walls[r, c]:
                    color = _COLORS["wall"]
                elif (r, c) in goals:
                    color = _COLORS["goal"]
                elif (r, c) == self.layout.start:
                    color = _COLORS["start"]
                else:
                    color = _COLORS["free"]
                img[r * px : (r + 1) * px, c * px : (c + 1) * px] = color
        img[::px, :] = _COLORS["grid"]
        img[:, ::px] = _COLORS["grid"]
        r, c = self.to_cell(self.s)
        m = px // 4
        img[r * px + m : (r + 1) * px - m, c * px + m : (c + 1) * px - m] = _COLORS["agent"]
        return img
