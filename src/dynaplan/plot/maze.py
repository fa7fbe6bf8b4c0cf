"""Pictures of what an agent knows about a maze: greedy policy, state values, its model.

* ``draw_policy(ax, layout, q)``: state values ``max_a Q(s, a)`` as a heat map, the greedy action
  (``argmax_a Q``, ties to the lowest action, as ``TabularAgent.greedy_action``) as an arrow in
  every free cell where Q is not the same for all actions (where the agent prefers something;
  Figure 8.3 draws arrows only there too), walls dark, start and goal marked.
* ``draw_pairs(ax, layout, values)``: one triangle per (cell, action), pointing the action's
  way, coloured by a per-pair value: which pairs the model has tried, or Dyna-Q+'s staleness tau.
* ``policy_figure``, ``model_figure``, ``policies_figure``: PNG files.
* ``policy_text``: the greedy policy as terminal text (``^ v < >``).

matplotlib is imported lazily (inside functions) with the Agg backend: importing this module
costs nothing at CLI start-up.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from dynaplan.envs.layouts import MOVES, MazeLayout

ARROWS_TEXT = "^v<>"
#: Direction of each action on screen (x right, y up): up, down, left, right.
SCREEN_DX = np.array([0.0, 0.0, -1.0, 1.0])
SCREEN_DY = np.array([1.0, -1.0, 0.0, 0.0])


def pyplot() -> Any:
    """matplotlib.pyplot on the Agg backend (imported on first use)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def greedy_arrows(layout: MazeLayout, q: np.ndarray) -> dict[int, int]:
    """State -> greedy action (argmax, ties to the lowest action) for every free, non-goal cell
    whose Q row is not constant: the arrows the pictures draw."""
    n_cols = layout.shape[1]
    goals = {r * n_cols + c for r, c in layout.goals}
    out = {}
    for s in range(q.shape[0]):
        r, c = divmod(s, n_cols)
        if layout.walls[r, c] or s in goals:
            continue
        row = q[s]
        if np.all(row == row[0]):
            continue
        out[s] = int(np.argmax(row))
    return out


def _cells_image(layout: MazeLayout, per_state: np.ndarray) -> np.ndarray:
    """A [rows, cols] float array from a per-state vector, NaN on walls (drawn as walls)."""
    img = np.asarray(per_state, dtype=float).reshape(layout.shape).copy()
    img[layout.walls] = np.nan
    return img


def _frame(ax: Any, layout: MazeLayout) -> None:
    n_rows, n_cols = layout.shape
    ax.set_xlim(-0.5, n_cols - 0.5)
    ax.set_ylim(n_rows - 0.5, -0.5)
    ax.set_xticks(np.arange(-0.5, n_cols, 1), minor=True)
    ax.set_yticks(np.arange(-0.5, n_rows, 1), minor=True)
    ax.grid(which="minor", color="#bbbbbb", lw=0.5)
    ax.tick_params(which="both", length=0, labelbottom=False, labelleft=False)
    ax.set_aspect("equal")
    walls = np.where(layout.walls, 1.0, np.nan)
    ax.imshow(walls, cmap="Greys", vmin=0, vmax=1.25, interpolation="nearest", zorder=2)
    sr, sc = layout.start
    ax.text(sc - 0.42, sr - 0.42, "S", ha="left", va="top", fontsize=7, fontweight="bold", color="#0d47a1", zorder=4)
    for gr, gc in layout.goals:
        ax.text(gc, gr, "G", ha="center", va="center", fontsize=9, fontweight="bold", color="#1b5e20", zorder=4)


