"""Examples 8.2 and 8.3, Figures 8.4 and 8.5: Dyna-Q, Dyna-Q+ and the action-bonus variant
(Exercise 8.4) in the blocking maze (3,000 steps) and the shortcut maze (6,000 steps).

The runs are the shipped specs ``experiments/specs/blocking-maze.toml`` and
``shortcut-maze.toml`` (kind ``cumulative-reward``, defined here); this module adds the figures
and the summaries.

**Parameters are our choice**: the book gives no alpha, n or kappa for these figures. We use
alpha = 1.0 (the mazes are deterministic), n = 10 planning steps, epsilon = 0.1, gamma = 0.95
and kappa = 5e-4 for both bonus variants. Larger kappa hurts (with kappa = 5e-3 the self-loop
bonus of untried actions, kappa sqrt(tau) / (1 - gamma), outgrows the goal's reward and the agent
wanders); every one is a spec key (``--set kappa=1e-3``, ``--set kappa_action=1e-2``...).

What we measured (30 runs, root seed 0): in the shortcut maze the final greedy path of Dyna-Q+
is the 10-step shortcut in 26 of 30 runs (the other 4 are 12 steps, also through the shortcut),
Dyna-Q's in 1 of 30, the action-bonus variant's in none (its bonus is one step deep: it tries
stale actions where it stands but never plans a trip to the far corner). In the blocking maze
Dyna-Q+ recovers (3 goals after the change) in every run, median 475 steps; Dyna-Q in 57% of
runs within the 2,000 steps left (median 1,335), and in 80% within 10,000: its model still says
the left gap is a wall, and the values of the old route decay only geometrically, so the greedy
policy keeps leading it back to the blocked gap until exploration finds the new one.

Table: one row per (agent, run, recorded step): ``agent, seed, step, cumulative_reward`` with
the step recorded every ``record_every`` (10) real steps, plus per run ``change_step`` (when the
layout changed) and ``greedy_path_end``: the length of the greedy path from the start in the
final layout with the final Q (ties to the lowest action; -1 if it never reaches the goal).
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dynaplan.agents.base import ParamError
from dynaplan.experiments.kinds import register_kind
from dynaplan.experiments.reproductions import register_reproduction, spec_reproduction
from dynaplan.plot.curves import mean_sem
from dynaplan.stats import mean_interval

#: Labels of the agent column: AGENTS name, plus ``-action`` for the Exercise 8.4 variant.
LABELS = {"dyna-q": "Dyna-Q", "dyna-q-plus": "Dyna-Q+", "dyna-q-plus-action": "Dyna-Q+ with action bonus (Ex. 8.4)"}
_KEYS = {"env", "env_kwargs", "agent", "bonus", "steps", "record_every", "alpha", "epsilon", "gamma",
         "planning_steps", "kappa", "kappa_action", "q_init"}


def greedy_path_length(q: np.ndarray, world: Any, phase: int) -> int:
    """Steps the greedy policy (argmax Q, ties to the lowest action) takes from the start of
    ``phase`` to a goal in that phase's layout; -1 if it loops (deterministic worlds only)."""
    s = int(np.argmax(world.start[phase]))
    seen = set()
    for n in range(1, world.next_state.shape[1] + 2):
        if s in seen:
            return -1
        seen.add(s)
        a = int(np.argmax(q[s]))
        if world.terminated[phase, s, a, 0]:
            return n
        s = int(world.next_state[phase, s, a, 0])
    return -1


def _agent_params(cell: Mapping[str, Any]) -> tuple[str, str, dict[str, Any]]:
    agent = str(cell["agent"])
    params = {k: cell[k] for k in ("alpha", "epsilon", "gamma", "planning_steps", "q_init") if k in cell}
    if agent == "dyna-q":
        return agent, agent, params
    bonus = str(cell.get("bonus", "planning"))
    kappa = cell.get("kappa_action" if bonus == "action" else "kappa", cell.get("kappa", 5e-4))
    params.update(bonus=bonus, kappa=kappa)
    return agent, agent + ("-action" if bonus == "action" else ""), params


