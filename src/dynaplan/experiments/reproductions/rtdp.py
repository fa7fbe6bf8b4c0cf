"""Section 8.7: real-time dynamic programming against DP on the racetrack (the book's table).

Kind ``rtdp``: on ``Racetrack-v0`` (our reconstruction of the track of Figure 5.5, left, with
Exercise 5.12's rules and ``noise``), for each seed

* ``method = "dp"``: Gauss-Seidel value iteration (values from 0) over the states reachable
  from the starts, in an order drawn from the seed, one sweep at a time until the largest
  change in a sweep is below ``tol``; one row per sweep;
* ``method = "rtdp"``: RTDP (``planning.rtdp``, agent stream ``agent_stream(seed)``), values from
  0, until ``window`` consecutive episodes change no value by ``tol`` or more; one row per
  ``check_every`` episodes.

Every row has the exact expected number of steps to cross the finish line (mean over the
starting line) of the greedy policy of the current values (ties broken at random, as RTDP
acts), and the shares of reachable states
updated at most 100 times, at most 10 times, and never. The summary reads RTDP's convergence
the way the book does ("the average time to cross the finish line stabilized"), exactly: the
first check after which the greedy policy's expected steps stay within ``within`` of their
final value.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dynaplan.agents.base import ParamError
from dynaplan.envs.racetrack import racetrack_model
from dynaplan.experiments.kinds import register_kind
from dynaplan.experiments.reproductions import register_reproduction, spec_reproduction
from dynaplan.planning.rtdp import (
    expected_steps,
    gauss_seidel_sweep,
    gauss_seidel_vi,
    greedy_ties,
    reachable_states,
    relevant_states,
    rtdp_trace,
    stabilized_at,
)
from dynaplan.rng import agent_stream

CELL_KEYS = {"method", "noise", "tol", "window", "check_every", "within", "max_episodes"}
METHODS = ("dp", "rtdp")

#: The book's table (section 8.7), for comparison in the summary.
BOOK = {
    "computation": ("28 sweeps", "4000 episodes"),
    "updates": ("252,784", "127,600"),
    "updates_per_episode": ("", "31.9"),
    "le_100": ("", "98.45"),
    "le_10": ("", "80.51"),
    "never": ("", "3.18"),
    "steps": ("14-15", "14-15"),
    "reachable": ("9,115", "9,115"),
    "relevant": ("599", "599"),
}


def _num(cell: Mapping[str, Any], key: str, default: float, low: float, high: float, integer: bool = False) -> float:
    value = cell.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ParamError(key, f"{key} must be a number, got {value!r}")
    if integer and int(value) != value:
        raise ParamError(key, f"{key} must be an integer, got {value!r}")
    if not low <= value <= high:
        raise ParamError(key, f"{key} must be in [{low}, {high}], got {value!r}")
    return float(value)


def check_cell(cell: Mapping[str, Any]) -> None:
    """Validate a cell of kind ``rtdp`` (``ParamError`` naming the key)."""
    for key in cell:
        if key not in CELL_KEYS:
            raise ParamError(key, f"{key}: unknown key for kind rtdp (keys: {', '.join(sorted(CELL_KEYS))})")
    if cell.get("method") not in METHODS:
        raise ParamError("method", f"method must be one of {', '.join(METHODS)}, got {cell.get('method')!r}")
    _num(cell, "noise", 0.1, 0.0, 0.99)
    if _num(cell, "tol", 1e-4, 0.0, 1.0) <= 0:
        raise ParamError("tol", "tol must be > 0")
    _num(cell, "window", 20, 1, 1e6, integer=True)
    _num(cell, "check_every", 20, 1, 1e6, integer=True)
    _num(cell, "within", 0.02, 0.0, 1.0)
    _num(cell, "max_episodes", 1_000_000, 1, 1e9, integer=True)


def _shares(counts: np.ndarray) -> tuple[float, float, float]:
    return float((counts <= 100).mean()), float((counts <= 10).mean()), float((counts == 0).mean())


@register_kind("rtdp", check=check_cell)
def run_kind(cell: Mapping[str, Any], seeds: Sequence[int]) -> pd.DataFrame:
    """Cell keys: ``method`` (dp | rtdp), ``noise`` (0.1), ``tol`` (1e-4), ``window`` (20),
    ``check_every`` (20), ``within`` (0.02, used by the summary), ``max_episodes``. Rows:
    ``method, seed, check, sweeps, episodes, updates, policy_steps, max_change, le_100, le_10,
    never, final, converged, reachable, relevant, optimal_steps, within``."""
    method = str(cell["method"])
    noise, tol = float(cell.get("noise", 0.1)), float(cell.get("tol", 1e-4))
    window, every = int(cell.get("window", 20)), int(cell.get("check_every", 20))
    max_episodes = int(cell.get("max_episodes", 1_000_000))
    rm = racetrack_model(noise=noise)
    m = rm.model
    reach = reachable_states(m)
    v_star = gauss_seidel_vi(m, reach, tol=1e-12).v
    n_relevant = len(relevant_states(m, v_star, 1.0, 1e-9))
    optimal = float(-(v_star @ m.start))
    common = {"reachable": len(reach), "relevant": n_relevant, "optimal_steps": optimal,
              "within": float(cell.get("within", 0.02))}

    starts = m.start > 0

    def policy_steps(v: np.ndarray) -> float:
        return float(expected_steps(m, greedy_ties(m, v, 1.0))[starts] @ m.start[starts])

    rows: list[dict[str, Any]] = []
    for seed in seeds:
        if method == "dp":
            order = np.random.default_rng(np.random.SeedSequence(int(seed))).permutation(reach)
            v = np.zeros(m.n_states)
            sweeps = 0
            delta = np.inf
            while delta >= tol and sweeps < 100_000:
                delta = gauss_seidel_sweep(m, order, v, 1.0)
                sweeps += 1
                rows.append({"method": method, "seed": int(seed), "check": sweeps, "sweeps": sweeps, "episodes": 0,
                             "updates": sweeps * len(reach), "policy_steps": policy_steps(v), "max_change": delta,
                             **dict(zip(("le_100", "le_10", "never"), _shares(np.full(len(reach), sweeps)))),
                             "final": False, "converged": bool(delta < tol), **common})
            rows[-1]["final"] = True
        else:
            trace = rtdp_trace(m, agent_stream(int(seed)), reach, check_every=every, tol=tol, window=window,
                               max_episodes=max_episodes)
            for i in range(len(trace.episodes)):
                rows.append({"method": method, "seed": int(seed), "check": i + 1, "sweeps": 0,
                             "episodes": int(trace.episodes[i]), "updates": int(trace.updates[i]),
                             "policy_steps": float(trace.policy_steps[i]), "max_change": np.nan,
                             "le_100": float(trace.le_100[i]), "le_10": float(trace.le_10[i]),
                             "never": float(trace.never[i]), "final": i == len(trace.episodes) - 1,
                             "converged": trace.result.converged, **common})
    return pd.DataFrame(rows)


def converged_rows(table: pd.DataFrame) -> pd.DataFrame:
    """One row per (method, seed) at convergence: DP's last sweep; RTDP's first check after
    which the greedy policy's expected steps stay within ``within`` of their final value."""
    picks = []
    for (method, _seed), f in table.groupby(["method", "seed"]):
        f = f.sort_values("check")
        if method == "dp":
            picks.append(f.iloc[-1])
        else:
            k = stabilized_at(f["policy_steps"].to_numpy(), float(f["within"].iloc[0]))
            picks.append(f.iloc[k])
    return pd.DataFrame(picks).reset_index(drop=True)