def draw_policy(
    ax: Any,
    layout: MazeLayout,
    q: np.ndarray,
    *,
    values: bool = True,
    vmax: float | None = None,
    agent_state: int | None = None,
) -> Any:
    """Heat map of ``max_a Q`` and greedy arrows on ``ax``; returns the arrows' ``Quiver``
    (``X, Y`` = column, row of each arrow; ``U, V`` = its direction, V up on screen)."""
    n_cols = layout.shape[1]
    if values:
        v = _cells_image(layout, q.max(axis=1))
        top = vmax if vmax is not None else (float(np.nanmax(v)) if np.isfinite(v).any() else 1.0)
        from matplotlib.colors import PowerNorm

        # a square-root scale: values fall off as gamma^k, the far ones would all look alike
        ax.imshow(v, cmap="YlOrRd", norm=PowerNorm(0.5, vmin=0.0, vmax=max(top, 1e-12)), interpolation="nearest",
                  zorder=1)
    _frame(ax, layout)
    arrows = greedy_arrows(layout, q)
    states = np.array(sorted(arrows), dtype=np.int64)
    acts = np.array([arrows[s] for s in states], dtype=np.int64)
    rows, cols = np.divmod(states, n_cols) if states.size else (np.zeros(0), np.zeros(0))
    quiver = ax.quiver(
        cols - 0.3 * SCREEN_DX[acts], rows + 0.3 * SCREEN_DY[acts], SCREEN_DX[acts], SCREEN_DY[acts],
        angles="uv", scale_units="xy", scale=1 / 0.6, width=0.008, headwidth=4, headlength=4, headaxislength=3.5,
        color="#222222", zorder=3,
    )
    if agent_state is not None:
        r, c = divmod(int(agent_state), n_cols)
        ax.plot([c], [r], "o", ms=9, mfc="#1565c0", mec="white", zorder=5)
    return quiver


def draw_pairs(ax: Any, layout: MazeLayout, values: np.ndarray, *, cmap: Any = "viridis",
               vmin: float | None = None, vmax: float | None = None, norm: Any = None) -> Any:
    """One triangle per (free non-goal cell, action) pointing the action's way, coloured by
    ``values: float[S, 4]`` (NaN: not drawn). Returns the ``PolyCollection`` (for a colour bar)."""
    from matplotlib.collections import PolyCollection

    n_rows, n_cols = layout.shape
    goals = set(layout.goals)
    polys, colors = [], []
    for s in range(n_rows * n_cols):
        r, c = divmod(s, n_cols)
        if layout.walls[r, c] or (r, c) in goals:
            continue
        for a, (dr, dc) in enumerate(MOVES):
            val = values[s, a]
            if not np.isfinite(val):
                continue
            # corners of the cell edge the action points to, and the centre
            if dr:
                edge = [(c - 0.5, r + 0.5 * dr), (c + 0.5, r + 0.5 * dr)]
            else:
                edge = [(c + 0.5 * dc, r - 0.5), (c + 0.5 * dc, r + 0.5)]
            polys.append([(c, r), *edge])
            colors.append(val)
    coll = PolyCollection(polys, array=np.asarray(colors), cmap=cmap, norm=norm, edgecolors="white",
                          linewidths=0.4, zorder=1)
    if norm is None:
        coll.set_clim(vmin, vmax)
    ax.add_collection(coll)
    _frame(ax, layout)
    return coll


def _save(fig: Any, path: Path | str) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    pyplot().close(fig)
    return path


def policy_figure(layout: MazeLayout, q: np.ndarray, path: Path | str, *, title: str = "",
                  agent_state: int | None = None, dpi: int = 100) -> Path:
    """PNG of one maze: values heat map, greedy arrows (``draw_policy``), a colour bar."""
    plt = pyplot()
    n_rows, n_cols = layout.shape
    fig, ax = plt.subplots(figsize=(0.55 * n_cols + 1.4, 0.55 * n_rows + 0.8), dpi=dpi)
    draw_policy(ax, layout, q, agent_state=agent_state)
    im = [a for a in ax.images if a.get_cmap().name == "YlOrRd"]
    if im:
        fig.colorbar(im[0], ax=ax, fraction=0.04, pad=0.02, label="max_a Q(s, a)")
    if title:
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return _save(fig, path)


