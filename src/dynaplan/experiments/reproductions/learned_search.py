"""Search over a learned model on CartPole-v1: MuZero-style search through mctx with and without
subtree reuse, the same search over the true model (AlphaZero's setting), and the model-free row.

Kind ``learned-search``: one cell is one method (``method`` label, ``world``, ``steps`` real steps,
and the agent's settings, ``neural.learned_search.LearnedSearchConfig``); its seeds run batched in
one jitted program (``vmap`` over seeds, chunks of ``chunk`` steps). One row per finished episode:
``agent``, ``seed``, ``episode``, ``env_steps`` (real steps when it ended), ``return``, and
``reused`` (root visits carried over from the last search, mean per decision in the episode).

Spec ``learned-search``: 5 runs x 20,000 real steps per method; settings in the spec's comments.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dynaplan.agents.learned_search import WORLD_IDS, check_params
from dynaplan.core.params import ParamError
from dynaplan.experiments.kinds import register_kind
from dynaplan.experiments.reproductions import register_reproduction, spec_reproduction
from dynaplan.plot.curves import save_figure
from dynaplan.stats import t_half, t_interval

RUN_KEYS = {"method", "world", "steps", "chunk"}
THRESHOLD = 475.0
WINDOW = 10


def _config(cell: Mapping[str, Any]) -> Any:
    from dynaplan.neural.learned_search import LearnedSearchConfig

    return LearnedSearchConfig(**check_params({k: v for k, v in cell.items() if k not in RUN_KEYS}))


def check_cell(cell: Mapping[str, Any]) -> None:
    """Validate a ``learned-search`` cell (``ParamError`` naming the key)."""
    if cell.get("world") not in WORLD_IDS:
        raise ParamError("world", f"world: unknown world {cell.get('world')!r} (one of {', '.join(WORLD_IDS)})")
    for key in ("steps", "chunk"):
        v = cell.get(key)
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ParamError(key, f"{key} must be an integer >= 1, got {v!r}")
    check_params({k: v for k, v in cell.items() if k not in RUN_KEYS})


@register_kind("learned-search", check=check_cell)
def run_cell(cell: Mapping[str, Any], seeds: Sequence[int]) -> pd.DataFrame:
    """The cell's seeds, batched: one row per finished episode."""
    import jax

    from dynaplan.neural.learned_search import WORLDS, init_state, run_steps

    world = WORLDS[str(cell["world"])]()
    cfg = _config(cell)
    steps, chunk = int(cell["steps"]), int(cell["chunk"])
    keys = jax.numpy.stack([jax.random.PRNGKey(int(s)) for s in seeds])
    state = jax.vmap(lambda k: init_state(k, world, cfg))(keys)
    ended, returns, reused = [], [], []
    done = 0
    while done < steps:
        n = min(chunk, steps - done)
        state, rec = run_steps(state, world, cfg, n)
        ended.append(np.asarray(rec.ended))
        returns.append(np.asarray(rec.episode_return))
        reused.append(np.asarray(rec.reused))
        done += n
    ended_a, returns_a, reused_a = (np.concatenate(x, axis=1) for x in (ended, returns, reused))
    rows = []
    for i, seed in enumerate(seeds):
        ends = np.flatnonzero(ended_a[i])
        starts = np.concatenate([[0], ends[:-1] + 1])
        for episode, (a, b) in enumerate(zip(starts, ends), start=1):
            rows.append({"agent": str(cell["method"]), "seed": int(seed), "episode": episode, "env_steps": int(b) + 1,
                         "return": float(returns_a[i, b]), "reused": float(reused_a[i, a:b + 1].mean())})
    return pd.DataFrame(rows).astype({"seed": "int64", "episode": "int64", "env_steps": "int64"})


def steps_to_threshold(run: pd.DataFrame) -> float:
    """Real steps at the end of the first window of ``WINDOW`` consecutive episodes whose mean
    return is at least ``THRESHOLD`` (nan if never)."""
    r = run.sort_values("episode")
    means = r["return"].rolling(WINDOW).mean().to_numpy()
    hit = np.flatnonzero(means >= THRESHOLD)
    return float(r.env_steps.to_numpy()[hit[0]]) if hit.size else float("nan")


def summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per method, runs as the unit: runs reaching a mean return of 475 over 10 consecutive
    episodes, the real steps that took (mean over the runs that did), the mean return of each
    run's last 10 episodes (95% t-interval), and the mean root visits reused per decision."""
    rows = []
    for method, g in table.groupby("agent", sort=False):
        runs = [r for _, r in g.groupby("seed")]
        hit = np.array([steps_to_threshold(r) for r in runs])
        last = np.array([r.sort_values("episode")["return"].tail(WINDOW).mean() for r in runs])
        mean, half, n = t_interval(last)
        reached = np.isfinite(hit)
        rows.append({"method": method, "runs": n, "reached 475": f"{int(reached.sum())}/{n}",
                     "steps to 475": round(float(np.mean(hit[reached])), 0) if reached.any() else float("nan"),
                     "last 10 return": round(mean, 1), "ci95": round(half, 1),
                     "reused visits": round(float(g.reused.mean()), 1)})
    return pd.DataFrame(rows)


def figure(table: pd.DataFrame, path: Path, bin_steps: int = 1000) -> Path:
    """Return per episode against real steps (binned), mean over runs with a 95% t-band."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=120)
    t = table.assign(bin=(table.env_steps - 1) // bin_steps * bin_steps + bin_steps)
    for method, g in t.groupby("agent", sort=False):
        per_run = g.groupby(["bin", "seed"])["return"].mean().reset_index()
        agg = per_run.groupby("bin")["return"].agg(["mean", "std", "count"]).reset_index()
        half = t_half(agg["std"].fillna(0), agg["count"])
        (line,) = ax.plot(agg["bin"], agg["mean"], label=str(method), lw=1.6)
        ax.fill_between(agg["bin"], agg["mean"] - half, agg["mean"] + half, color=line.get_color(), alpha=0.2, lw=0)
    ax.axhline(THRESHOLD, color="gray", ls="--", lw=1)
    n_runs = table.groupby("agent").seed.nunique().min()
    ax.set(xlabel="real steps", ylabel="return per episode", ylim=(0, 520),
           title=f"CartPole-v1: search over a learned model ({n_runs} runs, mean and 95% interval)")
    ax.grid(alpha=0.3)
    ax.legend(frameon=False, fontsize=8)
    return save_figure(fig, path)


REPRODUCTION = register_reproduction(spec_reproduction("learned-search", figure, summary))
run = REPRODUCTION.run
