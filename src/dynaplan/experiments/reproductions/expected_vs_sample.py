"""Section 8.5, Figure 8.7: expected versus sample updates.

Kind ``expected-vs-sample``: for a branching factor ``b`` and a seed, ``runs`` simulations of
sample averaging over ``b`` equally likely successors (``planning.expected_sample``); one row
per plotted number of computations ``t`` with the sums of squared and fourth-power errors, so
batches from any number of seeds and workers add up exactly. The figure and the summary pool
the seeds: RMS error ``sqrt(sum_sq / runs)`` against ``t / b``, over the analytic curve
``sqrt((b - 1) / (b t))``, and the expected update's step from 1 to 0 at ``t = b``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dynaplan.agents.base import ParamError
from dynaplan.experiments.kinds import register_kind
from dynaplan.experiments.reproductions import register_reproduction, spec_reproduction
from dynaplan.planning.expected_sample import analytic_rms, plot_points, sample_update_errors
from dynaplan.rng import agent_stream

CELL_KEYS = {"b", "runs"}


def _positive_int(cell: Mapping[str, Any], key: str, low: int) -> int:
    value = cell.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ParamError(key, f"{key} must be an integer >= {low}, got {value!r}")
    return int(value)


def check_cell(cell: Mapping[str, Any]) -> None:
    """Validate a cell of kind ``expected-vs-sample`` (``ParamError`` naming the key)."""
    for key in cell:
        if key not in CELL_KEYS:
            raise ParamError(key, f"{key}: unknown key for kind expected-vs-sample (keys: b, runs)")
    _positive_int(cell, "b", 2)
    _positive_int(cell, "runs", 2)


@register_kind("expected-vs-sample", check=check_cell)
def run_kind(cell: Mapping[str, Any], seeds: Sequence[int]) -> pd.DataFrame:
    """Cell keys ``b`` (>= 2) and ``runs`` (simulations per seed). One row per (seed, t):
    ``b, seed, t, runs, sum_sq, sum_4th`` at the plotted points ``t`` (1 to 2b)."""
    b, runs = int(cell["b"]), int(cell["runs"])
    t = plot_points(b)
    frames = []
    for seed in seeds:
        sum_sq, sum_4th = sample_update_errors(b, int(t[-1]), runs, agent_stream(int(seed)))
        frames.append(
            pd.DataFrame(
                {"b": b, "seed": int(seed), "t": t, "runs": runs, "sum_sq": sum_sq[t - 1], "sum_4th": sum_4th[t - 1]}
            )
        )
    return pd.concat(frames, ignore_index=True)


def curves(table: pd.DataFrame) -> pd.DataFrame:
    """Pooled over seeds, per (b, t): runs, rms, its standard error, analytic, relative deviation."""
    g = table.groupby(["b", "t"], as_index=False)[["runs", "sum_sq", "sum_4th"]].sum()
    ms = g["sum_sq"] / g["runs"]
    var_sq = np.maximum(g["sum_4th"] / g["runs"] - ms**2, 0.0)
    g["rms"] = np.sqrt(ms)
    g["se"] = np.sqrt(var_sq / g["runs"]) / (2 * g["rms"])
    g["analytic"] = [float(analytic_rms(int(b), np.array([t]))[0]) for b, t in zip(g["b"], g["t"])]
    g["rel_dev"] = g["rms"] / g["analytic"] - 1.0
    return g[["b", "t", "runs", "rms", "se", "analytic", "rel_dev"]]


def summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per b: runs, simulated (``rms_``) and analytic (``exact_``) RMS error after about b/10
    and after b sample updates (an expected update has error 1 until b computations, 0 after),
    the largest relative deviation from the analytic curve over the plotted points and the
    largest relative standard error, in percent."""
    c = curves(table)
    rows = []
    for b in sorted(int(x) for x in c["b"].unique()):
        f = c[c["b"] == b]
        t = f["t"].to_numpy()
        rms, exact = f["rms"].to_numpy(), f["analytic"].to_numpy()
        i = int(np.argmin(np.abs(t - b / 10)))
        j = int(np.flatnonzero(t == b)[0])
        rows.append(
            {
                "b": b,
                "runs": int(f["runs"].to_numpy()[0]),
                "t_b/10": int(t[i]),
                "rms_b/10": float(rms[i]),
                "exact_b/10": float(exact[i]),
                "rms_b": float(rms[j]),
                "exact_b": float(exact[j]),
                "max_dev_%": float(100 * np.abs(f["rel_dev"].to_numpy()).max()),
                "max_se_%": float(100 * (f["se"].to_numpy() / rms).max()),
            }
        )
    return pd.DataFrame(rows)


def figure(table: pd.DataFrame, path: Path) -> Path:
    """Figure 8.7: RMS error against computations (in units of b), one line per b (simulated,
    solid with markers) over the analytic curve (dotted), and the expected update (black step)."""
    from dynaplan.plot.curves import _pyplot, save_figure

    plt = _pyplot()
    c = curves(table)
    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=120)
    ax.plot([0, 1, 1, 2], [1, 1, 0, 0], color="black", lw=1.8, label="expected update (any b)")
    for b in sorted(int(x) for x in c["b"].unique()):
        f = c[c["b"] == b]
        x = np.concatenate([[0.0], f["t"].to_numpy() / b])
        y = np.concatenate([[1.0], f["rms"].to_numpy()])
        (line,) = ax.plot(x, y, lw=1.4, marker=".", ms=3, label=f"sample updates, b = {b:,}")
        fine = np.linspace(1.0, 2.0 * b, 400)
        ax.plot(fine / b, analytic_rms(b, fine), ls=":", color=line.get_color(), lw=1)
    ax.set_xlabel("Number of max Q(s', a') computations (in units of b)")
    ax.set_ylabel("RMS error in value estimate")
    ax.set_xticks([0, 1, 2], ["0", "1b", "2b"])
    ax.set_ylim(0, 1.05)
    ax.set_title("Expected vs sample updates (Sutton & Barto, Figure 8.7); dotted: sqrt((b-1)/(bt))", fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(frameon=False, fontsize=8)
    return save_figure(fig, path)


REPRODUCTION = register_reproduction(spec_reproduction("expected-vs-sample", figure, summary))
run = REPRODUCTION.run