def summary(table: pd.DataFrame) -> pd.DataFrame:
    """The book's table (section 8.7), ours beside the book's: averages over seeds at
    convergence, shares of reachable states by number of updates, and policy quality (exact
    expected steps to cross the finish line from the starting line, mean over its cells).
    Shares are of the states reachable from the starts; relevant states are those reachable
    when following any optimal action. ``RTDP strict``: at the end of the runs, when
    ``window`` episodes in a row changed no value by ``tol`` or more (our stricter stop)."""
    conv = converged_rows(table)
    final = table[table["final"].astype(bool)]
    dp = conv[conv["method"] == "dp"]
    rt = conv[conv["method"] == "rtdp"]
    rt_end = final[final["method"] == "rtdp"]

    def fmt(x: float, digits: int = 0) -> str:
        return f"{x:,.{digits}f}" if np.isfinite(x) else "inf"

    def col(f: pd.DataFrame, is_dp: bool) -> dict[str, str]:
        if f.empty:
            return dict.fromkeys(BOOK, "")
        upd = float(f["updates"].mean())
        eps = float(f["episodes"].mean())
        return {
            "computation": f"{fmt(float(f['sweeps'].mean()), 1)} sweeps" if is_dp else f"{fmt(eps)} episodes",
            "updates": fmt(upd),
            "updates_per_episode": "" if is_dp else fmt(upd / eps, 1),
            "le_100": "" if is_dp else fmt(100 * float(f["le_100"].mean()), 2),
            "le_10": "" if is_dp else fmt(100 * float(f["le_10"].mean()), 2),
            "never": "" if is_dp else fmt(100 * float(f["never"].mean()), 2),
            "steps": fmt(float(f["policy_steps"].mean()), 2),
            "reachable": fmt(float(f["reachable"].iloc[0])),
            "relevant": fmt(float(f["relevant"].iloc[0])),
        }

    labels = {
        "computation": "computation to convergence",
        "updates": "updates to convergence",
        "updates_per_episode": "updates per episode",
        "le_100": "% updated <= 100 times",
        "le_10": "% updated <= 10 times",
        "never": "% never updated",
        "steps": "steps to finish (greedy)",
        "reachable": "reachable states",
        "relevant": "relevant states",
    }
    ours_dp, ours_rt, ours_end = col(dp, True), col(rt, False), col(rt_end, False)
    optimal = float(table["optimal_steps"].iloc[0]) if len(table) else np.nan
    out = pd.DataFrame(
        {
            "quantity": [*labels.values(), "optimal expected steps"],
            "DP": [*[ours_dp[k] for k in labels], fmt(optimal, 2)],
            "RTDP": [*[ours_rt[k] for k in labels], ""],
            "RTDP strict": [*[ours_end[k] for k in labels], ""],
            "book DP": [*[BOOK[k][0] for k in labels], ""],
            "book RTDP": [*[BOOK[k][1] for k in labels], ""],
        }
    )
    return out