def policies_figure(panels: Sequence[tuple[str, MazeLayout, np.ndarray]], path: Path | str, *,
                    suptitle: str = "", dpi: int = 100) -> Path:
    """Several mazes side by side (e.g. Figure 8.3: without and with planning), one value scale."""
    plt = pyplot()
    n_rows, n_cols = panels[0][1].shape
    fig, axes = plt.subplots(1, len(panels), figsize=((0.5 * n_cols + 0.4) * len(panels), 0.5 * n_rows + 1.0),
                             dpi=dpi, squeeze=False)
    vmax = max(float(q.max()) for _, _, q in panels) or 1.0
    for ax, (title, layout, q) in zip(axes[0], panels, strict=True):
        draw_policy(ax, layout, q, vmax=vmax)
        ax.set_title(title, fontsize=10)
    if suptitle:
        fig.suptitle(suptitle, fontsize=11)
    fig.tight_layout()
    return _save(fig, path)


def model_figure(layout: MazeLayout, last_tried: np.ndarray, t: int, path: Path | str, *, title: str = "",
                 dpi: int = 100) -> Path:
    """What a sample model knows after ``t`` real steps, two panels over the maze: which pairs
    were tried (``last_tried >= 0``), and the staleness tau of Dyna-Q+ (steps since each pair was
    last tried; untried pairs: since the start), on a log colour scale."""
    from matplotlib.colors import ListedColormap, LogNorm

    plt = pyplot()
    n_rows, n_cols = layout.shape
    fig, axes = plt.subplots(1, 2, figsize=(2 * (0.55 * n_cols + 0.9), 0.55 * n_rows + 1.0), dpi=dpi)
    tried = (last_tried >= 0).astype(float)
    draw_pairs(axes[0], layout, tried, cmap=ListedColormap(["#e0e0e0", "#2e7d32"]), vmin=0, vmax=1)
    axes[0].set_title(f"tried pairs: {int(tried.sum())} (green)", fontsize=10)
    tau = np.where(last_tried >= 0, t - 1 - last_tried, t).astype(float)
    coll = draw_pairs(axes[1], layout, tau + 1.0, cmap="magma_r", norm=LogNorm(vmin=1, vmax=max(t, 2) + 1))
    fig.colorbar(coll, ax=axes[1], fraction=0.04, pad=0.02, label="tau + 1 (steps since last tried)")
    axes[1].set_title(f"staleness tau after {t} steps", fontsize=10)
    if title:
        fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    return _save(fig, path)


def policy_text(layout: MazeLayout, q: np.ndarray, agent_state: int | None = None) -> str:
    """The greedy policy as text: ``^ v < >`` where Q prefers an action, ``.`` where it does not,
    ``#`` walls, ``S`` / ``G``, ``A`` the agent."""
    arrows = greedy_arrows(layout, q)
    n_rows, n_cols = layout.shape
    lines = []
    for r in range(n_rows):
        row = []
        for c in range(n_cols):
            s = r * n_cols + c
            ch = layout.rows[r][c]
            if s == agent_state:
                ch = "A"
            elif ch in ".S" and s in arrows:
                ch = ARROWS_TEXT[arrows[s]] if ch == "." else ch
            row.append(ch)
        lines.append("".join(row))
    return "\n".join(lines) + "\n"


def arrows_from_quiver(quiver: Any, n_cols: int) -> Mapping[int, int]:
    """Read back the arrows a ``Quiver`` drew: state -> action (for checks)."""
    out = {}
    offsets = np.asarray(quiver.get_offsets())
    for (x, y), u, v in zip(offsets, np.asarray(quiver.U), np.asarray(quiver.V), strict=True):
        a = int(np.argmax(u * SCREEN_DX + v * SCREEN_DY))
        col = round(float(x + 0.3 * SCREEN_DX[a]))
        row = round(float(y - 0.3 * SCREEN_DY[a]))
        out[row * n_cols + col] = a
    return out
