"""Example 8.1, Figure 8.2: Dyna-Q with 0, 5 and 50 planning steps in the Dyna maze.

Book settings: 30 runs, alpha 0.1, epsilon 0.1, gamma 0.95, Q starts at 0, ties broken at
random, 50 episodes; the curve shows mean steps per episode from episode 2 on.

The runs are the shipped spec ``experiments/specs/dyna-maze.toml`` (kind ``episodes``); this
module adds the figure and the summary. ``run(runs=30, episodes=50, planning_steps=[0, 5, 50],
seed=0, alpha=.., epsilon=.., gamma=.., progress=None)`` returns the table in memory.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from dynaplan.experiments.reproductions import register_reproduction, spec_reproduction
from dynaplan.plot.curves import mean_sem

ENV_ID = "dynaplan/DynaMaze-v0"


def mean_curves(table: pd.DataFrame) -> pd.DataFrame:
    """Mean, standard error and run count of steps per (planning_steps, episode)."""
    return mean_sem(table, ["planning_steps", "episode"], "steps")


def summary(table: pd.DataFrame, last: int = 10) -> pd.DataFrame:
    """Per n: mean steps in episodes 2 and 3, mean of the last ``last`` episodes, and the first
    episode from which the mean curve stays within 10% of that final level."""
    curves = mean_curves(table)
    rows = []
    for n, c in curves.groupby("planning_steps"):
        c = c.sort_values("episode")
        final = float(c["mean"].tail(last).mean())
        within = c["mean"].to_numpy() <= 1.1 * final
        # first episode after which every later episode is within 10% of the final level
        settle = int(c["episode"].iloc[-1])
        for i in range(len(within) - 1, -1, -1):
            if not within[i]:
                break
            settle = int(c["episode"].iloc[i])
        rows.append(
            {
                "planning_steps": int(n),  # type: ignore[arg-type]
                "episode_2": float(c.loc[c.episode == 2, "mean"].iloc[0]) if (c.episode == 2).any() else np.nan,
                "episode_3": float(c.loc[c.episode == 3, "mean"].iloc[0]) if (c.episode == 3).any() else np.nan,
                f"last_{last}": final,
                "settled_at_episode": settle,
            }
        )
    return pd.DataFrame(rows)


def figure(table: pd.DataFrame, path: Path) -> Path:
    """Figure 8.2: mean steps per episode (episodes 2 on), 95% bands, one line per n."""
    from dynaplan.plot.curves import line_with_band

    curves = mean_curves(table)
    curves = curves[curves.episode >= 2]
    series = {
        f"{n!s} planning steps" if n else "0 planning steps (direct RL only)": c
        for n, c in curves.groupby("planning_steps")
    }
    return line_with_band(
        series, x="episode", path=path, xlabel="Episodes", ylabel="Steps per episode",
        title="Dyna maze (Sutton & Barto, Figure 8.2)", ylim=(0, None),
    )


REPRODUCTION = register_reproduction(spec_reproduction("dyna-maze", figure, summary))
run = REPRODUCTION.run
