"""Sections 8.8 to 8.11: planning at decision time, and its blend with background planning.

Kind ``decision-time``: one agent (any in ``AGENTS``) on one env for ``episodes`` episodes per
seed, one run in compiled code extended one episode per call (the step clock runs on across
episodes) so the compute of every episode is recorded:
one row per (seed, episode) with ``steps``, ``return``, ``model_steps`` (outcomes drawn or
expanded by the agent's searches; for an agent without search, its planning updates,
``planning_steps`` per real step), ``decisions`` (real steps decided by a search) and
``seconds`` (wall time of the episode, measured around the compiled call; the only column that
depends on the machine).

The shipped spec ``experiments/specs/decision-time.toml`` compares at equal model steps per
real step, on the Dyna maze, the slippery Dyna maze and slippery FrozenLake: Dyna-Q, rollout
planning, the book's MCTS tree fresh at each decision and with subtree reuse, the state-keyed
MCTS table with first-visit and with Bellman backups, Dyna-2 and each of its memories alone, and
MCTS over learned sample and distribution models (Dyna with search).

Statistics: a run (one agent with its own seed) is the unit. ``summary`` reduces each run to one
number (mazes: mean steps per episode over the last ``last`` episodes; FrozenLake: success rate
over all episodes) and reports the mean over runs with a 95% t-interval and the run count.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from dynaplan.agents.base import ParamError
from dynaplan.experiments.kinds import register_kind
from dynaplan.experiments.reproductions import register_reproduction, spec_reproduction
from dynaplan.plot.curves import save_figure
from dynaplan.rng import agent_stream, env_stream
from dynaplan.stats import t_interval

RESERVED = {"env", "agent", "method", "episodes", "max_episode_steps"}


def _agent_params(cell: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in cell.items() if k not in RESERVED}


def check_cell(cell: Mapping[str, Any]) -> None:
    """Validate a cell of kind ``decision-time`` (``ParamError`` naming the key)."""
    import gymnasium as gym

    from dynaplan.agents import AGENTS

    for key in ("env", "agent", "episodes"):
        if key not in cell:
            raise ParamError(key, f"{key}: missing (required by kind decision-time)")
    if cell["agent"] not in AGENTS:
        raise ParamError("agent", f"agent: unknown agent {cell['agent']!r}; choose from: {', '.join(sorted(AGENTS))}")
    if cell["env"] not in gym.registry:
        raise ParamError("env", f"env: unknown env {cell['env']!r} (not a registered Gymnasium id)")
    for key, low in (("episodes", 1), ("max_episode_steps", 0)):
        value = cell.get(key, 0 if low == 0 else None)
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
            raise ParamError(key, f"{key}: must be an integer >= {low}, got {value!r}")
    AGENTS[cell["agent"]].check_params(_agent_params(cell))


class SearchCounts(NamedTuple):
    """What a searching agent has counted so far: ``decisions`` searched (one per real step) and
    ``model_steps`` taken in its model (tree and rollout draws, section 8.8's currency of
    planning compute)."""

    decisions: int
    model_steps: int


def search_counts(state: Any) -> SearchCounts | None:
    """The counts of a search agent's kernel state (its view's ``search``, ``agents.views``), or
    ``None`` for an agent that does not search at decision time."""
    from dynaplan.agents.views import view_of

    search = view_of(state).search
    if search is None:
        return None
    return SearchCounts(search.decisions, search.model_steps)


@register_kind("decision-time", check=check_cell)
def run_kind(cell: Mapping[str, Any], seeds: Sequence[int]) -> pd.DataFrame:
    """Cell keys ``env``, ``agent``, ``episodes``, optional ``method`` (a label) and
    ``max_episode_steps`` (the limit of an env that has none of its own), and the agent's
    parameters. One row per (seed, episode): ``steps, return, model_steps, decisions, seconds``."""
    from dynaplan.agents import AGENTS
    from dynaplan.core.loop import new_loop_state, run_loop
    from dynaplan.experiments.batch import check_agent_params, problem_of

    cls = AGENTS[str(cell["agent"])]
    params = check_agent_params(cls, _agent_params(cell)).params  # the cell was validated by check_cell
    problem = problem_of(str(cell["env"]))
    episodes = int(cell["episodes"])
    # an env's own limit wins (FrozenLake's 100 steps define its optimum); the cell's applies to
    # envs without one
    limit = problem.max_episode_steps or int(cell.get("max_episode_steps", 0))
    # Compile (or load) the loop for this agent first: one real step of a throwaway agent, so
    # that ``seconds`` measures running, not compiling.
    warm = cls.build_state(problem.n_states, problem.n_actions, problem.model, params)
    one = np.zeros(1, dtype=np.int64)
    run_loop(problem.world, warm, agent_stream(0), env_stream(0), 0, 1, limit, one, np.zeros(1), np.zeros(0),
             new_loop_state())
    frames = []
    for seed in seeds:
        state: Any = cls.build_state(problem.n_states, problem.n_actions, problem.model, params)
        a_rng, e_rng = agent_stream(int(seed)), env_stream(int(seed))
        # One run, extended one episode per call: the clock runs on across episodes.
        loop = new_loop_state()
        steps, returns = np.zeros(episodes, dtype=np.int64), np.zeros(episodes)
        rows = np.zeros((episodes, 5))
        for ep in range(episodes):
            before = search_counts(state)
            t0 = time.perf_counter()
            run_loop(problem.world, state, a_rng, e_rng, ep + 1, 0, limit, steps, returns, np.zeros(0), loop)
            seconds = time.perf_counter() - t0
            after = search_counts(state)
            if before is not None and after is not None:
                model_steps, decisions = after.model_steps - before.model_steps, after.decisions - before.decisions
            else:
                model_steps, decisions = int(params.get("planning_steps", 0)) * steps[ep], 0
            rows[ep] = (steps[ep], returns[ep], model_steps, decisions, seconds)
        frames.append(
            pd.DataFrame(
                {
                    "env": str(cell["env"]),
                    "method": str(cell.get("method", cell["agent"])),
                    "agent": str(cell["agent"]),
                    "seed": np.full(episodes, int(seed), dtype=np.int64),
                    "episode": np.arange(1, episodes + 1, dtype=np.int64),
                    "steps": rows[:, 0].astype(np.int64),
                    "return": rows[:, 1],
                    "model_steps": rows[:, 2].astype(np.int64),
                    "decisions": rows[:, 3].astype(np.int64),
                    "seconds": rows[:, 4],
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def _short(env: str) -> str:
    return env.split("/")[-1]


def _is_success_env(env: str) -> bool:
    return "FrozenLake" in env


def per_run(table: pd.DataFrame, last: int = 10) -> pd.DataFrame:
    """One row per (env, method, seed): the run's final performance and its compute.

    ``performance``: success rate over all episodes (FrozenLake: return 1 is success) or mean steps
    per episode over the last ``last`` episodes (mazes); ``compute``: model steps per real step.
    """
    rows = []
    for (env, method, seed), g in table.groupby(["env", "method", "seed"], sort=False):
        if _is_success_env(str(env)):
            perf = float(g["return"].mean())
        else:
            perf = float(g[g.episode > g.episode.max() - last].steps.mean())
        rows.append(
            {"env": str(env), "method": method, "seed": int(str(seed)), "performance": perf,
             "compute": float(g.model_steps.sum()) / float(g.steps.sum())}
        )
    return pd.DataFrame(rows)


def summary(table: pd.DataFrame, last: int = 10) -> pd.DataFrame:
    """Per (env, method), runs as the unit: the final performance (mean over runs, 95% interval),
    the run count, model steps per real step and wall time per real step (microseconds)."""
    runs = per_run(table, last)
    rows = []
    for (env, method), g in runs.groupby(["env", "method"], sort=False):
        mean, half, n = t_interval(g.performance.to_numpy())
        t = table[(table.env == env) & (table.method == method)]
        rows.append(
            {
                "env": _short(str(env)),
                "method": method,
                "measure": "success rate" if _is_success_env(str(env)) else f"steps, last {last}",
                "mean": round(mean, 3),
                "ci95": round(half, 3),
                "runs": n,
                "model_steps_per_step": round(float(g.compute.mean()), 1),
                "us_per_step": round(1e6 * float(t.seconds.sum()) / float(t.steps.sum()), 1),
            }
        )
    return pd.DataFrame(rows)


def figure(table: pd.DataFrame, path: Path, last: int = 10) -> Path:
    """One panel per world: each method's final performance, mean over runs with its 95% interval,
    one row per method, its compute (model steps per real step) written beside it."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    runs = per_run(table, last)
    envs = list(dict.fromkeys(runs.env))
    methods = list(dict.fromkeys(runs.method))
    fig, axes = plt.subplots(1, len(envs), figsize=(5.2 * len(envs), 0.42 * len(methods) + 1.8), squeeze=False)
    for j, env in enumerate(envs):
        ax = axes[0, j]
        success = _is_success_env(str(env))
        n_runs = 0
        for k, method in enumerate(methods):
            g = runs[(runs.env == env) & (runs.method == method)]
            if g.empty:
                continue
            mean, half, n = t_interval(g.performance.to_numpy())
            n_runs = max(n_runs, n)
            ax.errorbar(mean, k, xerr=half, fmt="o", color="C0" if "MCTS" in str(method) else "C1", capsize=3)
            ax.annotate(
                f"{g.compute.mean():,.0f}", (1.0, k), xycoords=("axes fraction", "data"), xytext=(4, 0),
                textcoords="offset points", va="center", fontsize=7, color="grey",
            )
        if success:
            ax.axvline(0.744, color="grey", ls="--", lw=1)
            ax.set_xlim(0, 1)
        else:
            ax.set_xscale("log")
            ax.xaxis.set_major_formatter(matplotlib.ticker.ScalarFormatter())
            ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_yticks(range(len(methods)))
        ax.set_yticklabels(methods if j == 0 else [""] * len(methods), fontsize=8)
        ax.invert_yaxis()
        ax.set(
            title=f"{_short(str(env))} ({n_runs} runs)",
            xlabel="Success rate (dashed: optimum 0.744)" if success else f"Steps per episode, last {last} (log)",
        )
        ax.grid(alpha=0.3, which="both", axis="x")
    fig.suptitle(
        "Decision-time vs background planning at equal compute (Sutton & Barto 8.8-8.11); mean over runs, "
        "95% interval; grey: model steps per real step",
        fontsize=9,
    )
    fig.tight_layout()
    return save_figure(fig, path, dpi=120)


REPRODUCTION = register_reproduction(spec_reproduction("decision-time", figure, summary))
run = REPRODUCTION.run
