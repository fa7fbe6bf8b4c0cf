"""An animated GIF of an agent learning in a maze: where it is, its greedy policy and its values.

``record_run`` plays an agent in a maze env through the object API (``act`` / ``observe``, the
same kernels as the batched runner) and keeps a snapshot every ``every`` steps (and whenever the
layout changes); ``write_gif`` draws each snapshot (``plot.maze.draw_policy``) and saves the
frames with Pillow. matplotlib is imported lazily, Agg backend.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from dynaplan.envs.layouts import MazeLayout
from dynaplan.plot.maze import SCREEN_DX, SCREEN_DY


@dataclass(frozen=True)
class Snapshot:
    """The agent after ``step`` real steps.

    Attributes:
      step: real steps taken
      episode: episodes finished
      total_reward: reward collected so far
      state: the agent's cell (state index)
      layout: the maze layout in force
      q: float64[S, A], a copy of the agent's Q
    """

    step: int
    episode: int
    total_reward: float
    state: int
    layout: MazeLayout
    q: np.ndarray


def maze_layout(env: Any) -> MazeLayout:
    """The current layout of a dynaplan maze env; ValueError for any other env."""
    layout = getattr(env.unwrapped, "layout", None)
    if not isinstance(layout, MazeLayout):
        name = env.spec.id if getattr(env, "spec", None) is not None else type(env.unwrapped).__name__
        raise ValueError(f"env {name} is not a dynaplan maze: pictures need a maze layout")
    return layout


def record_run(env: Any, agent: Any, steps: int, *, every: int = 1, seed: int | None = None) -> list[Snapshot]:
    """Play ``steps`` real steps (``env.reset(seed=seed)`` first, then a plain ``reset()`` after each
    episode) and keep a ``Snapshot`` at step 0, every ``every`` steps, when the layout changes and
    at the end."""
    if steps < 1 or every < 1:
        raise ValueError(f"steps and every must be >= 1, got steps={steps}, every={every}")
    layout = maze_layout(env)
    obs, _ = env.reset(seed=seed)
    episodes, total = 0, 0.0
    snaps = [Snapshot(0, 0, 0.0, int(obs), maze_layout(env), agent.q.copy())]
    for t in range(1, steps + 1):
        a = agent.act(obs)
        nxt, r, term, trunc, _ = env.step(a)
        agent.observe(obs, a, float(r), nxt, term, trunc)
        total += float(r)
        obs = nxt
        if term or trunc:
            episodes += 1
            obs, _ = env.reset()
        now = maze_layout(env)
        if t % every == 0 or t == steps or now is not layout:
            snaps.append(Snapshot(t, episodes, total, int(obs), now, agent.q.copy()))
        layout = now
    return snaps


def frame_every(steps: int, max_frames: int) -> int:
    """Snapshot interval giving at most about ``max_frames`` frames."""
    return max(1, math.ceil(steps / max(1, max_frames)))


def write_gif(snaps: list[Snapshot], path: Path | str, *, title: str = "", fps: float = 10.0, dpi: int = 80) -> Path:
    """Draw each snapshot (values, greedy arrows, the agent as a dot) and save an animated GIF
    (looping; the last frame held for a second). Returns the path.

    The figure is drawn once; each frame only updates the value image, the walls (when the
    layout changed), the arrows, the agent and the title.
    """
    from PIL import Image

    from dynaplan.plot.maze import _cells_image, draw_policy, greedy_arrows, pyplot

    if not snaps:
        raise ValueError("no snapshots to draw")
    plt = pyplot()
    n_rows, n_cols = snaps[0].layout.shape
    vmax = max(float(s.q.max()) for s in snaps) or 1.0
    fig, ax = plt.subplots(figsize=(0.5 * n_cols + 0.4, 0.5 * n_rows + 0.8), dpi=dpi)
    first = snaps[0]
    quiver = draw_policy(ax, first.layout, first.q, vmax=vmax, agent_state=first.state)
    values_im, walls_im = ax.images[0], ax.images[1]
    (agent_dot,) = ax.lines
    head = f"{title}\n" if title else ""
    text = ax.set_title("", fontsize=8)
    fig.tight_layout()
    layout = first.layout

    def render(snap: Snapshot) -> Any:
        nonlocal quiver, layout
        values_im.set_data(_cells_image(snap.layout, snap.q.max(axis=1)))
        if snap.layout is not layout:
            walls_im.set_data(np.where(snap.layout.walls, 1.0, np.nan))
            layout = snap.layout
        arrows = greedy_arrows(snap.layout, snap.q)
        states = np.array(sorted(arrows), dtype=np.int64)
        acts = np.array([arrows[s] for s in states], dtype=np.int64)
        rows, cols = np.divmod(states, n_cols)
        quiver.remove()
        quiver = ax.quiver(
            cols - 0.3 * SCREEN_DX[acts], rows + 0.3 * SCREEN_DY[acts], SCREEN_DX[acts], SCREEN_DY[acts],
            angles="uv", scale_units="xy", scale=1 / 0.6, width=0.008, headwidth=4, headlength=4,
            headaxislength=3.5, color="#222222", zorder=3,
        )
        r, c = divmod(snap.state, n_cols)
        agent_dot.set_data([c], [r])
        text.set_text(f"{head}step {snap.step}  episodes {snap.episode}  reward {snap.total_reward:g}")
        fig.canvas.draw()
        rgba = np.asarray(fig.canvas.buffer_rgba())
        return Image.fromarray(rgba[..., :3].copy())

    try:
        # one palette for every frame (taken from the last, most coloured one): a smaller file
        # and no colour flicker between frames
        palette = render(snaps[-1]).quantize(colors=96, method=Image.Quantize.MEDIANCUT)
        frames = [render(snap).quantize(palette=palette, dither=Image.Dither.NONE) for snap in snaps]
    finally:
        plt.close(fig)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    duration = [int(1000 / fps)] * len(frames)
    duration[-1] = max(duration[-1], 1000)
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=duration, loop=0, optimize=False)
    return path