def figure(table: pd.DataFrame, path: Path) -> Path:
    """Expected steps to cross the finish line of the greedy policy against updates: DP (one
    line per sweep order) and RTDP (one line per run), convergence points marked."""
    from dynaplan.plot.curves import _pyplot, save_figure

    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=120)
    conv = converged_rows(table)
    styles = {"dp": ("tab:blue", "DP (Gauss-Seidel sweeps)"), "rtdp": ("tab:orange", "RTDP")}
    cap = 60.0
    for method, (color, label) in styles.items():
        f = table[table["method"] == method]
        for i, seed in enumerate(sorted(f["seed"].unique())):
            g = f[f["seed"] == seed].sort_values("check")
            y = np.minimum(g["policy_steps"].to_numpy(dtype=np.float64), cap)
            ax.plot(g["updates"], y, color=color, lw=0.7, alpha=0.5, label=label if i == 0 else None)
        c = conv[conv["method"] == method]
        ax.scatter(c["updates"], np.minimum(c["policy_steps"].to_numpy(dtype=np.float64), cap), color=color,
                   edgecolor="black", s=18, zorder=3, label=f"{label}: converged")
    if len(table):
        ax.axhline(float(table["optimal_steps"].iloc[0]), color="gray", ls="--", lw=1, label="optimal")
    ax.set_ylim(10, cap + 1)
    ax.set_xlabel("Updates")
    ax.set_ylabel(f"Expected steps to finish, greedy policy (capped at {cap:.0f})")
    ax.set_title("RTDP vs DP on the racetrack (Sutton & Barto, section 8.7)", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(frameon=False, fontsize=8)
    return save_figure(fig, path)


REPRODUCTION = register_reproduction(spec_reproduction("rtdp", figure, summary))
run = REPRODUCTION.run
