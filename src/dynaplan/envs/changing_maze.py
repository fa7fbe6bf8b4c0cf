"""Mazes whose layout changes at fixed total time steps: the blocking and shortcut mazes.

A *schedule* ``[(from_step, layout), ...]`` says which layout is in force from which total
number of real time steps, counted across episodes (book section 8.3, Examples 8.2 and 8.3).
Step number ``t`` (0-based, the ``t``-th real step of the run) is taken in the layout whose
``from_step`` is the largest one ``<= t``; so with ``(1000, layout)`` the 1,001st step is the
first one taken in the new layout, also in the middle of an episode.

**An agent standing where a wall appears** stays where it is, and that cell is treated as free
until it leaves: its moves are those of a free cell, but no move leads back into it (it is a
wall now). This rule lives in the model arrays themselves (``changing_maze_model``), so the
object env and the compiled kernels (``World`` with the identity ``relocate``) apply it
identically, with no special case anywhere. (A goal that appears under the agent is absorbing,
as every goal: the next step ends the episode with reward 0.)

When does the count start? ``reset(seed=...)`` starts a new run (a new random stream, total
step 0), exactly as the compiled runner does for a run seed; ``reset()`` without a seed starts
a new episode of the same run and keeps the count. ``options={"total_steps": k}`` sets it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from dynaplan.envs.grid_maze import GridMaze, maze_model
from dynaplan.envs.layouts import MOVES, LayoutError, MazeLayout, load_layout
from dynaplan.envs.tabular import TabularModel, World, make_world

LayoutLike = str | os.PathLike[str] | MazeLayout
Schedule = Sequence[tuple[int, LayoutLike]]

#: Example 8.2 (Figure 8.4), before step 1,000: the gap is on the right, shortest path 10.
BLOCKING_MAZE_BEFORE = """
........G
.........
.........
########.
.........
...S.....
"""

#: Example 8.2, from step 1,000: the gap moves to the left, shortest path 16.
BLOCKING_MAZE_AFTER = """
........G
.........
.........
.########
.........
...S.....
"""

#: Example 8.3 (Figure 8.5), before step 3,000: one gap on the left, shortest path 16.
SHORTCUT_MAZE_BEFORE = BLOCKING_MAZE_AFTER

#: Example 8.3, from step 3,000: a shortcut opens on the right, shortest path 10.
SHORTCUT_MAZE_AFTER = """
........G
.........
.........
.#######.
.........
...S.....
"""

BLOCKING_SCHEDULE: tuple[tuple[int, str], ...] = ((0, BLOCKING_MAZE_BEFORE), (1000, BLOCKING_MAZE_AFTER))
SHORTCUT_SCHEDULE: tuple[tuple[int, str], ...] = ((0, SHORTCUT_MAZE_BEFORE), (3000, SHORTCUT_MAZE_AFTER))


def changing_maze_model(layout: MazeLayout) -> TabularModel:
    """Exact model of one layout of a changing maze (``grid_maze.maze_model`` plus one rule).

    A wall cell's moves are those of a free cell (into a neighbour unless that is a wall or off
    the grid; +1 and the end of the episode on entering a goal), though no move ever enters it:
    an agent on whose cell a wall appears walks out and can never come back. For a maze that
    never changes this is the same as ``maze_model`` (wall cells are unreachable).
    """
    model = maze_model(layout)
    n_rows, n_cols = layout.shape
    goals = set(layout.goals)
    for r, c in zip(*np.nonzero(layout.walls), strict=True):
        s = int(r) * n_cols + int(c)
        for a, (dr, dc) in enumerate(MOVES):
            nr, nc = int(r) + dr, int(c) + dc
            if not (0 <= nr < n_rows and 0 <= nc < n_cols) or layout.walls[nr, nc]:
                nr, nc = int(r), int(c)
            model.next_state[s, a, 0] = nr * n_cols + nc
            hit = (nr, nc) in goals
            model.reward[s, a, 0] = 1.0 if hit else 0.0
            model.terminated[s, a, 0] = hit
    return model


def parse_schedule(schedule: Schedule) -> tuple[tuple[int, ...], tuple[MazeLayout, ...]]:
    """Validated ``(from_steps, layouts)``: starts at 0, strictly increasing, one grid shape."""
    if isinstance(schedule, str | os.PathLike | MazeLayout) or len(schedule) == 0:
        raise ValueError("schedule must be a non-empty list of (from_step, layout) pairs")
    steps: list[int] = []
    layouts: list[MazeLayout] = []
    for i, item in enumerate(schedule):
        try:
            from_step, layout = item
        except (TypeError, ValueError):
            raise ValueError(f"schedule entry {i} must be a (from_step, layout) pair, got {item!r}") from None
        if isinstance(from_step, bool) or not isinstance(from_step, int | np.integer) or from_step < 0:
            raise ValueError(f"schedule entry {i}: from_step must be a non-negative integer, got {from_step!r}")
        steps.append(int(from_step))
        layouts.append(load_layout(layout))
    if steps[0] != 0:
        raise ValueError(f"schedule must start at step 0, got {steps[0]}")
    for i in range(1, len(steps)):
        if steps[i] <= steps[i - 1]:
            raise ValueError(f"schedule steps must increase: entry {i} ({steps[i]}) <= entry {i - 1} ({steps[i - 1]})")
        if layouts[i].shape != layouts[0].shape:
            raise LayoutError(
                f"{layouts[i].source}: schedule entry {i} is {layouts[i].shape[0]}x{layouts[i].shape[1]}, "
                f"expected {layouts[0].shape[0]}x{layouts[0].shape[1]} like entry 0"
            )
    return tuple(steps), tuple(layouts)


def changing_world(schedule: Schedule) -> World:
    """The ``World`` of a schedule: one phase per layout, ``relocate`` the identity."""
    steps, layouts = parse_schedule(schedule)
    return make_world([changing_maze_model(lay) for lay in layouts], steps)


class ChangingMaze(GridMaze):
    """A grid maze whose layout changes at fixed total time steps (book section 8.3).

    ## Description
    ``ChangingMaze(schedule=[(0, layout_a), (1000, layout_b), ...])``: the layout with the largest
    ``from_step <= t`` is in force for the ``t``-th real step (0-based), counted across
    episodes. ``dynaplan/BlockingMaze-v0`` (Example 8.2) and ``dynaplan/ShortcutMaze-v0``
    (Example 8.3) are two schedules. Layouts are text (``#`` wall, ``S`` start, ``G`` goal,
    ``.`` free), file paths or ``MazeLayout``; all must have the same shape.

    ## Action Space, Observation Space, Rewards
    As ``GridMaze``: ``Discrete(4)`` (up, down, left, right), state ``row * n_cols + col``, +1 on
    entering a goal, 0 otherwise.

    ## Starting State
    The ``S`` of the layout in force when the episode starts.

    ## A wall appearing under the agent
    The agent stays; its cell acts as free until it leaves, and cannot be re-entered (see the
    module docstring). The compiled runner applies the same rule through the same arrays.

    ## Episode End
    Terminated on entering a goal; no time limit.

    ## Counting
    ``total_steps``: real steps taken in this run. ``reset(seed=...)`` starts a new run (count
    0); ``reset()`` keeps the count; ``reset(options={"total_steps": k})`` sets it.

    Attributes: ``world`` (all phases, for compiled runners), ``schedule_steps``, ``layouts``,
    and for the phase in force ``phase``, ``layout``, ``model`` and ``P``.
    """

    def __init__(
        self,
        schedule: Schedule = BLOCKING_SCHEDULE,
        render_mode: str | None = None,
        cell_pixels: int = 24,
    ) -> None:
        self.schedule_steps, self.layouts = parse_schedule(schedule)
        super().__init__(layout=self.layouts[0], render_mode=render_mode, cell_pixels=cell_pixels)
        self.models = tuple(changing_maze_model(lay) for lay in self.layouts)
        self.world = make_world(list(self.models), self.schedule_steps)
        self.total_steps = 0
        self.phase = -1
        self._set_phase(0)

    def phase_at(self, t: int) -> int:
        """Index of the layout in force for the ``t``-th real step (0-based)."""
        return int(np.searchsorted(np.asarray(self.schedule_steps), t, side="right") - 1)

    def _set_phase(self, phase: int) -> None:
        if phase == self.phase:
            return
        self.phase = phase
        self.layout = self.layouts[phase]
        self.model = self.models[phase]

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[int, dict[str, Any]]:
        if seed is not None:
            self.total_steps = 0
        if options and "total_steps" in options:
            k = options["total_steps"]
            if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 0:
                raise ValueError(f"options['total_steps'] must be a non-negative integer, got {k!r}")
            self.total_steps = int(k)
        self._set_phase(self.phase_at(self.total_steps))
        obs, info = super().reset(seed=seed)
        return obs, {**info, "total_steps": self.total_steps, "phase": self.phase}

    def step(self, action: int) -> tuple[int, float, bool, bool, dict[str, Any]]:
        self._set_phase(self.phase_at(self.total_steps))
        obs, reward, terminated, truncated, info = super().step(action)
        self.total_steps += 1
        # The layout of the next step is shown from now on (render, model, P).
        self._set_phase(self.phase_at(self.total_steps))
        return obs, reward, terminated, truncated, {**info, "total_steps": self.total_steps, "phase": self.phase}


class BlockingMaze(ChangingMaze):
    """Example 8.2 (Figure 8.4): 6 x 9, start (5, 3), goal (0, 8); a wall in row 3 over columns
    0-7 (shortest path 10); from step 1,000 it covers columns 1-8 instead (shortest path 16)."""

    def __init__(self, render_mode: str | None = None, cell_pixels: int = 24, switch_at: int = 1000) -> None:
        super().__init__(((0, BLOCKING_MAZE_BEFORE), (switch_at, BLOCKING_MAZE_AFTER)), render_mode, cell_pixels)


class ShortcutMaze(ChangingMaze):
    """Example 8.3 (Figure 8.5): 6 x 9, start (5, 3), goal (0, 8); a wall in row 3 over columns
    1-8 (shortest path 16); from step 3,000 it covers columns 1-7, opening a shortcut on the
    right (shortest path 10)."""

    def __init__(self, render_mode: str | None = None, cell_pixels: int = 24, switch_at: int = 3000) -> None:
        super().__init__(((0, SHORTCUT_MAZE_BEFORE), (switch_at, SHORTCUT_MAZE_AFTER)), render_mode, cell_pixels)
