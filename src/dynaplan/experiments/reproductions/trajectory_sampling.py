"""Section 8.6, Figure 8.8: trajectory sampling, on-policy against uniform updates.

Kind ``trajectory-sampling``: for a setting (``n_states``, ``branching`` b, ``method``) and a
seed, the random task ``random_mdp_model(n_states, b, task_seed=seed)`` (the same task for both
methods) gets ``updates`` one-step expected updates, distributed uniformly or along on-policy
epsilon-greedy episodes (``planning.trajectory_sampling``, agent stream ``agent_stream(seed)``);
every ``updates / points`` updates, the value of the start state under the greedy policy is
computed exactly (iterative solve, error below 1e-10). One row per (seed, checkpoint).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dynaplan.agents.base import ParamError
from dynaplan.envs.random_mdp import check_random_mdp_params, random_mdp_model
from dynaplan.experiments.kinds import register_kind
from dynaplan.experiments.reproductions import register_reproduction, spec_reproduction
from dynaplan.planning.trajectory_sampling import METHODS, run_trajectory_sampling
from dynaplan.plot.curves import mean_sem
from dynaplan.rng import agent_stream
from dynaplan.stats import normal_band

CELL_KEYS = {"n_states", "branching", "method", "updates", "points", "epsilon", "termination"}


def _int(cell: Mapping[str, Any], key: str, default: int | None = None, low: int = 1) -> int:
    value = cell.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ParamError(key, f"{key} must be an integer >= {low}, got {value!r}")
    return int(value)


def _prob(cell: Mapping[str, Any], key: str, default: float, low_open: bool) -> float:
    value = cell.get(key, default)
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not ok or not ((0.0 < value <= 1.0) if low_open else (0.0 <= value <= 1.0)):
        interval = "(0, 1]" if low_open else "[0, 1]"
        raise ParamError(key, f"{key} must be a number in {interval}, got {value!r}")
    return float(value)


def check_cell(cell: Mapping[str, Any]) -> None:
    """Validate a cell of kind ``trajectory-sampling`` (``ParamError`` naming the key)."""
    for key in cell:
        if key not in CELL_KEYS:
            raise ParamError(key,
                             f"{key}: unknown key for kind trajectory-sampling (keys: {', '.join(sorted(CELL_KEYS))})")
    n = _int(cell, "n_states")
    b = _int(cell, "branching")
    if b > n:
        raise ParamError("branching", f"branching must be at most n_states={n}, got {b}")
    if cell.get("method") not in METHODS:
        raise ParamError("method", f"method must be one of {', '.join(sorted(METHODS))}, got {cell.get('method')!r}")
    updates = _int(cell, "updates")
    points = _int(cell, "points", 50)
    if updates % points:
        raise ParamError("points", f"points must divide updates={updates}, got {points}")
    _prob(cell, "epsilon", 0.1, low_open=False)
    check_random_mdp_params(n, b, 2, _prob(cell, "termination", 0.1, low_open=True))


@register_kind("trajectory-sampling", check=check_cell)
def run_kind(cell: Mapping[str, Any], seeds: Sequence[int]) -> pd.DataFrame:
    """Cell keys: ``n_states``, ``branching``, ``method`` (uniform | on-policy), ``updates``,
    ``points`` (checkpoints, default 50), ``epsilon`` (0.1), ``termination`` (0.1). One row
    per (seed, checkpoint): ``n_states, branching, method, seed, updates, value``."""
    n, b, method = int(cell["n_states"]), int(cell["branching"]), str(cell["method"])
    updates, points = int(cell["updates"]), int(cell.get("points", 50))
    epsilon, termination = float(cell.get("epsilon", 0.1)), float(cell.get("termination", 0.1))
    every = updates // points
    x = np.arange(points + 1, dtype=np.int64) * every
    frames = []
    for seed in seeds:
        model = random_mdp_model(n, b, task_seed=int(seed), termination=termination)
        values = run_trajectory_sampling(model, method, updates, every, agent_stream(int(seed)), epsilon=epsilon)
        frames.append(
            pd.DataFrame({"n_states": n, "branching": b, "method": method, "seed": int(seed), "updates": x,
                          "value": values})
        )
    return pd.concat(frames, ignore_index=True)


def curves(table: pd.DataFrame) -> pd.DataFrame:
    """Mean, SE and count of the start value per (n_states, branching, method, updates)."""
    return mean_sem(table, ["n_states", "branching", "method", "updates"], "value")


def summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per task setting: tasks; mean start value of on-policy and uniform after 0.2 sweeps'
    worth of updates (``early`` = 0.4 n updates: ``on_early``, ``uni_early``) and at the end
    (10 sweeps: ``on_end``, ``uni_end``); and the first
    checkpoint at which uniform is at least as good as on-policy (``crossover``, in updates)."""
    rows = []
    t = table
    for (n, b), f in t.groupby(["n_states", "branching"]):
        n, b = int(n), int(b)  # type: ignore[call-overload]
        mean = {m: g.groupby("updates")["value"].mean() for m, g in f.groupby("method")}
        on, uni = mean["on-policy"], mean["uniform"]
        x = on.index.to_numpy()
        early = int(x[np.argmin(np.abs(x - 0.4 * n))])
        later = np.flatnonzero((uni.to_numpy() >= on.to_numpy()) & (x > 0))
        rows.append(
            {
                "states": n,
                "b": b,
                "tasks": int(f["seed"].nunique()),
                "early": early,
                "on_early": float(on[early]),
                "uni_early": float(uni[early]),
                "on_end": float(on.iloc[-1]),
                "uni_end": float(uni.iloc[-1]),
                "crossover": int(x[later[0]]) if len(later) else -1,
            }
        )
    return pd.DataFrame(rows)


def figure(table: pd.DataFrame, path: Path) -> Path:
    """Figure 8.8: mean start value of the greedy policy against expected updates; top, 1,000
    states (b = 1, 3, 10); bottom, 10,000 states (b = 1); solid on-policy, dashed uniform."""
    from dynaplan.plot.curves import _pyplot, save_figure

    plt = _pyplot()
    c = curves(table)
    sizes = sorted(int(n) for n in c["n_states"].unique())
    fig, axes = plt.subplots(len(sizes), 1, figsize=(7, 4 * len(sizes)), dpi=120, squeeze=False)
    colors = {1: "tab:red", 3: "tab:blue", 10: "tab:green"}
    for ax, n in zip(axes[:, 0], sizes):
        f = c[c["n_states"] == n]
        for b in sorted(int(x) for x in f["branching"].unique()):
            for method, ls in (("on-policy", "-"), ("uniform", "--")):
                g = f[(f["branching"] == b) & (f["method"] == method)].sort_values("updates")
                if g.empty:
                    continue
                color = colors.get(b)
                ax.plot(g["updates"], g["mean"], ls=ls, color=color, lw=1.5, label=f"b={b}, {method}")
                ax.fill_between(g["updates"], *normal_band(g["mean"], g["sem"]), color=color, alpha=0.15, lw=0)
        tasks = int(f["count"].max())
        ax.set_title(f"{n:,} states ({tasks} tasks)", fontsize=10)
        ax.set_xlabel("Computation time, in expected updates")
        ax.set_ylabel("Value of start state\nunder greedy policy")
        ax.grid(alpha=0.3)
        ax.legend(frameon=False, fontsize=8)
    fig.suptitle("Trajectory sampling (Sutton & Barto, Figure 8.8)", fontsize=11)
    return save_figure(fig, path)


REPRODUCTION = register_reproduction(spec_reproduction("trajectory-sampling", figure, summary))
run = REPRODUCTION.run
