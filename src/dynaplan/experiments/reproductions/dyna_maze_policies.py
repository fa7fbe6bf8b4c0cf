"""Figure 8.3: the policies of Dyna-Q without (n = 0) and with (n = 50) planning halfway through
the second episode in the Dyna maze.

Without planning, an episode extends the policy (the states where Q prefers an action) by about
one step back from the goal; with planning, by the middle of the second episode the policy
reaches back over much of the maze. Book settings: alpha 0.1, epsilon 0.1, gamma 0.95, Q0 = 0.

The runs are the shipped spec ``experiments/specs/dyna-maze-policies.toml`` (kind
``policy-snapshot``, defined here). "Halfway through the second episode" is step
``E1 + E2 // 2`` of the run, E1 and E2 being the lengths of its first two episodes: a run is
replayed from its seed to that step (runs are deterministic functions of the seed).

Table: one row per (planning_steps, seed, state): ``env, agent, planning_steps, seed, state, row,
col, greedy_action`` (argmax Q with ties to the lowest action; -1 where Q is the same for every
action: no policy there yet), ``value`` (max Q), ``snapshot_step``, ``episode_1_steps``,
``episode_2_steps``.
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

_KEYS = {"env", "env_kwargs", "agent", "planning_steps", "alpha", "epsilon", "gamma", "q_init", "episode", "fraction"}


def check_policy_snapshot(cell: Mapping[str, Any]) -> None:
    """Cells: ``env`` (a maze id), ``agent`` (an AGENTS name), ``episode`` (>= 1), ``fraction``
    (in (0, 1]: how far into that episode), and the agent's parameters."""
    import gymnasium as gym

    from dynaplan.agents import AGENTS

    unknown = set(cell) - _KEYS
    if unknown:
        raise ParamError(sorted(unknown)[0], f"{sorted(unknown)[0]}: unknown key for kind policy-snapshot")
    if cell.get("agent") not in AGENTS:
        raise ParamError("agent",
                         f"agent: unknown agent {cell.get('agent')!r}; choose from: {', '.join(sorted(AGENTS))}")
    if not isinstance(cell.get("env"), str) or cell["env"] not in gym.registry:
        raise ParamError("env", f"env: unknown env {cell.get('env')!r} (not a registered Gymnasium id)")
    ep = cell.get("episode")
    if isinstance(ep, bool) or not isinstance(ep, numbers.Integral) or ep < 1:
        raise ParamError("episode", f"episode must be an integer >= 1, got {ep!r}")
    frac = cell.get("fraction")
    if isinstance(frac, bool) or not isinstance(frac, numbers.Real) or not 0 < float(frac) <= 1:
        raise ParamError("fraction", f"fraction must be in (0, 1], got {frac!r}")
    AGENTS[str(cell["agent"])].check_params(_params(cell))


def _params(cell: Mapping[str, Any]) -> dict[str, Any]:
    return {k: cell[k] for k in ("planning_steps", "alpha", "epsilon", "gamma", "q_init") if k in cell}


@register_kind("policy-snapshot", check=check_policy_snapshot)
def run_policy_snapshot(cell: Mapping[str, Any], seeds: Sequence[int]) -> pd.DataFrame:
    """The greedy policy and values of an agent ``fraction`` of the way into episode ``episode``;
    one row per (seed, state)."""
    from dynaplan.agents import AGENTS
    from dynaplan.experiments.batch import check_agent_params, problem_of, run_agent

    cls = AGENTS[str(cell["agent"])]
    params = _params(cell)
    checked = check_agent_params(cls, params)  # once per batch; the cell was validated by its check
    problem = problem_of(str(cell["env"]), **dict(cell.get("env_kwargs", {})))
    episode, fraction = int(cell["episode"]), float(cell["fraction"])
    n_cols = _n_cols(str(cell["env"]), dict(cell.get("env_kwargs", {})))
    frames = []
    for seed in seeds:
        full = run_agent(cls, checked, problem, int(seed), episodes=episode)
        lengths = full.episode_steps
        snap = int(lengths[: episode - 1].sum() + max(1, int(fraction * lengths[episode - 1])))
        q = full.agent.q if fraction >= 1.0 else run_agent(cls, checked, problem, int(seed), steps=snap).agent.q
        constant = np.all(q == q[:, :1], axis=1)
        states = np.arange(q.shape[0], dtype=np.int64)
        frames.append(pd.DataFrame({
            "env": str(cell["env"]),
            "agent": str(cell["agent"]),
            "planning_steps": int(params.get("planning_steps", 0)),
            "seed": np.full(q.shape[0], int(seed), dtype=np.int64),
            "state": states,
            "row": states // n_cols,
            "col": states % n_cols,
            "greedy_action": np.where(constant, -1, np.argmax(q, axis=1)).astype(np.int64),
            "value": q.max(axis=1),
            "snapshot_step": snap,
            "episode_1_steps": int(lengths[0]),
            "episode_2_steps": int(lengths[1]) if lengths.shape[0] > 1 else -1,
        }))
    return pd.concat(frames, ignore_index=True)


def _n_cols(env_id: str, env_kwargs: Mapping[str, Any]) -> int:
    import gymnasium as gym

    from dynaplan.plot.animation import maze_layout

    return maze_layout(gym.make(env_id, **env_kwargs)).shape[1]


def q_of(rows: pd.DataFrame) -> np.ndarray:
    """A Q table with the rows' greedy actions and values (others one below; all equal where
    ``greedy_action`` is -1): what the pictures need. float64[S, 4]."""
    rows = rows.sort_values("state")
    v = rows["value"].to_numpy(dtype=float)
    g = rows["greedy_action"].to_numpy()
    q = np.repeat(v[:, None], 4, axis=1)
    has = g >= 0
    q[has] -= 1.0
    q[np.flatnonzero(has), g[has]] = v[has]
    return q


def summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per n: runs, mean states with a policy (Q not constant) at the snapshot, mean snapshot
    step, mean lengths of episodes 1 and 2."""
    per = table.groupby(["planning_steps", "seed"]).agg(
        states_with_policy=("greedy_action", lambda g: int((g >= 0).sum())),
        snapshot_step=("snapshot_step", "first"),
        episode_1_steps=("episode_1_steps", "first"),
        episode_2_steps=("episode_2_steps", "first"),
    ).reset_index()
    out = per.groupby("planning_steps").agg(
        runs=("seed", "nunique"),
        states_with_policy=("states_with_policy", "mean"),
        min_states=("states_with_policy", "min"),
        max_states=("states_with_policy", "max"),
        snapshot_step=("snapshot_step", "mean"),
        episode_2_steps=("episode_2_steps", "mean"),
    ).reset_index()
    return out


def figure(table: pd.DataFrame, path: Path) -> Path:
    """Figure 8.3: one panel per n, for the first run (seed) of the table."""
    import gymnasium as gym

    from dynaplan.plot.animation import maze_layout
    from dynaplan.plot.maze import policies_figure

    layout = maze_layout(gym.make(str(table["env"].iloc[0])))
    seed = int(table["seed"].iloc[0])
    panels = []
    for n, rows in table[table.seed == seed].groupby("planning_steps"):
        step = int(rows["snapshot_step"].iloc[0])
        label = "without planning (n = 0)" if n == 0 else f"with planning (n = {n})"
        panels.append((f"{label}\nstep {step}", layout, q_of(rows)))
    return policies_figure(panels, path, suptitle="Policies halfway through the second episode (Figure 8.3)")


REPRODUCTION = register_reproduction(spec_reproduction("dyna-maze-policies", figure, summary))
