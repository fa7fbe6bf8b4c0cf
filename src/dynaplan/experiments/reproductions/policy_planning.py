"""Planning that optimises a policy beside planning that backs up values: Dyna-AC and policy
gradient in imagination beside Dyna-Q, in the Dyna maze (Example 8.1, the Figure 8.2
experiment, n = 0, 5, 50) and the shortcut maze (Example 8.3).

The runs are the shipped spec ``experiments/specs/policy-planning.toml`` (kind
``policy-planning``, defined here). ``planning`` (n) is the computation per real step in the
same currency for every agent: Dyna-Q and Dyna-AC make n planning updates (plus one direct
update); the policy gradient in imagination makes n / horizon branched rollouts of ``horizon``
model steps, each step one actor-critic update, and no direct update (so with n = 0 it never
learns: its policy stays uniform). The measured updates per real step are a column.

``dyna-pg-natural`` is the same agent with the natural-gradient update (``update = "natural"``,
actor step ``alpha_actor_natural`` = 1.0; the critic step ``alpha_critic_pg`` is shared).

Choices the literature leaves open (stated in the spec too): the policy agents' step sizes
(alpha_actor 0.03, alpha_critic 0.5 for Dyna-AC and 0.1 for the imagined policy gradient),
the rollout horizon (5), Dyna-PG's real-action exploration (epsilon 0.1 uniform, else the
softmax), Dyna-AC's planning pairs drawn as Dyna-Q draws them with the expected critic update
(``planning/dyna_ac.py``); Dyna-Q keeps the book's alpha 0.1, epsilon 0.1; gamma 0.95 for all.

Table: one row per (experiment, agent, planning, seed, episode) in the Dyna maze (``episode``,
``steps``) and per (experiment, agent, planning, seed, recorded step) in the shortcut maze
(``step``, ``cumulative_reward``, recorded every ``record_every`` real steps; ``change_step``),
with per run ``updates_per_step`` (measured) and ``greedy_path_end`` (steps of the final greedy
policy from the start of the final layout; -1 if it never reaches the goal). Columns that do
not apply to a row are -1 / NaN.
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
from dynaplan.stats import mean_interval, normal_band

AGENT_LABELS = {"dyna-q": "Dyna-Q", "dyna-ac": "Dyna-AC", "dyna-pg": "Dyna-PG",
                "dyna-pg-natural": "Dyna-PG (natural)"}
TITLES = {"dyna-q": "Dyna-Q", "dyna-ac": "Dyna actor-critic", "dyna-pg": "Imagined REINFORCE (Dyna-PG)",
          "dyna-pg-natural": "Imagined natural PG (Dyna-PG)"}
EXPERIMENTS = ("dyna-maze", "shortcut-maze")
_KEYS = {"experiment", "env", "episodes", "steps", "record_every", "agent", "planning", "gamma", "alpha", "epsilon",
         "alpha_actor", "alpha_critic", "alpha_critic_pg", "horizon", "alpha_actor_natural"}


def agent_params(cell: Mapping[str, Any]) -> dict[str, Any]:
    """The agent's own parameters for a cell (``planning`` = n in the agent's currency)."""
    n = cell["planning"]
    agent = cell["agent"]
    if agent == "dyna-q":
        return {"planning_steps": n, **{k: cell[k] for k in ("alpha", "epsilon", "gamma") if k in cell}}
    if agent == "dyna-ac":
        return {"planning_steps": n, **{k: cell[k] for k in ("alpha_actor", "alpha_critic", "gamma") if k in cell}}
    horizon = cell.get("horizon", 5)
    out = {"rollouts": n // horizon if isinstance(n, int) and isinstance(horizon, int) and horizon > 0 else n,
           "horizon": horizon, **{k: cell[k] for k in ("alpha_actor", "epsilon", "gamma") if k in cell}}
    if "alpha_critic_pg" in cell:
        out["alpha_critic"] = cell["alpha_critic_pg"]
    if agent == "dyna-pg-natural":
        out["update"] = "natural"
        if "alpha_actor_natural" in cell:
            out["alpha_actor"] = cell["alpha_actor_natural"]
    return out


def check_policy_planning(cell: Mapping[str, Any]) -> None:
    """Cells: ``experiment`` (dyna-maze runs ``episodes`` episodes; shortcut-maze runs ``steps``
    real steps, recorded every ``record_every``), ``env``, ``agent`` (dyna-q, dyna-ac, dyna-pg or
    dyna-pg-natural: dyna-pg with ``update = "natural"`` and actor step ``alpha_actor_natural``),
    ``planning`` (n >= 0, a multiple of ``horizon`` for the dyna-pg agents) and the agents'
    parameters."""
    import gymnasium as gym

    from dynaplan.agents import AGENTS

    unknown = set(cell) - _KEYS
    if unknown:
        key = sorted(unknown)[0]
        raise ParamError(key, f"{key}: unknown key for kind policy-planning")
    if cell.get("experiment") not in EXPERIMENTS:
        raise ParamError("experiment",
                         f"experiment must be one of {', '.join(EXPERIMENTS)}, got {cell.get('experiment')!r}")
    if cell.get("agent") not in AGENT_LABELS:
        raise ParamError("agent", f"agent must be one of {', '.join(AGENT_LABELS)}, got {cell.get('agent')!r}")
    if not isinstance(cell.get("env"), str) or cell["env"] not in gym.registry:
        raise ParamError("env", f"env: unknown env {cell.get('env')!r} (not a registered Gymnasium id)")
    keys = ("episodes",) if cell["experiment"] == "dyna-maze" else ("steps", "record_every")
    for key in keys:
        v = cell.get(key)
        if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 1:
            raise ParamError(key, f"{key} must be an integer >= 1, got {v!r}")
    if cell["experiment"] == "shortcut-maze" and int(cell["steps"]) % int(cell["record_every"]):
        raise ParamError("record_every",
                         f"record_every must divide steps ({cell['steps']}), got {cell['record_every']!r}")
    n = cell.get("planning")
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 0:
        raise ParamError("planning", f"planning must be a non-negative integer, got {n!r}")
    if cell["agent"] in ("dyna-pg", "dyna-pg-natural"):
        horizon = cell.get("horizon", 5)
        if isinstance(horizon, bool) or not isinstance(horizon, numbers.Integral) or horizon < 1:
            raise ParamError("horizon", f"horizon must be a positive integer, got {horizon!r}")
        if n % horizon:
            raise ParamError("planning",
                             f"planning must be a multiple of horizon ({horizon}) for {cell['agent']}, got {n!r}")
    AGENTS[_agent_class_name(str(cell["agent"]))].check_params(agent_params(cell))


def _agent_class_name(agent: str) -> str:
    return "dyna-pg" if agent == "dyna-pg-natural" else agent


def _updates_per_step(agent: str, n: int, state: Any, total_steps: int) -> float:
    if agent == "dyna-q":
        return float(n + 1)  # the kernel makes one direct and n planning updates every real step
    counter = state.updates[0] if agent == "dyna-ac" else state.model_steps[0]  # dyna-pg: no direct update
    return float(counter) / max(total_steps, 1)


@register_kind("policy-planning", check=check_policy_planning)
def run_policy_planning(cell: Mapping[str, Any], seeds: Sequence[int]) -> pd.DataFrame:
    """Dyna-Q, Dyna-AC or the imagined policy gradient in the Dyna maze (episodes) or the shortcut
    maze (cumulative reward): ``experiment, agent, planning, seed, episode, steps, step,
    cumulative_reward, change_step, updates_per_step, greedy_path_end``."""
    from dynaplan.agents import AGENTS
    from dynaplan.experiments.batch import problem_of, run_batch
    from dynaplan.experiments.reproductions.changing_mazes import greedy_path_length

    agent, n, experiment = str(cell["agent"]), int(cell["planning"]), str(cell["experiment"])
    problem = problem_of(str(cell["env"]))
    world = problem.world
    frames = []
    if experiment == "dyna-maze":
        results = run_batch(AGENTS[_agent_class_name(agent)], agent_params(cell), problem, seeds,
                            episodes=int(cell["episodes"]))
    else:
        steps, every = int(cell["steps"]), int(cell["record_every"])
        results = run_batch(AGENTS[_agent_class_name(agent)], agent_params(cell), problem, seeds, steps=steps,
                            record_step_rewards=True)
    last_phase = world.switch_at.shape[0] - 1
    for res in results:
        if experiment == "dyna-maze":
            k = res.episode_steps.shape[0]
            episode, ep_steps = np.arange(1, k + 1, dtype=np.int64), res.episode_steps.astype(np.int64)
            step, cum = np.full(k, -1, dtype=np.int64), np.full(k, np.nan)
            change = -1
        else:
            cum = np.cumsum(res.step_rewards)[every - 1 :: every]
            k = cum.shape[0]
            step = np.arange(every, steps + 1, every, dtype=np.int64)
            episode, ep_steps = np.full(k, -1, dtype=np.int64), np.full(k, -1, dtype=np.int64)
            change = int(world.switch_at[1]) if world.switch_at.shape[0] > 1 else -1
        frames.append(pd.DataFrame({
            "experiment": experiment, "agent": agent,
            "planning": np.full(k, n, dtype=np.int64), "seed": np.full(k, res.seed, dtype=np.int64),
            "episode": episode, "steps": ep_steps, "step": step, "cumulative_reward": cum,
            "change_step": np.full(k, change, dtype=np.int64),
            "updates_per_step": np.full(k, _updates_per_step(agent, n, res.agent, res.total_steps)),
            "greedy_path_end": np.full(k, greedy_path_length(res.agent.q, world, last_phase), dtype=np.int64),
        }))
    return pd.concat(frames, ignore_index=True)


# -- summary and figure, from the table only ------------------------------------------------
def _ci(x: np.ndarray) -> float:
    return mean_interval(x)[1]


def summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per (experiment, agent, n): ``runs``; ``updates_per_step`` (mean over runs); Dyna maze:
    mean over runs of the mean steps in episodes 2-10 (``steps_ep2_10``, ``ci95`` its 95%
    half-width) and in the last 10 episodes; shortcut maze: cumulative reward before the change
    and after it (``reward_after``, ``ci95``); ``greedy_shortest``: the share of runs whose final
    greedy path is the shortest (14 steps in the Dyna maze, 10 through the shortcut)."""
    rows = []
    for (exp, agent, n), g in table.groupby(["experiment", "agent", "planning"], sort=False):
        per_seed = g.groupby("seed")
        row: dict[str, Any] = {"experiment": exp, "agent": AGENT_LABELS.get(str(agent), agent), "n": int(n),  # type: ignore[call-overload]
                               "runs": int(per_seed.ngroups),
                               "updates_per_step": float(per_seed["updates_per_step"].first().mean())}
        if exp == "dyna-maze":
            early = g[(g.episode >= 2) & (g.episode <= 10)].groupby("seed")["steps"].mean().to_numpy()
            last_ep = int(g.episode.max())
            late = g[g.episode > last_ep - 10].groupby("seed")["steps"].mean().to_numpy()
            row.update(steps_ep2_10=float(early.mean()), ci95=_ci(early), steps_last_10=float(late.mean()),
                       greedy_shortest=float((per_seed["greedy_path_end"].first() == 14).mean()))
        else:
            change = int(g["change_step"].iloc[0])
            before = g[g.step == change].groupby("seed")["cumulative_reward"].first()
            final = g[g.step == g.step.max()].groupby("seed")["cumulative_reward"].first()
            after = (final - before).to_numpy()
            row.update(reward_before=float(before.mean()), reward_after=float(after.mean()), ci95=_ci(after),
                       greedy_shortest=float((per_seed["greedy_path_end"].first() == 10).mean()))
        rows.append(row)
    return pd.DataFrame(rows)


