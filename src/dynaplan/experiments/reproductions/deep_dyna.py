"""The deep Figure 8.2: model-free against model-based at several planning ratios, neural networks.

Pendulum-v1 (continuous): SAC (one update per real step, the n = 0 row) against MBPO with G = 5
and G = 20 SAC updates per real step on a mix of model and real data (Janner et al. 2019).
CartPole-v1 (discrete): DQN (n = 0) against Dyna-DQN with n = 5 and 50 planning updates per real
step on transitions of a learned model (Sutton & Barto section 8.2 with networks).

Runs are the unit: every seed of a cell runs in one vmapped program (``dynaplan.neural.runner``)
and gives one row per finished episode: ``agent, planning, seed, episode, env_steps, return,
updates, model_steps, seconds_per_step`` (the wall seconds of one lockstep real step of all
seeds of the cell divided by the number of seeds; the machine and its load are not recorded).
The summary reports, per cell, the real steps and episodes until a run first reaches the
threshold (Pendulum: a trailing mean of ``window`` = 5 episode returns >= -300; CartPole: one
episode >= 475), with 95% t-intervals over runs; runs that never reach it are counted at their
budget and reported (``reached``). The spec is ``experiments/specs/deep-dyna.toml``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dynaplan.core.params import ParamError
from dynaplan.experiments.kinds import register_kind
from dynaplan.experiments.reproductions import register_reproduction, spec_reproduction
from dynaplan.stats import t_half, t_interval

AGENTS = ("sac", "mbpo", "dqn", "dyna-dqn")
LABELS = {"sac": "SAC", "mbpo": "MBPO", "dqn": "DQN", "dyna-dqn": "Dyna-DQN"}
RUN_KEYS = {"env", "agent", "planning", "steps", "threshold", "window"}


def _agent_class(name: str) -> Any:
    """The registered agent (``dynaplan.agents.deep_dyna``): its parameter checks and its
    ``neural`` implementation."""
    from dynaplan.agents import AGENTS

    return AGENTS[name]


def _agent_params(cell: Mapping[str, Any]) -> dict[str, Any]:
    """The cell's agent parameters; ``planning`` is SAC's / MBPO's ``updates_per_step`` and the
    DQNs' ``planning_steps``."""
    params = {k: v for k, v in cell.items() if k not in RUN_KEYS}
    key = "planning_steps" if cell["agent"] in ("dqn", "dyna-dqn") else "updates_per_step"
    params[key] = cell["planning"]
    return params


def check_deep_dyna(cell: Mapping[str, Any]) -> None:
    """A cell: ``env`` (a Gymnasium id), ``agent`` (sac, mbpo, dqn, dyna-dqn), ``planning``
    (updates per real step for sac / mbpo, planning updates for the DQNs; 0 for dqn), ``steps``
    (real steps per run), ``threshold`` and ``window`` (the summary's), and agent parameters."""
    from dynaplan.core.params import check_int_in, check_real_in

    for key in ("env", "agent", "planning", "steps", "threshold", "window"):
        if key not in cell:
            raise ParamError(key, f"{key} is required")
    if cell["agent"] not in AGENTS:
        raise ParamError("agent", f"agent must be one of {', '.join(AGENTS)}, got {cell['agent']!r}")
    check_int_in("steps", cell["steps"], 1, 10**7)
    check_int_in("window", cell["window"], 1, 10_000)
    check_real_in("threshold", cell["threshold"], -1e9, 1e9)
    if cell["agent"] == "dqn" and cell["planning"] != 0:
        raise ParamError("planning", f"planning must be 0 for dqn (use dyna-dqn to plan), got {cell['planning']!r}")
    cls = _agent_class(cell["agent"])
    cls.check_params(_agent_params(cell))
    try:
        cls.problem_of(cell["env"])
    except Exception as err:  # gymnasium raises several types for an unknown or broken id
        raise ParamError("env", f"env {cell['env']!r} cannot be run by {cell['agent']}: "
                         f"{str(err).splitlines()[0]}") from None


@register_kind("deep-dyna", check=check_deep_dyna)
def run_deep_dyna(cell: Mapping[str, Any], seeds: Sequence[int]) -> pd.DataFrame:
    """All ``seeds`` of the cell in one vmapped run (module docstring); one row per episode."""
    from dynaplan.neural.runner import run_seeds

    cls = _agent_class(cell["agent"])
    rows, seconds = run_seeds(cls.implementation(), cell["env"], list(seeds), int(cell["steps"]),
                              cls.check_params(_agent_params(cell)))
    rows.insert(0, "agent", cell["agent"])
    rows.insert(1, "planning", int(cell["planning"]))
    rows["seconds_per_step"] = seconds / int(cell["steps"]) / len(seeds)
    rows["seed"] = rows["seed"].astype(np.int64)
    return rows


