"""The racetrack of Exercise 5.12 on the track of Figure 5.5 (left), with its exact model.

The car is on a cell of the track with velocity ``(vx, vy)``: ``vx`` cells to the right and
``vy`` cells up per step, each component in 0..4, not both zero except on the starting line.
An action adds increments ``(ax, ay)`` in {-1, 0, +1}^2 (9 actions, index
``3 (ax + 1) + (ay + 1)``); a component that would leave 0..4 stays at its bound, and an
increment that would stop the car off the starting line is ignored (the velocity is kept).
With probability ``noise`` (0.1 in the exercise) both increments are zero whatever the action.
Then the car moves by its new velocity. Every step gives -1. The projected path (the segment
between cell centres) is checked point by point: if it reaches the finish line first, the
episode ends; if it first leaves the track, the car is sent back to a random cell of the
starting line with velocity (0, 0) and the episode continues.

Track data (``FIGURE_5_5_LEFT``): ``#`` outside, ``.`` track, ``S`` starting line, ``F`` the
finish line, drawn as cells just beyond the track's right edge. It is our reconstruction of
Figure 5.5 (left) from the printed figure: 32 rows by 17 columns of grid, 298 track cells,
a 6-cell starting line at the bottom and a 6-cell finish line on the right of the top 6 rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import gymnasium as gym
import numpy as np
from numba import njit

from dynaplan.envs.tabular import TabularModel
from dynaplan.envs.tabular_env import TabularEnv

#: Figure 5.5 (left) of Sutton & Barto (2018), reconstructed; column 17 holds the finish line.
FIGURE_5_5_LEFT = """
###..............F
##...............F
##...............F
#................F
.................F
.................F
..........########
.........#########
.........#########
.........#########
.........#########
.........#########
.........#########
.........#########
#........#########
#........#########
#........#########
#........#########
#........#########
#........#########
#........#########
#........#########
##.......#########
##.......#########
##.......#########
##.......#########
##.......#########
##.......#########
##.......#########
###......#########
###......#########
###SSSSSS#########
"""

OFF, TRACK, START, FINISH = 0, 1, 2, 3
_CODES = {"#": OFF, ".": TRACK, "S": START, "F": FINISH}
MAX_SPEED = 4
#: (ax, ay) of each action index.
ACTIONS = tuple((ax, ay) for ax in (-1, 0, 1) for ay in (-1, 0, 1))


@dataclass(frozen=True)
class Track:
    """A parsed racetrack.

    Attributes:
      grid: int64[n_rows, n_cols], codes OFF / TRACK / START / FINISH
      rows: the layout lines
    """

    grid: np.ndarray
    rows: tuple[str, ...]

    @property
    def starts(self) -> list[tuple[int, int]]:
        return [(int(r), int(c)) for r, c in np.argwhere(self.grid == START)]

    @property
    def n_track_cells(self) -> int:
        return int(np.isin(self.grid, (TRACK, START)).sum())


def parse_track(text: str) -> Track:
    """A ``Track`` from layout text; ValueError naming the line and column of a bad character."""
    lines = [line.rstrip() for line in text.strip("\n").splitlines()]
    while lines and not lines[-1]:
        lines.pop()
    if not lines:
        raise ValueError("racetrack layout is empty")
    width = max(len(line) for line in lines)
    grid = np.zeros((len(lines), width), dtype=np.int64)
    for r, line in enumerate(lines):
        for c, ch in enumerate(line):
            if ch not in _CODES:
                raise ValueError(
                    f"racetrack layout line {r + 1}, column {c + 1}: unknown character {ch!r} (use # . S F)"
                )
            grid[r, c] = _CODES[ch]
    if not (grid == START).any():
        raise ValueError("racetrack layout has no starting line (S)")
    if not (grid == FINISH).any():
        raise ValueError("racetrack layout has no finish line (F)")
    return Track(grid, tuple(line.ljust(width, "#") for line in lines))


@njit(cache=True)
def project(grid: np.ndarray, r: int, c: int, vx: int, vy: int) -> tuple[int, int, int]:
    """Follow the projected path from cell (r, c) with velocity (vx, vy).

    The path is the segment from the centre of (r, c) to the centre of (r - vy, c + vx), checked
    at ``n = 4 max(vx, vy)`` equally spaced points ``i / n`` (i = 1..n) in order, in exact integer
    arithmetic; a point on a cell boundary belongs to the cell below or to the right of it.
    Returns ``(status, r2, c2)`` with status 0 (the car lands on (r2, c2)), 1 (the path reached
    the finish line) or 2 (it left the track first).
    """
    n = 4 * max(vx, vy)
    n_rows, n_cols = grid.shape
    for i in range(1, n + 1):
        # coordinates times 2n: centre of (r, c) is ((2c + 1) n, (2r + 1) n)
        y2n = (2 * r + 1) * n - 2 * vy * i
        x2n = (2 * c + 1) * n + 2 * vx * i
        if y2n < 0:
            return 2, r, c
        rr = y2n // (2 * n)
        cc = x2n // (2 * n)
        if rr >= n_rows or cc >= n_cols:
            return 2, r, c
        code = grid[rr, cc]
        if code == 3:
            return 1, r, c
        if code == 0:
            return 2, r, c
    return 0, r - vy, c + vx


@njit(cache=True)
def _build(
    grid: np.ndarray, cell_index: np.ndarray, starts: np.ndarray, states: np.ndarray, noise: float, k_max: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n_states = states.shape[0]
    n_start = starts.shape[0]
    next_state = np.zeros((n_states, 9, k_max), dtype=np.int64)
    prob = np.zeros((n_states, 9, k_max))
    terminated = np.zeros((n_states, 9, k_max), dtype=np.bool_)
    for s in range(n_states):
        r, c, vx, vy = states[s, 0], states[s, 1], states[s, 2], states[s, 3]
        on_start = grid[r, c] == 2
        for a in range(9):
            ax = a // 3 - 1
            ay = a % 3 - 1
            n_out = 0
            for branch in range(2):
                p_branch = 1.0 - noise if branch == 0 else noise
                if p_branch <= 0.0:
                    continue
                nvx, nvy = vx, vy
                if branch == 0:
                    nvx = min(max(vx + ax, 0), 4)
                    nvy = min(max(vy + ay, 0), 4)
                    if nvx == 0 and nvy == 0 and not on_start:
                        nvx, nvy = vx, vy
                status, r2, c2 = project(grid, r, c, nvx, nvy)
                if status == 1:
                    targets = np.array([s])
                    ps = np.array([p_branch])
                    done = True
                elif status == 2:
                    targets = np.empty(n_start, dtype=np.int64)
                    for i in range(n_start):
                        targets[i] = cell_index[starts[i, 0], starts[i, 1]] * 25
                    ps = np.full(n_start, p_branch / n_start)
                    done = False
                else:
                    targets = np.array([cell_index[r2, c2] * 25 + nvx * 5 + nvy])
                    ps = np.array([p_branch])
                    done = False
                for i in range(targets.shape[0]):
                    merged = False
                    for k in range(n_out):
                        if next_state[s, a, k] == targets[i] and terminated[s, a, k] == done:
                            prob[s, a, k] += ps[i]
                            merged = True
                            break
                    if not merged:
                        next_state[s, a, n_out] = targets[i]
                        prob[s, a, n_out] = ps[i]
                        terminated[s, a, n_out] = done
                        n_out += 1
            for k in range(n_out, k_max):
                next_state[s, a, k] = s
    return next_state, prob, terminated


@dataclass(frozen=True)
class RacetrackModel:
    """The exact model of a racetrack and the meaning of its state indices.

    Attributes:
      model: TabularModel over S states, 9 actions
      states: int64[S, 4], (row, col, vx, vy) of each state
      start_states: int64[n_start], the starting-line states (velocity 0)
    """

    model: TabularModel
    states: np.ndarray
    start_states: np.ndarray


def racetrack_model(track: Track | str = FIGURE_5_5_LEFT, noise: float = 0.1) -> RacetrackModel:
    """Exact model (Exercise 5.12) with one state per (track cell, velocity).

    States are (row, col, vx, vy) over track cells with both components in 0..4 and not both
    zero, plus velocity (0, 0) on the starting line; K = 12 outcome slots (two velocity branches,
    a crash spreading over the starting cells). A finish outcome is terminal with next state s.
    """
    if not 0.0 <= noise < 1.0:
        raise ValueError(f"noise must be in [0, 1), got {noise}")
    if isinstance(track, str):
        track = parse_track(track)
    grid = track.grid
    cells = [(int(r), int(c)) for r, c in np.argwhere(np.isin(grid, (TRACK, START)))]
    cell_index = np.full(grid.shape, -1, dtype=np.int64)
    # Dense index cell * 25 + vx * 5 + vy, then compacted to the valid states below.
    for i, (r, c) in enumerate(cells):
        cell_index[r, c] = i
    starts = np.array(track.starts, dtype=np.int64)
    full = np.array(
        [(r, c, vx, vy) for (r, c) in cells for vx in range(5) for vy in range(5)], dtype=np.int64
    )
    next_full, prob, terminated = _build(grid, cell_index, starts, full, float(noise), 2 * len(starts))
    valid = (full[:, 2] + full[:, 3] > 0) | (grid[full[:, 0], full[:, 1]] == START)
    compact = np.full(len(full), -1, dtype=np.int64)
    compact[valid] = np.arange(int(valid.sum()))
    keep = np.flatnonzero(valid)
    next_state = compact[next_full[keep]]
    # Terminal and padding slots point at the state itself.
    self_index = np.arange(len(keep))[:, None, None]
    next_state = np.where(next_state < 0, self_index, next_state)
    prob = prob[keep]
    terminated = terminated[keep]
    # Finish outcomes were written with the dense index of s: map them to s itself.
    next_state = np.where(terminated, self_index, next_state)
    reward = np.where(prob > 0, -1.0, 0.0)
    states = full[keep]
    start_states = np.array([compact[cell_index[r, c] * 25] for r, c in track.starts], dtype=np.int64)
    start = np.zeros(len(keep))
    start[start_states] = 1.0 / len(start_states)
    return RacetrackModel(TabularModel(next_state, prob, reward, terminated, start), states, start_states)


class Racetrack(TabularEnv):
    """The racetrack of Sutton & Barto (2018), Exercise 5.12, on the track of Figure 5.5 (left).

    ## Description
    Drive a car from the starting line to the finish line as fast as possible without leaving
    the track. See the module docstring for the exact rules.

    ## Action Space
    ``Discrete(9)``: velocity increments (ax, ay) in {-1, 0, 1}^2, index ``3 (ax + 1) + (ay + 1)``.

    ## Observation Space
    ``Discrete(S)``: an index into ``env.unwrapped.states`` (row, col, vx, vy).

    ## Starting State
    A random cell of the starting line, velocity (0, 0).

    ## Rewards
    -1 per step.

    ## Episode End
    Terminated when the projected path crosses the finish line (the observation is then the
    state the car left from). Leaving the track sends the car back to the starting line.

    ## Arguments
    ``layout``: track text (default ``FIGURE_5_5_LEFT``); ``noise``: probability that both
    increments are zero (0.1); ``render_mode``: ``"ansi"``.

    The exact model is ``env.unwrapped.model`` (dense arrays) and ``env.unwrapped.P``.
    """

    def __init__(self, layout: str = FIGURE_5_5_LEFT, noise: float = 0.1, render_mode: str | None = None) -> None:
        self.track = parse_track(layout)
        built = racetrack_model(self.track, noise)
        self.states = built.states
        self.start_states = built.start_states
        self.noise = float(noise)
        super().__init__(built.model, render_mode)
        self.s = int(self.start_states[0])

    def decode(self, state: int) -> tuple[int, int, int, int]:
        """(row, col, vx, vy) of a state index."""
        r, c, vx, vy = self.states[int(state)]
        return int(r), int(c), int(vx), int(vy)

    def render(self) -> str | None:  # type: ignore[override]
        if self.render_mode != "ansi":
            gym.logger.warn('Racetrack.render needs render_mode "ansi"')
            return None
        rows = [list(line) for line in self.track.rows]
        r, c, vx, vy = self.decode(self.s)
        rows[r][c] = "C"
        return f"velocity ({vx}, {vy})\n" + "\n".join("".join(row) for row in rows) + "\n"