def check_cumulative_reward(cell: Mapping[str, Any]) -> None:
    """Cells: ``env`` (a changing maze id), ``agent`` (dyna-q or dyna-q-plus), ``bonus``
    (planning or action, Dyna-Q+ only), ``steps``, ``record_every``, agent parameters, ``kappa``
    (Dyna-Q+) and ``kappa_action`` (the action-bonus variant)."""
    import gymnasium as gym

    from dynaplan.agents import AGENTS

    unknown = set(cell) - _KEYS
    if unknown:
        raise ParamError(sorted(unknown)[0], f"{sorted(unknown)[0]}: unknown key for kind cumulative-reward")
    if cell.get("agent") not in ("dyna-q", "dyna-q-plus"):
        raise ParamError("agent", f"agent must be dyna-q or dyna-q-plus, got {cell.get('agent')!r}")
    if not isinstance(cell.get("env"), str) or cell["env"] not in gym.registry:
        raise ParamError("env", f"env: unknown env {cell.get('env')!r} (not a registered Gymnasium id)")
    kwargs = cell.get("env_kwargs", {})
    if not isinstance(kwargs, dict):
        raise ParamError("env_kwargs", f"env_kwargs must be a table, got {kwargs!r}")
    try:
        gym.make(str(cell["env"]), **kwargs)
    except (TypeError, ValueError) as exc:  # LayoutError is a ValueError
        raise ParamError("env_kwargs", f"env_kwargs: {exc}") from None
    for key in ("steps", "record_every"):
        v = cell.get(key)
        if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 1:
            raise ParamError(key, f"{key} must be an integer >= 1, got {v!r}")
    if int(cell["steps"]) % int(cell["record_every"]):
        raise ParamError("record_every",
                         f"record_every must divide steps ({cell['steps']}), got {cell['record_every']!r}")
    for key in ("kappa", "kappa_action"):
        v = cell.get(key, 0.0)
        if isinstance(v, bool) or not isinstance(v, numbers.Real) or not float(v) >= 0:
            raise ParamError(key, f"{key} must be a non-negative number, got {v!r}")
    agent, _, params = _agent_params(cell)
    AGENTS[agent].check_params(params)


@register_kind("cumulative-reward", check=check_cumulative_reward)
def run_cumulative_reward(cell: Mapping[str, Any], seeds: Sequence[int]) -> pd.DataFrame:
    """An agent for a number of real steps in a (changing) maze; cumulative reward every
    ``record_every`` steps: ``agent, seed, step, cumulative_reward, change_step, greedy_path_end``."""
    from dynaplan.agents import AGENTS
    from dynaplan.experiments.batch import problem_of, run_batch

    agent, label, params = _agent_params(cell)
    problem = problem_of(str(cell["env"]), **dict(cell.get("env_kwargs", {})))
    steps, every = int(cell["steps"]), int(cell["record_every"])
    world = problem.world
    change = int(world.switch_at[1]) if world.switch_at.shape[0] > 1 else -1
    last_phase = int(np.searchsorted(world.switch_at, steps - 1, side="right") - 1)
    frames = []
    for res in run_batch(AGENTS[agent], params, problem, seeds, steps=steps, record_step_rewards=True):
        cum = np.cumsum(res.step_rewards)[every - 1 :: every]
        n = cum.shape[0]
        frames.append(pd.DataFrame({
            "agent": label,
            "seed": np.full(n, res.seed, dtype=np.int64),
            "step": np.arange(every, steps + 1, every, dtype=np.int64),
            "cumulative_reward": cum,
            "change_step": np.full(n, change, dtype=np.int64),
            "greedy_path_end": np.full(n, greedy_path_length(res.agent.q, world, last_phase), dtype=np.int64),
        }))
    return pd.concat(frames, ignore_index=True)


# -- figure and summary, from the table only -------------------------------------------------
def mean_curves(table: pd.DataFrame) -> pd.DataFrame:
    """Mean, standard error and count of the cumulative reward per (agent, step)."""
    return mean_sem(table, ["agent", "step"], "cumulative_reward")


RECOVERY_GOALS = 3


