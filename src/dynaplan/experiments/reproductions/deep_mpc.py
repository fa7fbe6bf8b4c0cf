"""Planning at decision time on learned neural dynamics (PETS, Chua et al. 2018), and exploration
that improves the model: ``dynaplan reproduce deep-mpc`` and ``dynaplan reproduce deep-explore``.

Kind ``deep-mpc``: one row of the PETS family (``dynaplan.agents.pets_params``: ``model`` =
pets | de | true | random, the planner and its sizes, ``warm_start``, ``bonus``) on one env whose
dynamics dynaplan steps in JAX, for ``episodes`` episodes (the replay keeps every transition of
the run unless the cell sets ``capacity``). All the cell's seeds run as one program
per episode (``vmap`` over seeds: ``dynaplan.neural.pets.run_seeds``). One row per (seed,
episode): ``agent`` (the cell's label), ``env``, ``seed``, ``episode``, ``env_steps`` (cumulative
real steps), ``steps`` (this episode's), ``return``, ``holdout_mse`` (the ensemble's held-out
error after the episode's training, normalised units; NaN without a model).

Statistics: a run is the unit. ``summary`` reduces each run to its mean return over the last
``LAST`` episodes (episodes 11-15 at the default size) and, for MountainCarContinuous, to whether
it ever reached the goal; it reports the mean over runs with a 95% t-interval and the run count,
and the share of runs reaching the goal with its 95% Wilson interval and the paired difference.

This module imports JAX only inside the kind's ``run`` (``dynaplan reproduce --list`` and the
checks of a spec stay JAX-free; the runner's workers import it when they run a cell).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dynaplan.agents.base import ParamError
from dynaplan.agents.pets_params import check_pets_params
from dynaplan.core.params import check_positive_count
from dynaplan.experiments.kinds import register_kind
from dynaplan.experiments.reproductions import register_reproduction, spec_reproduction
from dynaplan.plot.curves import mean_sem
from dynaplan.stats import t_half, t_interval

__all__ = ["LAST", "check_cell", "figure", "run", "summary"]

#: Episodes at the end of a run its score averages (the claim's episodes 11-15).
LAST = 5
#: The envs the kind runs (their dynamics stepped in JAX).
ENV_IDS = ("Pendulum-v1", "MountainCarContinuous-v0", "dynaplan/CartpoleSwingup-v0")
#: Episodes per run when a cell does not say.
DEFAULTS_EPISODES = 15
RESERVED = {"env", "agent", "episodes"}
#: MountainCarContinuous-v0's time limit: an episode shorter than this reached the goal.
MOUNTAIN_CAR_STEPS = 999


def _params(cell: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in cell.items() if k not in RESERVED}


def check_cell(cell: Mapping[str, Any]) -> None:
    """Validate a cell of kind ``deep-mpc`` (``ParamError`` naming the key)."""
    for key in ("env", "agent"):
        if key not in cell:
            raise ParamError(key, f"{key}: missing (required by kind deep-mpc)")
    if cell["env"] not in ENV_IDS:
        raise ParamError("env", f"env: the deep-mpc kind runs {', '.join(ENV_IDS)}; got {cell['env']!r}")
    check_positive_count("episodes", cell.get("episodes", DEFAULTS_EPISODES))
    check_pets_params(_params(cell))


@register_kind("deep-mpc", check=check_cell)
def run_cell(cell: Mapping[str, Any], seeds: Sequence[int]) -> pd.DataFrame:
    """The PETS family on a JAX-stepped world, all seeds batched (one row per seed and episode)."""
    from dynaplan.agents.pets import config_of
    from dynaplan.neural.pets import run_seeds
    from dynaplan.neural.worlds import WORLDS

    world = WORLDS[cell["env"]]
    # the replay keeps every transition of the run unless the cell sets its capacity
    cfg = config_of(world, _params(cell), episodes=int(cell.get("episodes", DEFAULTS_EPISODES)),
                    replay_size=None if "capacity" in cell else 0)
    rows = run_seeds(cfg, [int(s) for s in seeds])
    table = pd.DataFrame(rows)
    table["steps"] = table.groupby("seed")["env_steps"].diff().fillna(table["env_steps"]).astype(np.int64)
    table.insert(0, "agent", str(cell["agent"]))
    table.insert(1, "env", str(cell["env"]))
    table["seed"] = table["seed"].astype(np.int64)
    return table


def summary(table: pd.DataFrame, last: int = LAST) -> pd.DataFrame:
    """Per (env, agent): each run's mean return over its last ``last`` episodes, then the mean over
    runs with a 95% t-interval and the run count. On MountainCarContinuous also the runs that
    ever reached the goal (an episode shorter than the 999-step limit: the goal terminates), their
    share with its 95% Wilson interval and, for every agent after the env's first, the difference
    of shares from the first with its 95% interval (Newcombe's method 10, conservative for runs
    on the same seeds), the discordant runs (only this agent / only the first reached the goal)
    and the exact McNemar p-value on them (the paired test: same seeds, same start states)."""
    from dynaplan.stats import difference_interval, mcnemar_exact, proportion_interval

    rows = []
    first_reached: dict[str, pd.Series] = {}
    for (env, agent), g in table.groupby(["env", "agent"], sort=False):
        final = g[g.episode > g.episode.max() - last]
        per_run = final.groupby("seed")["return"].mean().to_numpy()
        row: dict[str, Any] = {"env": env, "agent": agent, "runs": len(per_run),
                               f"return_last_{last}": float(per_run.mean()), "95% +-": t_interval(per_run)[1]}
        if env == "MountainCarContinuous-v0":
            reached = g.groupby("seed")["steps"].min() < MOUNTAIN_CAR_STEPS
            share, low, high = proportion_interval(int(reached.sum()), len(reached))
            row.update({"runs_reaching_goal": f"{int(reached.sum())}/{len(reached)}", "share": share,
                        "share_95%_low": low, "share_95%_high": high})
            ref = first_reached.setdefault(env, reached)
            if ref is not reached:
                a, b = reached.align(ref, join="inner")
                d, d_low, d_high = difference_interval(int(a.sum()), len(a), int(b.sum()), len(b))
                only_this, only_first = int((a & ~b).sum()), int((~a & b).sum())
                row.update({"diff": d, "diff_95%_low": d_low, "diff_95%_high": d_high,
                            "discordant": f"{only_this}:{only_first}",
                            "mcnemar_p": mcnemar_exact(only_this, only_first)})
        rows.append(row)
    return pd.DataFrame(rows)


def figure(table: pd.DataFrame, path: Path) -> Path:
    """Mean return per episode with 95% bands, one line per agent; one panel per env."""
    from dynaplan.plot.curves import _pyplot, save_figure

    plt = _pyplot()
    envs = list(dict.fromkeys(table["env"]))
    fig, axes = plt.subplots(1, len(envs), figsize=(6.5 * len(envs), 4.3), dpi=120, squeeze=False)
    for ax, env in zip(axes[0], envs):
        for agent, g in table[table.env == env].groupby("agent", sort=False):
            c = mean_sem(g, ["episode"], "return")
            half = t_half(c["std"].fillna(0), c["count"])
            (line,) = ax.plot(c["episode"], c["mean"], label=f"{agent} ({int(c['count'].max())} runs)", lw=1.6)
            ax.fill_between(c["episode"], c["mean"] - half, c["mean"] + half,
                            color=line.get_color(), alpha=0.2, lw=0)
        ax.set_title(env)
        ax.set_xlabel("Episode")
        ax.set_ylabel("Return (mean over runs, 95% band)")
        ax.grid(alpha=0.3)
        ax.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    return save_figure(fig, path)


REPRODUCTION = register_reproduction(spec_reproduction("deep-mpc", figure, summary))
EXPLORE = register_reproduction(spec_reproduction("deep-explore", figure, summary))
run = REPRODUCTION.run
