"""Example 8.4 (Figure 8.5's left panel): updates until an optimal solution, Dyna-Q vs prioritized sweeping.

Mazes: the Dyna maze at the book's doubling series of sizes, 47 to 6,016 open cells (each cell
a ``kr x kc`` block, ``envs.scaled_maze``). Both agents take at most ``n = 5`` planning updates
per real step; every Q update is counted: Dyna-Q makes ``n + 1`` per real step (the direct
one and ``n`` planning ones), prioritized sweeping at most ``n`` (the book's boxed algorithm
has no separate direct update; its counter records the updates actually made).

"Optimal solution", exactly: after a real step, **every** greedy path from the start reaches
the goal in the shortest number of steps L (breadth-first search on the layout). A greedy path
follows, in each state, any action whose Q equals the row's maximum exactly (the actions the
agent's random tie-breaking could choose), so Q values tied at 0 in unexplored states do not
count as knowing the way. With ``factor > 1`` the paths may be up to ``floor(factor * L)``
steps long; the shipped spec uses ``factor = 1`` (no slack). The check runs after every real
step, and the run stops at the first step where it holds; ``updates`` is the count then.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numba import njit

from dynaplan.agents import AGENTS
from dynaplan.envs.layouts import shortest_path_length
from dynaplan.envs.scaled_maze import ScaledMaze
from dynaplan.envs.tabular import World, make_world, world_reset, world_step
from dynaplan.experiments.kinds import register_kind
from dynaplan.experiments.reproductions import register_reproduction, spec_reproduction
from dynaplan.planning.protocol import act, generic, observe
from dynaplan.plot.curves import save_figure
from dynaplan.rng import agent_stream, env_stream

BASE_STATES = 47


@njit(cache=True)
def greedy_paths_within(
    q: np.ndarray, next_state: np.ndarray, terminated: np.ndarray, dist: np.ndarray, start: int, max_len: int,
    mark: np.ndarray,
) -> bool:
    """Whether every greedy path from ``start`` ends the episode within ``max_len`` steps.

    ``q: float64[S, A]``; ``next_state: int64[S, A]`` and ``terminated: bool[S, A]`` a
    deterministic model; ``dist: int64[S]`` the fewest steps from each state to the end of the
    episode (``steps_to_end``); greedy actions are those equal to the row maximum.
    ``mark: int64[S]`` is scratch space (any contents). Breadth-first over the set of states
    greedy paths can be in after d steps; fails as soon as one of them cannot end in time
    (``depth + dist > max_len``), so a failing check costs little.
    """
    n_states, n_actions = q.shape
    frontier = np.empty(n_states, dtype=np.int64)
    nxt = np.empty(n_states, dtype=np.int64)
    mark[:] = -1
    frontier[0] = start
    size = 1
    for depth in range(max_len):
        new_size = 0
        for i in range(size):
            s = frontier[i]
            best = q[s, 0]
            for a in range(1, n_actions):
                if q[s, a] > best:
                    best = q[s, a]
            for a in range(n_actions):
                if q[s, a] == best and not terminated[s, a]:
                    s2 = next_state[s, a]
                    if depth + 1 + dist[s2] > max_len:
                        return False
                    if mark[s2] != depth:
                        mark[s2] = depth
                        nxt[new_size] = s2
                        new_size += 1
        if new_size == 0:
            return True
        frontier, nxt = nxt, frontier
        size = new_size
    return False


@generic
@njit(cache=True)
def run_until_optimal(
    world: World, agent: Any, agent_rng: np.ndarray, env_rng: np.ndarray, q: np.ndarray,
    dist: np.ndarray, start: int, max_len: int, max_steps: int,
) -> tuple[int, int]:
    """Run episodes until ``greedy_paths_within(q, ...)`` holds after a real step, or ``max_steps``.

    The same loop as ``planning.loop.run_loop`` (same draws), with the check after each step.
    ``q`` is the agent's Q table (a view of its state). Returns ``(real steps, episodes begun)``;
    real steps = ``max_steps`` and the check false means the run was cut off.
    """
    next_state = world.next_state[0, :, :, 0]
    terminated = world.terminated[0, :, :, 0]
    mark = np.empty(q.shape[0], dtype=np.int64)
    t = 0
    episodes = 1
    s = world_reset(world, t, env_rng)
    while t < max_steps:
        a = act(agent, s, agent_rng)
        s2, r, done = world_step(world, t, s, a, env_rng)
        t += 1
        observe(agent, s, a, r, s2, done, False, agent_rng)
        if greedy_paths_within(q, next_state, terminated, dist, start, max_len, mark):
            return t, episodes
        s = s2
        if done:
            s = world_reset(world, t, env_rng)
            episodes += 1
    return t, episodes


def steps_to_end(next_state: np.ndarray, terminated: np.ndarray) -> np.ndarray:
    """int64[S]: fewest steps from each state to a transition that ends the episode (BFS backward).

    ``next_state: int64[S, A]``, ``terminated: bool[S, A]`` (deterministic). Unreachable: S + 1.
    """
    n_states, n_actions = next_state.shape
    far = n_states + 1
    dist = np.full(n_states, far, dtype=np.int64)
    preds: list[list[int]] = [[] for _ in range(n_states)]
    frontier = []
    for s in range(n_states):
        for a in range(n_actions):
            if terminated[s, a]:
                if dist[s] == far:
                    dist[s] = 1
                    frontier.append(s)
            else:
                preds[int(next_state[s, a])].append(s)
    while frontier:
        new = []
        for s2 in frontier:
            for s in preds[s2]:
                if dist[s] == far:
                    dist[s] = dist[s2] + 1
                    new.append(s)
        frontier = new
    return dist


def scale_for(states: int) -> tuple[int, int]:
    """Block size ``(kr, kc)`` giving ``states = 47 * kr * kc`` open cells, ``kr <= kc`` as close as possible."""
    if isinstance(states, bool) or not isinstance(states, (int, np.integer)) or states < BASE_STATES:
        raise ValueError(f"states must be 47 times a positive integer, got {states!r}")
    m, rem = divmod(int(states), BASE_STATES)
    if rem:
        raise ValueError(f"states must be 47 times a positive integer, got {states!r}")
    kr = max(d for d in range(1, math.isqrt(m) + 1) if m % d == 0)
    return kr, m // kr


AGENT_KEYS = {"planning_steps", "alpha", "epsilon", "gamma", "q_init", "theta", "model", "max_outcomes"}
CELL_KEYS = {"agent", "states", "max_steps", "factor"} | AGENT_KEYS


def check_cell(cell: Mapping[str, Any]) -> None:
    """Validate a cell of kind ``until-optimal`` (ValueError starting with the key's name)."""
    for key in cell:
        if key not in CELL_KEYS:
            raise ValueError(f"{key}: unknown key for kind until-optimal (keys: {', '.join(sorted(CELL_KEYS))})")
    agent = cell.get("agent")
    if agent not in AGENTS:
        raise ValueError(f"agent must be one of {', '.join(sorted(AGENTS))}, got {agent!r}")
    scale_for(cell.get("states"))  # type: ignore[arg-type]
    max_steps = cell.get("max_steps", 0)
    if isinstance(max_steps, bool) or not isinstance(max_steps, int) or max_steps <= 0:
        raise ValueError(f"max_steps must be a positive integer, got {max_steps!r}")
    factor = cell.get("factor", 1.0)
    if isinstance(factor, bool) or not isinstance(factor, (int, float)) or factor < 1.0:
        raise ValueError(f"factor must be a number >= 1, got {factor!r}")
    AGENTS[str(agent)].check_params({k: v for k, v in cell.items() if k in AGENT_KEYS})


def _updates_made(agent_name: str, state: Any, params: Mapping[str, Any], steps: int) -> int:
    updates = getattr(state, "updates", None)
    if updates is not None:
        return int(updates[0])
    # Dyna-Q and Q-learning: one direct update and planning_steps planning updates per real step.
    return steps * (1 + int(params.get("planning_steps", 0)))


def until_optimal(cell: Mapping[str, Any], seeds: Sequence[int]) -> pd.DataFrame:
    """Kind ``until-optimal``: real steps and updates until every greedy path from the start is shortest.

    Cell keys: ``agent``, ``states`` (47 x kr x kc, a scaled Dyna maze), ``max_steps`` (real-step
    cap per run), ``factor`` (>= 1, allowed path length factor; default 1) and the agent's
    parameters. One row per seed: ``agent, alpha, q_init, planning_steps, states, seed, updates,
    steps, episodes, optimal, shortest_path``.
    """
    check_cell(cell)
    agent_name = str(cell["agent"])
    cls = AGENTS[agent_name]
    params = cls.check_params({k: v for k, v in cell.items() if k in AGENT_KEYS})
    states = int(cell["states"])
    env = ScaledMaze(scale=scale_for(states))
    layout = env.layout
    shortest = shortest_path_length(layout.walls, layout.start, layout.goals)
    assert shortest is not None
    max_len = math.floor(float(cell.get("factor", 1.0)) * shortest + 1e-9)
    world = make_world([env.model])
    next_state, terminated = world.next_state[0, :, :, 0], world.terminated[0, :, :, 0]
    dist = steps_to_end(next_state, terminated)
    start = env.to_state(*layout.start)
    assert dist[start] == shortest
    rows = []
    for seed in seeds:
        state = cls.build_state(env.model.n_states, env.model.n_actions, None, params)
        q = state.q  # type: ignore[attr-defined]
        steps, episodes = run_until_optimal(
            world, state, agent_stream(int(seed)), env_stream(int(seed)), q, dist, start, max_len,
            int(cell["max_steps"]),
        )
        mark = np.empty(q.shape[0], dtype=np.int64)
        ok = bool(greedy_paths_within(q, next_state, terminated, dist, start, max_len, mark))
        rows.append(
            {
                "agent": agent_name,
                "alpha": float(params["alpha"]),
                "q_init": float(params["q_init"]),
                "planning_steps": int(params.get("planning_steps", 0)),
                "states": states,
                "seed": int(seed),
                "updates": _updates_made(agent_name, state, params, steps),
                "steps": int(steps),
                "episodes": int(episodes),
                "optimal": ok,
                "shortest_path": int(shortest),
            }
        )
    return pd.DataFrame(rows)


register_kind("until-optimal", check=check_cell)(until_optimal)


# -- figure and summary, from the table only -------------------------------------------------
LABELS = {"dyna-q": "Dyna-Q", "prioritized-sweeping": "Prioritized sweeping"}


VARIANTS = ("alpha", "q_init")
"""Columns that may vary between the spec's cells besides agent and size (one panel each)."""


def _groups(table: pd.DataFrame) -> list[str]:
    return [k for k in VARIANTS if k in table and table[k].nunique() > 1]


def per_size(table: pd.DataFrame) -> pd.DataFrame:
    """Per (alpha and q_init where they vary, agent, states): runs, runs cut off before an optimal solution,
    median and quartiles of the updates, median real steps. A cut-off run counts as infinitely
    many updates and steps (conservative: it can only raise that agent's median)."""
    keys = [*_groups(table), "agent", "states"]
    t = table.copy()
    ok = t["optimal"].astype(bool)
    t["updates"] = t["updates"].astype(float).where(ok, np.inf)
    t["steps"] = t["steps"].astype(float).where(ok, np.inf)
    out = t.groupby(keys).agg(
        runs=("seed", "size"),
        cut_off=("optimal", lambda x: int((~x.astype(bool)).sum())),
        median_updates=("updates", "median"),
        q25=("updates", lambda x: float(np.quantile(x, 0.25, method="lower"))),
        q75=("updates", lambda x: float(np.quantile(x, 0.75, method="higher"))),
        median_steps=("steps", "median"),
    ).reset_index()
    return out


def summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per maze size (and alpha, q_init where they vary): median updates until an optimal solution of Dyna-Q
    (``dq_updates``) and prioritized sweeping (``ps_updates``), the speed-up (their ratio), the
    median real steps, and the runs cut off by ``max_steps`` (``Dyna-Q/PS``)."""
    sizes = per_size(table)
    keys = [*_groups(table), "states"]
    rows = []
    for key, g in sizes.groupby(keys):
        by: dict[str, Any] = {str(r["agent"]): r for r in g.to_dict("records")}
        if "dyna-q" not in by or "prioritized-sweeping" not in by:
            continue
        dq, ps = by["dyna-q"], by["prioritized-sweeping"]
        row: dict[str, Any] = dict(zip(keys, key if isinstance(key, tuple) else (key,), strict=True))
        row.update({
            "runs": int(min(dq["runs"], ps["runs"])),
            "dq_updates": float(dq["median_updates"]),
            "ps_updates": float(ps["median_updates"]),
            "speedup": round(float(dq["median_updates"]) / max(float(ps["median_updates"]), 1.0), 1),
            "dq_steps": float(dq["median_steps"]),
            "ps_steps": float(ps["median_steps"]),
            "cut_off": f"{dq['cut_off']}/{ps['cut_off']}",
        })
        rows.append(row)
    return pd.DataFrame(rows)


def figure(table: pd.DataFrame, path: Path) -> Path:
    """Updates until an optimal solution against the number of states, log-log (Figure 8.5 left's
    style): median over runs with the interquartile range, one panel per alpha / q_init variant."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = per_size(table)
    groups = _groups(table)
    panels: list[tuple[float, ...] | None] = [None]
    if groups:
        panels = list(sorted({tuple(row) for row in sizes[groups].to_numpy().tolist()}))
    fig, axes = plt.subplots(1, len(panels), figsize=(6.2 * len(panels), 4.5), dpi=120, squeeze=False)
    runs = int(table.groupby(["agent", "states"])["seed"].nunique().min())
    for ax, panel in zip(axes[0], panels, strict=True):
        values = () if panel is None else panel
        part = sizes
        for key, value in zip(groups, values, strict=True):
            part = part[part[key] == value]
        for agent, label in LABELS.items():
            c = part[part.agent == agent].sort_values("states")
            if c.empty:
                continue
            (line,) = ax.plot(c.states, c.median_updates, marker="o", lw=1.6, label=label)
            # no band where the upper quartile is a cut-off run (unknown, counted as infinite)
            top = np.where(np.isfinite(c.q75), c.q75, np.nan)
            ax.fill_between(c.states, c.q25, top, color=line.get_color(), alpha=0.2, lw=0)
            cut = c[(c.cut_off > 0) & np.isfinite(c.median_updates)]
            if not cut.empty:
                ax.scatter(cut.states, cut.median_updates, marker="x", color="black", zorder=3,
                           label=f"{label}: some runs cut off (counted as infinite)")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ticks = sorted(part["states"].unique())
        ax.set_xticks(ticks, [str(t) for t in ticks], fontsize=8)
        ax.minorticks_off()
        ax.set_xlabel("Gridworld size (#states)")
        ax.set_ylabel("Updates until optimal solution")
        sub = "".join(f"{key} = {value:g}, " for key, value in zip(groups, values, strict=True))
        ax.set_title(f"{sub}n = 5, median of {runs} runs, IQR band", fontsize=9)
        ax.grid(alpha=0.3, which="both")
        ax.legend(frameon=False)
    fig.suptitle("Prioritized sweeping vs Dyna-Q in scaled Dyna mazes (Sutton & Barto, Example 8.4)")
    return save_figure(fig, path)


PRIORITIZED_SWEEPING = register_reproduction(spec_reproduction("prioritized-sweeping", figure, summary))
