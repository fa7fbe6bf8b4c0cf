"""Dyna-Q (n = 0, 5, 50) and prioritized sweeping in Minigrid rooms tabulated exactly.

The comparison of Example 8.1 / Figure 8.2 (Sutton & Barto, 2nd ed.) and prioritized sweeping
(section 8.4), on MiniGrid-FourRooms-v0 and MiniGrid-DoorKey-8x8-v0 (Chevalier-Boisvert et al.
2023) with the layout of ``reset(seed=0)``, each a ``MinigridWorld`` (``envs.minigrid_world``):
an exact tabular model by breadth-first search through the env's own dynamics. The runs are the
shipped spec ``experiments/specs/minigrid.toml`` (kind ``episodes``); this module adds the figure
and the summary. A run is the unit: the summary gives, per env and agent, the mean over runs of
each run's mean steps per episode in episodes 2-10 (early learning, where planning pays) and in
the last 10 episodes, with 95% t-intervals.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from dynaplan.experiments.reproductions import register_reproduction, spec_reproduction
from dynaplan.plot.curves import mean_sem, save_figure
from dynaplan.stats import normal_band, t_interval


def label(agent: str, n: int) -> str:
    """``Dyna-Q n = 5`` / ``prioritized sweeping n = 5``."""
    return f"{'Dyna-Q' if agent == 'dyna-q' else agent.replace('-', ' ')} n = {n}"


def per_run(table: pd.DataFrame, first: int, last: int) -> pd.DataFrame:
    """Each run's mean steps per episode over episodes ``first..last`` (one row per env, agent, n, seed)."""
    window = table[(table.episode >= first) & (table.episode <= last)]
    return pd.DataFrame(window.groupby(["env", "agent", "planning_steps", "seed"], as_index=False)["steps"].mean())


def summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per env and agent: mean steps per episode in episodes 2-10 and in the last 10, 95% intervals over runs."""
    last_ep = int(table.episode.max())
    early = per_run(table, 2, 10)
    late = per_run(table, last_ep - 9, last_ep)
    rows = []
    for (env, agent, n), group in early.groupby(["env", "agent", "planning_steps"], sort=False):
        m, h, runs = t_interval(group.steps.to_numpy())
        tail = late[(late.env == env) & (late.agent == agent) & (late.planning_steps == n)]
        m2, h2, _ = t_interval(tail.steps.to_numpy())
        rows.append({"env": env, "agent": label(str(agent), int(n)), "runs": runs,  # type: ignore[call-overload]
                     "steps_ep2_10": round(m, 1), "ep2_10_95": round(h, 1),
                     "steps_last_10": round(m2, 1), "last_10_95": round(h2, 1)})
    return pd.DataFrame(rows)


def figure(table: pd.DataFrame, path: Path) -> Path:
    """Mean steps per episode (episodes 2 on, log scale), 95% bands over runs; one panel per room."""
    from dynaplan.plot.curves import _pyplot

    plt = _pyplot()
    envs = list(dict.fromkeys(table.env))
    fig, axes = plt.subplots(1, len(envs), figsize=(6 * len(envs), 4.5), dpi=120, squeeze=False)
    curves = mean_sem(table[table.episode >= 2], ["env", "agent", "planning_steps", "episode"], "steps")
    for ax, env in zip(axes[0], envs):
        for (agent, n), c in curves[curves.env == env].groupby(["agent", "planning_steps"], sort=False):
            c = c.sort_values("episode")
            (line,) = ax.plot(c.episode, c["mean"], lw=1.6, label=label(str(agent), int(n)))  # type: ignore[call-overload]
            lo, hi = normal_band(c["mean"], c["sem"])
            ax.fill_between(c.episode, np.maximum(lo, 1), hi, color=line.get_color(),
                            alpha=0.2, lw=0)
        ax.set_yscale("log")
        ax.set_title(str(env))
        ax.set_xlabel("Episodes")
        ax.set_ylabel("Steps per episode")
        ax.grid(alpha=0.3)
        ax.legend(frameon=False)
    return save_figure(fig, path)


REPRODUCTION = register_reproduction(spec_reproduction("minigrid", figure, summary))
run = REPRODUCTION.run
