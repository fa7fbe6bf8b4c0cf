"""Sections 8.8 to 8.11: planning at decision time, and its blend with background planning.

Kind ``decision-time``: one agent (any in ``AGENTS``) on one env for ``episodes`` episodes per
seed, one run in compiled code extended one episode per call (the step clock runs on across
episodes) so the compute of every episode is recorded:
one row per (seed, episode) with ``steps``, ``return``, ``model_steps`` (outcomes drawn or
expanded by the agent's searches; for an agent without search, its planning updates,
``planning_steps`` per real step), ``decisions`` (real steps decided by a search) and
``seconds`` (wall time of the episode, measured around the compiled call; the only column that
depends on the machine).

The shipped spec ``experiments/specs/decision-time.toml`` compares, on the Dyna maze and the
slippery Dyna maze: Dyna-Q (n = 50), rollout planning, MCTS with and without persistence over
the true model, and MCTS over learned sample and distribution models (Dyna with search).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dynaplan.experiments.kinds import register_kind
from dynaplan.experiments.reproductions import register_reproduction, spec_reproduction
from dynaplan.plot.curves import save_figure
from dynaplan.rng import agent_stream, env_stream

RESERVED = {"env", "agent", "method", "episodes", "max_episode_steps"}


def _agent_params(cell: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in cell.items() if k not in RESERVED}


def check_cell(cell: Mapping[str, Any]) -> None:
    """Validate a cell of kind ``decision-time`` (ValueError starting with the key's name)."""
    import gymnasium as gym

    from dynaplan.agents import AGENTS

    for key in ("env", "agent", "episodes"):
        if key not in cell:
            raise ValueError(f"{key}: missing (required by kind decision-time)")
    if cell["agent"] not in AGENTS:
        raise ValueError(f"agent: unknown agent {cell['agent']!r}; choose from: {', '.join(sorted(AGENTS))}")
    if cell["env"] not in gym.registry:
        raise ValueError(f"env: unknown env {cell['env']!r} (not a registered Gymnasium id)")
    for key, low in (("episodes", 1), ("max_episode_steps", 0)):
        value = cell.get(key, 0 if low == 0 else None)
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
            raise ValueError(f"{key}: must be an integer >= {low}, got {value!r}")
    AGENTS[cell["agent"]].check_params(_agent_params(cell))


@register_kind("decision-time", check=check_cell)
def run_kind(cell: Mapping[str, Any], seeds: Sequence[int]) -> pd.DataFrame:
    """Cell keys ``env``, ``agent``, ``episodes``, optional ``method`` (a label) and
    ``max_episode_steps`` (0: the env's limit), and the agent's parameters. One row per (seed,
    episode): ``steps, return, model_steps, decisions, seconds``."""
    from dynaplan.agents import AGENTS
    from dynaplan.experiments.batch import check_agent_params, problem_of
    from dynaplan.planning.loop import new_loop_state, run_loop

    cls = AGENTS[str(cell["agent"])]
    params = check_agent_params(cls, _agent_params(cell)).params  # the cell was validated by check_cell
    problem = problem_of(str(cell["env"]))
    episodes = int(cell["episodes"])
    limit = int(cell.get("max_episode_steps", 0)) or problem.max_episode_steps
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
        counters = getattr(state, "counters", None)
        before = np.zeros(4, dtype=np.int64)
        for ep in range(episodes):
            if counters is not None:
                before = counters.copy()
            t0 = time.perf_counter()
            run_loop(problem.world, state, a_rng, e_rng, ep + 1, 0, limit, steps, returns, np.zeros(0), loop)
            seconds = time.perf_counter() - t0
            if counters is not None:
                model_steps, decisions = counters[2] - before[2], counters[0] - before[0]
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


def summary(table: pd.DataFrame, last: int = 10) -> pd.DataFrame:
    """Per (env, method): mean steps in episode 1, 2 and the last ``last`` episodes, model steps per
    real step, and wall time per real step (microseconds), over all seeds and episodes."""
    rows = []
    for (env, method), g in table.groupby(["env", "method"], sort=False):
        n_last = g[g.episode > g.episode.max() - last]
        total_steps = float(g.steps.sum())
        rows.append(
            {
                "env": _short(str(env)),
                "method": method,
                "episode_1": float(g[g.episode == 1].steps.mean()),
                "episode_2": float(g[g.episode == 2].steps.mean()),
                f"last_{last}": float(n_last.steps.mean()),
                "model_steps_per_step": float(g.model_steps.sum()) / total_steps,
                "us_per_step": 1e6 * float(g.seconds.sum()) / total_steps,
            }
        )
    return pd.DataFrame(rows)


def figure(table: pd.DataFrame, path: Path) -> Path:
    """Top: mean steps per episode (log scale; 95% bands, cut at a third of the mean); bottom: model
    steps per real step, per env."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    envs = list(dict.fromkeys(table.env))
    fig, axes = plt.subplots(2, len(envs), figsize=(6.5 * len(envs), 8), squeeze=False)
    for j, env in enumerate(envs):
        sub = table[table.env == env]
        for method, g in sub.groupby("method", sort=False):
            by_ep = g.groupby("episode")
            mean = by_ep.steps.mean()
            sem = by_ep.steps.std().fillna(0) / np.sqrt(by_ep.steps.count())
            (line,) = axes[0, j].plot(mean.index, mean.values, label=str(method))
            low = np.maximum(mean - 1.96 * sem, mean / 3)  # log axis: a band, not a drop to 1
            axes[0, j].fill_between(mean.index, low, mean + 1.96 * sem, color=line.get_color(), alpha=0.15)
            per_step = by_ep.model_steps.sum() / by_ep.steps.sum()
            axes[1, j].plot(per_step.index, per_step.values, color=line.get_color(), label=str(method))
        axes[0, j].set(yscale="log", xlabel="Episode", ylabel="Steps per episode", title=_short(str(env)))
        axes[1, j].set(yscale="log", xlabel="Episode", ylabel="Model steps per real step (compute per decision)")
        axes[0, j].grid(alpha=0.3)
        axes[1, j].grid(alpha=0.3)
    axes[0, 0].legend(fontsize=8)
    fig.suptitle("Planning at decision time vs background planning (Sutton & Barto, sections 8.8-8.11)")
    return save_figure(fig, path, dpi=120)


REPRODUCTION = register_reproduction(spec_reproduction("decision-time", figure, summary))
run = REPRODUCTION.run