def per_run(table: pd.DataFrame) -> pd.DataFrame:
    """One row per (agent, seed): reward before and after the change; ``steps_to_recover``, the
    steps from the change until the agent has reached the goal ``RECOVERY_GOALS`` (3) times after
    it (NaN if it never does; at the table's step resolution; the first goal may still end the
    episode that was under way); the final greedy path length."""
    rows = []
    for (agent, seed), run in table.groupby(["agent", "seed"]):
        run = run.sort_values("step")
        change = int(run["change_step"].iloc[0])
        cum, step = run["cumulative_reward"].to_numpy(), run["step"].to_numpy()
        at_change = float(cum[step <= change][-1]) if change > 0 and (step <= change).any() else 0.0
        later = step[(step > change) & (cum >= at_change + RECOVERY_GOALS)]
        rows.append({
            "agent": agent, "seed": int(seed),  # type: ignore[call-overload]
            "before_change": at_change,
            "after_change": float(cum[-1]) - at_change,
            "steps_to_recover": float(later[0] - change) if later.size else np.nan,
            "greedy_path_end": int(run["greedy_path_end"].iloc[0]),
        })
    return pd.DataFrame(rows)


def summary(table: pd.DataFrame, shortest_after: int | None = None, recovery: bool = False) -> pd.DataFrame:
    """Per agent: ``runs``; mean reward before and after the change (``reward_before``,
    ``reward_after``, ``after_ci95`` the 95% half-width of the latter); with ``recovery``,
    ``recovered`` the share of runs that recovered (3 goals after the change) and
    ``median_recovery`` the median steps it took (inf: most did not); ``greedy_path_N`` the share
    of runs whose final greedy path from the start is ``shortest_after`` = N steps (in the
    shortcut maze, N = 10: the runs that found the shortcut)."""
    runs = per_run(table)
    out = []
    for agent, r in runs.groupby("agent", sort=False):
        row: dict[str, Any] = {
            "agent": agent, "runs": len(r),
            "reward_before": r.before_change.mean(),
            "reward_after": r.after_change.mean(),
            "after_ci95": mean_interval(r.after_change)[1],
        }
        if recovery:
            row["recovered"] = float(r.steps_to_recover.notna().mean())
            row["median_recovery"] = float(np.median(r.steps_to_recover.fillna(np.inf)))
        if shortest_after is not None:
            row[f"greedy_path_{shortest_after}"] = float((r.greedy_path_end == shortest_after).mean())
        out.append(row)
    order = {k: i for i, k in enumerate(LABELS)}
    return pd.DataFrame(out).sort_values("agent", key=lambda c: c.map(order)).reset_index(drop=True)


def figure(table: pd.DataFrame, path: Path, title: str = "") -> Path:
    """Cumulative reward against time step, mean over runs with 95% bands, the change marked."""
    from dynaplan.plot.curves import line_with_band

    curves = mean_curves(table)
    order = list(LABELS)
    groups = {str(a): c for a, c in curves.groupby("agent")}
    series = {LABELS.get(a, a): groups[a] for a in sorted(groups, key=lambda a: order.index(a) if a in order else 99)}
    change = int(table["change_step"].iloc[0])
    runs = int(table.groupby("agent")["seed"].nunique().min())
    return line_with_band(
        series, x="step", path=path, xlabel="Time steps", ylabel="Cumulative reward",
        title=f"{title} ({runs} runs, 95% bands)", ylim=(0, None),
        vlines={"layout changes": change} if change > 0 else None,
    )


def blocking_figure(table: pd.DataFrame, path: Path) -> Path:
    return figure(table, path, "Blocking maze (Sutton & Barto, Figure 8.4)")


def shortcut_figure(table: pd.DataFrame, path: Path) -> Path:
    return figure(table, path, "Shortcut maze (Sutton & Barto, Figure 8.5)")


def blocking_summary(table: pd.DataFrame) -> pd.DataFrame:
    return summary(table, 16, recovery=True)


def shortcut_summary(table: pd.DataFrame) -> pd.DataFrame:
    return summary(table, 10)


BLOCKING = register_reproduction(spec_reproduction("blocking-maze", blocking_figure, blocking_summary))
SHORTCUT = register_reproduction(spec_reproduction("shortcut-maze", shortcut_figure, shortcut_summary))
