"""Mazes at any resolution and slippery mazes (book Example 8.4 and section 8.4's stochastic case).

``scale_layout`` blows a layout up: every cell becomes a block of ``row_scale x col_scale``
cells of the same kind, except that the start and each goal become one cell (the top-left one
of their block; the rest of the block is free). The Dyna maze (47 open cells) scaled by
``(kr, kc)`` has ``47 * kr * kc`` open cells, which gives the book's doubling series
47, 94, 188, ..., 6016 with ``(1, 1), (1, 2), (2, 2), (2, 4), ...``.

``slippery_maze_model`` makes a maze stochastic: with probability ``slip`` a move goes in one
of the three other directions instead, each equally likely (so with ``slip = 0.75`` a move is
a uniformly random direction); a blocked move stays put as usual.
"""

from __future__ import annotations

import os

import numpy as np

from dynaplan.envs.grid_maze import GridMaze, maze_model
from dynaplan.envs.layouts import (
    DYNA_MAZE,
    FREE,
    GOAL,
    MAX_CELLS,
    START,
    WALL,
    LayoutError,
    MazeLayout,
    load_layout,
    parse_layout,
)
from dynaplan.envs.tabular import TabularModel

#: Scales (rows, columns) of the book's doubling series of Dyna maze sizes (Example 8.4).
BOOK_SCALES: tuple[tuple[int, int], ...] = ((1, 1), (1, 2), (2, 2), (2, 4), (4, 4), (4, 8), (8, 8), (8, 16))


def _check_scale(scale: int | tuple[int, int] | list[int]) -> tuple[int, int]:
    if isinstance(scale, bool):
        raise ValueError(f"scale must be a positive integer or a pair of them, got {scale!r}")
    if isinstance(scale, (int, np.integer)):
        pair = (int(scale), int(scale))
    else:
        try:
            kr, kc = scale
            pair = (int(kr), int(kc))
        except (TypeError, ValueError):
            raise ValueError(f"scale must be a positive integer or a pair of them, got {scale!r}") from None
        if pair != (kr, kc):
            raise ValueError(f"scale must be a positive integer or a pair of them, got {scale!r}")
    if pair[0] < 1 or pair[1] < 1:
        raise ValueError(f"scale must be positive, got {scale!r}")
    return pair


def scale_layout(layout: str | os.PathLike[str] | MazeLayout, scale: int | tuple[int, int]) -> MazeLayout:
    """The layout with every cell turned into a ``row_scale x col_scale`` block (see module doc)."""
    base = load_layout(layout)
    kr, kc = _check_scale(scale)
    n_rows, n_cols = base.shape[0] * kr, base.shape[1] * kc
    if n_rows * n_cols > MAX_CELLS:
        raise LayoutError(f"scale {scale!r}: the maze would have {n_rows:,} x {n_cols:,} cells; "
                          f"a maze has at most {MAX_CELLS:,}")
    rows = []
    for r, row in enumerate(base.rows):
        for i in range(kr):
            line = []
            for ch in row:
                if ch in (START, GOAL):
                    line.append(ch + FREE * (kc - 1) if i == 0 else FREE * kc)
                else:
                    line.append((WALL if ch == WALL else FREE) * kc)
            rows.append("".join(line))
        del r
    return parse_layout("\n".join(rows), source=f"{base.source} scaled {kr}x{kc}")


def slippery_maze_model(layout: MazeLayout, slip: float) -> TabularModel:
    """Exact model of a maze whose moves slip with probability ``slip`` (see module doc).

    Outcomes that land in the same cell are merged, so a pair has at most 4 outcomes.
    """
    if not 0.0 <= slip <= 1.0:
        raise ValueError(f"slip must be in [0, 1], got {slip!r}")
    det = maze_model(layout)
    n_states, n_actions = det.n_states, det.n_actions
    k_max = n_actions
    next_state = np.repeat(np.arange(n_states)[:, None, None], n_actions, axis=1).repeat(k_max, axis=2)
    prob = np.zeros((n_states, n_actions, k_max))
    reward = np.zeros((n_states, n_actions, k_max))
    terminated = np.zeros((n_states, n_actions, k_max), dtype=np.bool_)
    for s in range(n_states):
        for a in range(n_actions):
            outcomes: dict[int, float] = {}
            for b in range(n_actions):
                p = 1.0 - slip if b == a else slip / (n_actions - 1)
                if p > 0.0:
                    s2 = int(det.next_state[s, b, 0])
                    outcomes[s2] = outcomes.get(s2, 0.0) + p
            for k, (s2, p) in enumerate(outcomes.items()):
                b = int(np.flatnonzero(det.next_state[s, :, 0] == s2)[0])
                next_state[s, a, k] = s2
                prob[s, a, k] = p
                reward[s, a, k] = det.reward[s, b, 0]
                terminated[s, a, k] = det.terminated[s, b, 0]
    return TabularModel(next_state.astype(np.int64), prob, reward, terminated, det.start.copy())


class ScaledMaze(GridMaze):
    """The Dyna maze (or any layout) at any resolution, optionally slippery.

    ## Description
    ``ScaledMaze(scale=k)`` is the layout with each cell a ``k x k`` block (``scale=(kr, kc)``
    for rectangles), start and goal the top-left cells of their blocks: the mazes of the book's
    Example 8.4. With ``slip > 0`` a move goes in one of the three other directions with
    probability ``slip`` (a stochastic maze for prioritized sweeping with a distribution model).

    Spaces, rewards (+1 on entering the goal), episode end and rendering are those of
    ``GridMaze``. The exact model is ``env.unwrapped.model`` and ``env.unwrapped.P``.

    ## Arguments
    ``scale``: a positive integer or a pair (rows, columns); ``slip``: in [0, 1];
    ``layout``: the layout to scale (default the Dyna maze); ``render_mode``: as ``GridMaze``.
    """

    def __init__(
        self,
        scale: int | tuple[int, int] = 1,
        slip: float = 0.0,
        layout: str | os.PathLike[str] | MazeLayout = DYNA_MAZE,
        render_mode: str | None = None,
        cell_pixels: int = 8,
    ) -> None:
        if isinstance(slip, bool) or not isinstance(slip, (int, float)) or not 0.0 <= slip <= 1.0:
            raise ValueError(f"slip must be a number in [0, 1], got {slip!r}")
        super().__init__(scale_layout(layout, scale), render_mode=render_mode, cell_pixels=cell_pixels)
        self.scale = _check_scale(scale)
        self.slip = float(slip)
        if self.slip > 0.0:
            self.model = slippery_maze_model(self.layout, self.slip)

    def __repr__(self) -> str:
        return f"ScaledMaze(scale={self.scale}, slip={self.slip})"