def first_reach(run: pd.DataFrame, threshold: float, window: int) -> tuple[int, int, bool]:
    """(real steps, episodes) at the end of the first episode where the trailing mean of
    ``window`` returns is >= ``threshold``; the run's last episode and False if never."""
    run = run.sort_values("episode")
    trailing = run["return"].rolling(window, min_periods=window).mean().to_numpy()
    hit = np.flatnonzero(trailing >= threshold)
    if hit.size == 0:
        return int(run["env_steps"].iloc[-1]), int(run["episode"].iloc[-1]), False
    i = int(hit[0])
    return int(run["env_steps"].iloc[i]), int(run["episode"].iloc[i]), True


def summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per (env, agent, planning): runs, how many reached the threshold, real steps and episodes
    to it (mean +- 95% half-width), the mean return of the last 5 episodes, updates and
    model steps per real step, wall milliseconds per real step per run."""
    rows = []
    for (env, agent, planning), g in table.groupby(["env", "agent", "planning"], sort=False):
        threshold, window = float(g["threshold"].iloc[0]), int(g["window"].iloc[0])
        reach = [first_reach(r, threshold, window) for _, r in g.groupby("seed")]
        steps = np.array([r[0] for r in reach], float)
        episodes = np.array([r[1] for r in reach], float)
        s_mean, s_half, _ = t_interval(steps)
        e_mean, e_half, _ = t_interval(episodes)
        last = g.sort_values("episode").groupby("seed")["return"].apply(lambda x: x.tail(5).mean()).to_numpy()
        total = g.groupby("seed")["env_steps"].max().to_numpy().astype(float)
        upd = g.groupby("seed")["updates"].max().to_numpy() / total
        mod = g.groupby("seed")["model_steps"].max().to_numpy() / total
        rows.append({
            "env": env, "agent": agent, "planning": int(planning), "runs": len(reach),  # type: ignore[call-overload]
            "threshold": threshold, "reached": int(sum(r[2] for r in reach)),
            "steps_to_threshold": round(s_mean), "steps_ci95": round(s_half) if np.isfinite(s_half) else np.nan,
            "episodes_to_threshold": round(e_mean, 1), "episodes_ci95": round(e_half, 1),
            "final_return": round(float(last.mean()), 1),
            "updates_per_step": round(float(upd.mean()), 2), "model_steps_per_step": round(float(mod.mean()), 1),
            "ms_per_step": round(1000 * float(g["seconds_per_step"].iloc[0]), 2),
        })
    return pd.DataFrame(rows)


def _label(agent: str, planning: int) -> str:
    if agent == "sac":
        return "SAC (1 update / step)" if planning == 1 else f"SAC ({planning} updates / step)"
    if agent == "mbpo":
        return f"MBPO (G = {planning})"
    return "DQN (n = 0)" if agent == "dqn" else f"Dyna-DQN (n = {planning})"


def figure(table: pd.DataFrame, path: Path) -> Path:
    """Top: mean return per episode with 95% bands (Pendulum against real steps, CartPole
    against episodes); bottom: real steps to the threshold (95% intervals) and wall time per real
    step, per cell."""
    from dynaplan.plot.curves import _pyplot, save_figure

    plt = _pyplot()
    envs = list(dict.fromkeys(table["env"]))
    fig, axes = plt.subplots(2, len(envs), figsize=(6.2 * len(envs), 8.4), squeeze=False)
    summ = summary(table)
    for j, env in enumerate(envs):
        t = table[table.env == env]
        ax = axes[0, j]
        by_steps = env.startswith("Pendulum")
        for (agent, planning), g in t.groupby(["agent", "planning"], sort=False):
            c = g.groupby("episode").agg(mean=("return", "mean"), std=("return", "std"), n=("return", "count"),
                                         x=("env_steps", "mean")).reset_index()
            c = c[c.n >= 2]
            half = t_half(c["std"], c.n)
            x = c["x"] if by_steps else c["episode"]
            ax.plot(x, c["mean"], label=_label(agent, int(planning)))
            ax.fill_between(x, c["mean"] - half, c["mean"] + half, alpha=0.2)
        ax.axhline(float(t["threshold"].iloc[0]), color="grey", lw=0.8, ls="--")
        ax.set_xlabel("real steps" if by_steps else "episodes")
        ax.set_ylabel("return per episode (mean over runs, 95% band)")
        ax.set_title(env)
        ax.legend(fontsize=8)
        s = summ[summ.env == env]
        ax = axes[1, j]
        labels = [_label(a, int(p)) for a, p in zip(s.agent, s.planning)]
        key = "steps_to_threshold"
        ax.barh(labels, s[key], xerr=s["steps_ci95"].fillna(0), color="C0", alpha=0.7)
        for k, (v, ms, r, n) in enumerate(zip(s[key], s.ms_per_step, s.reached, s.runs)):
            ax.text(v, k, f"  {r}/{n} reached; {ms:g} ms / step", va="center", fontsize=8)
        ax.set_xlabel(f"real steps to the threshold ({s.threshold.iloc[0]:g}; 95% intervals over runs)")
    fig.tight_layout()
    return save_figure(fig, path)


REPRODUCTION = register_reproduction(spec_reproduction("deep-dyna", figure, summary))
run = REPRODUCTION.run
