"""Figure 10.2 (Sutton & Barto, section 10.1): semi-gradient Sarsa on Mountain Car; and, beside
it, Sarsa(lambda) against linear Dyna-Q and linear prioritized sweeping (Sutton, Szepesvari,
Geramifard & Bowling 2008) at n = 0, 5, 50 planning steps per real step.

Kind ``linear-episodes``: an agent of the linear family (``AGENTS``) on a compiled world
(``env``: a Gymnasium id the batched runner steps) through a ``TileCoder`` (``tilings``,
``tiles_per_dim``, ``size``, ``low``, ``high``), for ``episodes`` episodes, an episode cut at
``max_episode_steps`` (0 = never). One row per (seed, episode): ``method, agent, seed, episode,
steps, return``, plus per run ``updates`` (value updates, direct + planning), ``real_steps``
and ``seconds`` (the run's compute time), from which the summary reports the computation per
real step.

Spec ``mountain-car`` (Figure 10.2): 100 runs x 500 episodes of Sarsa, 8 tilings of 8 x 8 tiles
(tiles3 scaling, as the book's code: position over [-1.2, 0.5], velocity over [-0.07, 0.07]),
``alpha = 0.1/8, 0.2/8, 0.5/8``, ``epsilon = 0``, ``Q0 = 0``, ``gamma = 1``. Gymnasium's
``MountainCar-v0`` dynamics (bit-identical) *without* its 200-step limit: the cap is 100,000
steps, far above the longest first episode (the summary counts episodes that hit it: with
epsilon = 0 an episode can stall at the bottom of the valley and never end, 5 runs in 2,000 at
alpha = 0.2/8). ``float32_obs = false`` (a run key): the agent tiles the float64 state as the
book's reference code does, not Gymnasium's float32 observation; the episodes are then the
reference code's given the same random draws (``tests/test_linear.py``,
``benchmarks/linear.py --exact``). Over 100 reference runs, the mean steps per episode agree with
ours within 0.2% at every step size, and over 300 runs at 0.2/8 within 0.14%
(docs/reproductions/beyond-tables.md, "What was measured").
Spec ``mountain-car-planning``: 10 runs x 50 episodes, the same features, cap 10,000, ``epsilon = 0``;
Sarsa(lambda = 0.9, alpha = 0.5/8) and linear Dyna-Q / linear PS (``alpha = 0.5/8``, LMS
model step ``beta = 0.1/8``, planning from visited feature vectors for Dyna-Q; PS's model
``"substochastic"``, with which its single-feature backups cannot diverge) at n = 0, 5, 50.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dynaplan.agents.base import ParamError
from dynaplan.experiments.kinds import checked_of, register_kind
from dynaplan.experiments.reproductions import register_reproduction, spec_reproduction
from dynaplan.plot.curves import mean_sem

RUN_KEYS = {
    "method", "agent", "env", "episodes", "max_episode_steps", "tilings", "tiles_per_dim", "size", "low", "high",
    "float32_obs",
}


def _split(cell: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    return {k: v for k, v in cell.items() if k in RUN_KEYS}, {k: v for k, v in cell.items() if k not in RUN_KEYS}


def check_cell(cell: Mapping[str, Any]) -> dict[str, Any]:
    """Validate a ``linear-episodes`` cell (``ParamError`` naming the key); returns the agent's
    checked parameters (carried to the workers with the cell)."""
    from dynaplan.agents import AGENTS
    from dynaplan.core.agent import family_agents
    from dynaplan.envs.continuous import CONTINUOUS_WORLDS

    run, params = _split(cell)
    linear = family_agents("linear")
    for key in ("agent", "env", "episodes"):
        if key not in run:
            raise ParamError(key, f"{key}: missing (kind linear-episodes needs agent, env, episodes)")
    if run["agent"] not in linear:
        raise ParamError("agent", f"agent: unknown linear agent {run['agent']!r} (one of {', '.join(linear)})")
    if run["env"] not in CONTINUOUS_WORLDS:
        raise ParamError("env",
                         f"env: {run['env']!r} is not stepped in compiled code (one of {', '.join(CONTINUOUS_WORLDS)})")
    if "float32_obs" in run:
        if not isinstance(run["float32_obs"], bool):
            raise ParamError("float32_obs", f"float32_obs must be true or false, got {run['float32_obs']!r}")
        if "float32_obs" not in getattr(CONTINUOUS_WORLDS[run["env"]], "_fields", ()):
            raise ParamError("float32_obs",
                             f"float32_obs: {run['env']} has no float64-observation variant (only MountainCar-v0)")
    for key in ("episodes", "max_episode_steps"):
        v = run.get(key, 0)
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < (1 if key == "episodes" else 0):
            raise ParamError(key, f"{key} must be an integer >= {1 if key == 'episodes' else 0}, got {v!r}")
    try:
        _features(run)
    except ValueError as exc:
        raise ValueError(f"tilings/tiles_per_dim/size/low/high: {exc}") from None
    except TypeError:
        raise ParamError("low", "low: low and high must be lists of numbers") from None
    return AGENTS[run["agent"]].check_params(params)  # ParamError naming the agent's key


def _features(run: Mapping[str, Any]) -> Any:
    from dynaplan.features import TileCoder

    return TileCoder(
        run.get("low", [-1.2, -0.07]), run.get("high", [0.5, 0.07]), tilings=run.get("tilings", 8),
        tiles_per_dim=run.get("tiles_per_dim", 8), size=run.get("size", 1024),
    )


@register_kind("linear-episodes", check=check_cell)
def run_kind(cell: Mapping[str, Any], seeds: Sequence[int]) -> pd.DataFrame:
    """A linear agent on a compiled continuous world, tile-coded: one row per (seed, episode)."""
    from dynaplan.agents import AGENTS
    from dynaplan.experiments.batch import problem_of, run_agent

    params = checked_of(cell) or check_cell(cell)
    run, _ = _split(cell)
    cls = AGENTS[run["agent"]]
    problem = problem_of(run["env"], _features(run), max_episode_steps=int(run.get("max_episode_steps", 0)))
    if "float32_obs" in run:
        problem = problem._replace(world=problem.world._replace(float32_obs=run["float32_obs"]))
    run_agent(cls, params, problem, 0, steps=1)  # compile / load the kernels outside the timing
    frames = []
    for seed in seeds:
        t0 = time.process_time()
        r = run_agent(cls, params, problem, int(seed), episodes=int(run["episodes"]))
        seconds = time.process_time() - t0
        updates = int(r.agent.updates[0]) if hasattr(r.agent, "updates") else int(r.total_steps)
        n = len(r.episode_steps)
        frames.append(pd.DataFrame({
            "method": str(run.get("method", run["agent"])), "agent": run["agent"],
            "seed": np.full(n, int(seed), dtype=np.int64), "episode": np.arange(1, n + 1),
            "steps": r.episode_steps, "return": r.episode_returns,
            "capped": r.episode_steps >= int(run.get("max_episode_steps", 0) or np.iinfo(np.int64).max),
            "updates": updates, "real_steps": int(r.total_steps), "seconds": seconds,
        }))
    return pd.concat(frames, ignore_index=True)


def mean_curves(table: pd.DataFrame) -> pd.DataFrame:
    """Mean, standard error and run count of steps per (method, episode); runs are the unit."""
    return mean_sem(table, ["method", "episode"], "steps")


def _ci(x: np.ndarray) -> tuple[float, float]:
    m = float(np.mean(x))
    half = 1.96 * float(np.std(x, ddof=1)) / np.sqrt(len(x)) if len(x) > 1 else float("nan")
    return m, half


def summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per method: runs; mean steps (95% interval over runs) in episode 1, episodes 1-10 and the
    last 50 (or last tenth); episodes that hit the cap; value updates and CPU microseconds per real step."""
    rows = []
    last_ep = int(table["episode"].max())
    tail = max(1, min(50, last_ep // 10))
    for method, t in table.groupby("method", sort=False):
        per_run = t.groupby("seed")
        first = per_run.apply(lambda f: f.loc[f.episode == 1, "steps"].mean()).to_numpy()
        early = per_run.apply(lambda f: f.loc[f.episode <= 10, "steps"].mean()).to_numpy()
        late = per_run.apply(lambda f: f.loc[f.episode > last_ep - tail, "steps"].mean()).to_numpy()
        runs = per_run.first()
        m1, h1 = _ci(first)
        m10, h10 = _ci(early)
        ml, hl = _ci(late)
        rows.append({
            "method": method, "runs": len(runs),
            "episode_1": f"{m1:.0f} ± {h1:.0f}", "episodes_1_10": f"{m10:.0f} ± {h10:.0f}",
            f"last_{tail}": f"{ml:.1f} ± {hl:.1f}",
            "capped_episodes": int(t["capped"].sum()),
            "updates_per_step": float((runs["updates"] / runs["real_steps"]).mean()),
            "us_per_step": float((runs["seconds"] / runs["real_steps"]).mean() * 1e6),
        })
    return pd.DataFrame(rows)


def steps_figure(table: pd.DataFrame, path: Path, title: str) -> Path:
    """Mean steps per episode (log scale), 95% bands over runs, one line per method."""
    from dynaplan.plot.curves import line_with_band

    curves = mean_curves(table)
    series = {str(m): c for m, c in curves.groupby("method", sort=False)}
    runs = int(table.groupby("method")["seed"].nunique().min())
    return line_with_band(
        series, x="episode", path=path, xlabel="Episode",
        ylabel=f"Steps per episode (log scale, mean of {runs} runs)", title=title, logy=True,
    )


def figure(table: pd.DataFrame, path: Path) -> Path:
    """Figure 10.2: :func:`steps_figure` of Sarsa with 8 tilings at three step sizes."""
    return steps_figure(table, path, "Mountain Car, 8 tilings (Sutton & Barto, Figure 10.2)")


def planning_figure(table: pd.DataFrame, path: Path) -> Path:
    """:func:`steps_figure` of Sarsa(lambda) against the linear planners."""
    return steps_figure(table, path, "Mountain Car: Sarsa(lambda) vs linear Dyna-Q and linear PS")


REPRODUCTION = register_reproduction(spec_reproduction("mountain-car", figure, summary))
PLANNING = register_reproduction(spec_reproduction("mountain-car-planning", planning_figure, summary))
run = REPRODUCTION.run