def figure(table: pd.DataFrame, path: Path) -> Path:
    """Top: steps per episode in the Dyna maze (episodes 2 on); bottom: cumulative reward in the
    shortcut maze; one panel per agent, one line per n with its 95% band (runs as the unit)."""
    from dynaplan.plot.curves import _pyplot, save_figure

    plt = _pyplot()
    agents = [a for a in AGENT_LABELS if a in set(table.agent)]
    exps = [e for e in EXPERIMENTS if e in set(table.experiment)]
    fig, axes = plt.subplots(len(exps), len(agents), figsize=(4.2 * len(agents), 3.4 * len(exps)), dpi=110,
                             squeeze=False, sharey="row")
    colors = {0: "tab:blue", 5: "tab:orange", 50: "tab:green"}
    for i, exp in enumerate(exps):
        t = table[table.experiment == exp]
        x, y = ("episode", "steps") if exp == "dyna-maze" else ("step", "cumulative_reward")
        if exp == "dyna-maze":
            t = t[t.episode >= 2]
        for j, agent in enumerate(agents):
            ax = axes[i, j]
            for n, g in t[t.agent == agent].groupby("planning"):
                c = g.groupby(x)[y].agg(["mean", "std", "count"]).reset_index()
                lo, hi = normal_band(c["mean"], c["std"] / np.sqrt(c["count"]))
                ups = g.groupby("seed")["updates_per_step"].first().mean()
                (line,) = ax.plot(c[x], c["mean"], lw=1.4, color=colors.get(int(n)),  # type: ignore[arg-type]
                                  label=f"n = {n} ({ups:.3g} updates/step)")
                ax.fill_between(c[x], lo, hi, color=line.get_color(), alpha=0.2, lw=0)
            runs = int(t[t.agent == agent].seed.nunique())
            ax.set_title(f"{TITLES[agent]} ({runs} runs)", fontsize=10)
            if exp == "dyna-maze":
                ax.set_yscale("log")
                ax.set_xlabel("Episodes")
                if j == 0:
                    ax.set_ylabel("Dyna maze: steps per episode")
            else:
                change = int(t["change_step"].iloc[0])
                if change > 0:
                    ax.axvline(change, color="gray", ls="--", lw=1)
                ax.set_xlabel("Time steps (shortcut opens at the dashed line)")
                if j == 0:
                    ax.set_ylabel("Shortcut maze: cumulative reward")
            ax.legend(fontsize=7, loc="best")
            ax.grid(alpha=0.3)
    fig.suptitle("Planning that optimises a policy beside Dyna-Q (mean over runs, 95% bands)", fontsize=11)
    return save_figure(fig, path)


REPRODUCTION = register_reproduction(spec_reproduction("policy-planning", figure, summary))
run = REPRODUCTION.run
