"""Example 8.4 (Figure 8.5's left panel): updates until an optimal solution, Dyna-Q vs prioritized sweeping.

Mazes: the Dyna maze at the book's doubling series of sizes, 47 to 6,016 open cells (each cell
a ``kr x kc`` block, ``envs.scaled_maze``). Both agents take at most ``n = 5`` planning updates
per real step. Two currencies, both counted in the kernels: **value updates** (Dyna-Q makes
``n + 1`` per real step, the direct one and ``n`` planning ones; prioritized sweeping at most
``n``: the book's boxed algorithm has no separate direct update) and **max-Q computations**
(every max over a row of Q, ``max_a Q(S', a)``: one per Dyna-Q update, and for prioritized
sweeping one per update target plus one per priority it evaluates, the real pair's and every
predecessor's), so the comparison is fair in either.

"Optimal solution" (kind ``until-optimal``), checked by a loop hook inside the compiled episode
loop (``core.loop.run_loop``), at every real step (``check = "step"``) or at the end of each
episode (``check = "episode"``): the greedy path from the start reaches the goal within
``floor(factor * L)`` steps, L the shortest path (breadth-first search). ``greedy = "argmax"``
follows the first maximal action in each state (``numpy.argmax``); ``greedy = "all"`` requires
**every** greedy path (any action whose Q equals the row maximum exactly, the actions the
agent's random tie-breaking could choose) to do so. The shipped spec uses the criterion of the
widely used reference code (Zhang's reinforcement-learning-an-introduction, chapter08
``check_path``): ``argmax`` path, ``factor = 1.2``, checked after each episode; the run stops at
the first check that holds, and ``updates`` / ``max_q`` are the counts then.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from numba import njit

from dynaplan._jit import kernel
from dynaplan.agents import AGENTS
from dynaplan.agents.base import ParamError
from dynaplan.agents.views import view_of
from dynaplan.core.kernels import register_hook
from dynaplan.core.loop import Chunker, new_loop_state, run_chunked
from dynaplan.envs.layouts import shortest_path_length
from dynaplan.envs.scaled_maze import ScaledMaze
from dynaplan.envs.tabular import make_world
from dynaplan.experiments.batch import check_agent_params
from dynaplan.experiments.kinds import register_kind
from dynaplan.experiments.reproductions import register_reproduction, spec_reproduction
from dynaplan.planning.dyna_q import DynaQState
from dynaplan.planning.probe import with_probe
from dynaplan.plot.curves import save_figure
from dynaplan.rng import agent_stream, env_stream
from dynaplan.stats import median_interval, ratio_interval

BASE_STATES = 47


@kernel
def all_greedy_paths_within(
    q: np.ndarray, next_state: np.ndarray, terminated: np.ndarray, dist: np.ndarray, start: int, max_len: int,
    mark: np.ndarray, frontier: np.ndarray, nxt: np.ndarray,
) -> bool:
    """Whether every greedy path from ``start`` ends the episode within ``max_len`` steps.

    ``q: float64[S, A]``; ``next_state: int64[S, A]`` and ``terminated: bool[S, A]`` a
    deterministic model; ``dist: int64[S]`` the fewest steps from each state to the end of the
    episode (``steps_to_end``); greedy actions are those equal to the row maximum.
    ``mark``, ``frontier``, ``nxt: int64[S]`` are scratch space (any contents). Breadth-first
    over the set of states greedy paths can be in after d steps; fails as soon as one of them
    cannot end in time (``depth + dist > max_len``), so a failing check costs little.
    """
    n_actions = q.shape[1]
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


@njit(cache=True)
def greedy_paths_within(
    q: np.ndarray, next_state: np.ndarray, terminated: np.ndarray, dist: np.ndarray, start: int, max_len: int,
    mark: np.ndarray,
) -> bool:
    """``all_greedy_paths_within`` with its own scratch arrays (``mark: int64[S]`` given)."""
    n_states = q.shape[0]
    return all_greedy_paths_within(q, next_state, terminated, dist, start, max_len, mark,
                                   np.empty(n_states, dtype=np.int64), np.empty(n_states, dtype=np.int64))


@kernel
def argmax_path_within(q: np.ndarray, next_state: np.ndarray, terminated: np.ndarray, start: int,
                       max_len: int) -> bool:
    """Whether the path that takes the first maximal action in each state (ties to the lowest
    index, ``numpy.argmax``) ends the episode within ``max_len`` steps (the reference code's
    ``check_path``). Arguments as ``all_greedy_paths_within``."""
    n_actions = q.shape[1]
    s = start
    for _ in range(max_len):
        a = 0
        for b in range(1, n_actions):
            if q[s, b] > q[s, a]:
                a = b
        if terminated[s, a]:
            return True
        s = next_state[s, a]
    return False


class GreedyPathHook(NamedTuple):
    """Loop hook: stop the run when the greedy path from the start is short enough.

    Attributes:
      q: float64[S, A], the agent's Q table (a view of its state)
      next_state: int64[S, A], terminated: bool[S, A]: the deterministic maze
      dist: int64[S], steps to the end of the episode (``steps_to_end``)
      start, max_len: the start state and the longest path allowed
      all_paths: every greedy path (True) or the argmax path (False)
      at_episode_end: check only when an episode ends (True) or after every real step
      mark, frontier, nxt: int64[S] scratch space
    """

    q: np.ndarray
    next_state: np.ndarray
    terminated: np.ndarray
    dist: np.ndarray
    start: int
    max_len: int
    all_paths: bool
    at_episode_end: bool
    mark: np.ndarray
    frontier: np.ndarray
    nxt: np.ndarray


@kernel
def path_short_enough(hook: GreedyPathHook) -> bool:
    """The hook's criterion, now."""
    if hook.all_paths:
        return all_greedy_paths_within(hook.q, hook.next_state, hook.terminated, hook.dist, hook.start, hook.max_len,
                                       hook.mark, hook.frontier, hook.nxt)
    return argmax_path_within(hook.q, hook.next_state, hook.terminated, hook.start, hook.max_len)


@kernel
def greedy_path_hook(hook: GreedyPathHook, agent: Any, t: int, episodes: int, s: int, a: int, r: float, s2: int,
                     terminated: bool, truncated: bool) -> bool:
    if hook.at_episode_end and not (terminated or truncated):
        return False
    return path_short_enough(hook)


register_hook(GreedyPathHook, after_step=greedy_path_hook)


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
        raise ParamError("states", f"states must be 47 times a positive integer, got {states!r}")
    m, rem = divmod(int(states), BASE_STATES)
    if rem:
        raise ParamError("states", f"states must be 47 times a positive integer, got {states!r}")
    kr = max(d for d in range(1, math.isqrt(m) + 1) if m % d == 0)
    return kr, m // kr


AGENT_KEYS = {"planning_steps", "alpha", "epsilon", "gamma", "q_init", "theta", "model", "max_outcomes"}
CELL_KEYS = {"agent", "states", "max_steps", "factor", "greedy", "check"} | AGENT_KEYS
CHOICES = {"greedy": ("all", "argmax"), "check": ("step", "episode")}


def check_cell(cell: Mapping[str, Any]) -> None:
    """Validate a cell of kind ``until-optimal`` (``ParamError`` naming the key)."""
    for key in cell:
        if key not in CELL_KEYS:
            raise ParamError(key, f"{key}: unknown key for kind until-optimal (keys: {', '.join(sorted(CELL_KEYS))})")
    agent = cell.get("agent")
    if agent not in AGENTS:
        raise ParamError("agent", f"agent must be one of {', '.join(sorted(AGENTS))}, got {agent!r}")
    scale_for(cell.get("states"))  # type: ignore[arg-type]
    max_steps = cell.get("max_steps", 0)
    if isinstance(max_steps, bool) or not isinstance(max_steps, int) or max_steps <= 0:
        raise ParamError("max_steps", f"max_steps must be a positive integer, got {max_steps!r}")
    factor = cell.get("factor", 1.0)
    if isinstance(factor, bool) or not isinstance(factor, (int, float)) or factor < 1.0:
        raise ParamError("factor", f"factor must be a number >= 1, got {factor!r}")
    for key, choices in CHOICES.items():
        if cell.get(key, choices[0]) not in choices:
            raise ParamError(key, f"{key} must be one of {', '.join(map(repr, choices))}, got {cell[key]!r}")
    AGENTS[str(agent)].check_params({k: v for k, v in cell.items() if k in AGENT_KEYS})


def _updates_made(state: Any, params: Mapping[str, Any], steps: int) -> int:
    updates = getattr(state, "updates", None)
    if updates is not None:
        return int(updates[0])
    # Dyna-Q and Q-learning: one direct update and planning_steps planning updates per real step.
    return steps * (1 + int(params.get("planning_steps", 0)))


def until_optimal(cell: Mapping[str, Any], seeds: Sequence[int]) -> pd.DataFrame:
    """Kind ``until-optimal``: real steps, updates and max-Q computations until the greedy path is short enough.

    Cell keys: ``agent``, ``states`` (47 x kr x kc, a scaled Dyna maze), ``max_steps`` (real-step
    cap per run), ``factor`` (>= 1: paths of up to ``floor(factor * L)`` steps count; default 1),
    ``greedy`` (``"all"``, default, or ``"argmax"``), ``check`` (``"step"``, default, or
    ``"episode"``) and the agent's parameters. One row per seed: ``agent, alpha, q_init,
    planning_steps, states, seed, updates, max_q, steps, episodes, optimal, shortest_path``
    (``max_q`` -1 for an agent that does not count them; ``episodes`` begun).
    """
    agent_name = str(cell["agent"])
    cls = AGENTS[agent_name]
    params = check_agent_params(cls, {k: v for k, v in cell.items() if k in AGENT_KEYS}).params
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
    n = env.model.n_states
    empty_i, empty_f = np.zeros(0, dtype=np.int64), np.zeros(0)
    chunker = Chunker()
    rows = []
    for seed in seeds:
        state = cls.build_state(env.model.n_states, env.model.n_actions, None, params)
        if isinstance(state, DynaQState):
            state = with_probe(state, 0)  # Dyna-Q counts its max-Q computations through a probe
        hook = GreedyPathHook(
            q=state.q, next_state=next_state, terminated=terminated, dist=dist, start=int(start),  # type: ignore[attr-defined]
            max_len=int(max_len), all_paths=cell.get("greedy", "all") == "all",
            at_episode_end=cell.get("check", "step") == "episode",
            mark=np.empty(n, dtype=np.int64), frontier=np.empty(n, dtype=np.int64), nxt=np.empty(n, dtype=np.int64),
        )
        loop = run_chunked(world, state, agent_stream(int(seed)), env_stream(int(seed)), 0, int(cell["max_steps"]), 0,
                           empty_i, empty_f, empty_f, loop=new_loop_state(), hook=hook, chunker=chunker)
        steps = int(loop.t[0])
        max_q = view_of(state).max_q
        rows.append(
            {
                "agent": agent_name,
                "alpha": float(params["alpha"]),
                "q_init": float(params["q_init"]),
                "planning_steps": int(params.get("planning_steps", 0)),
                "states": states,
                "seed": int(seed),
                "updates": _updates_made(state, params, steps),
                "max_q": max_q if max_q is not None else -1,
                "steps": steps,
                "episodes": int(loop.episodes[0]) + (1 if loop.steps[0] > 0 else 0),
                "optimal": bool(loop.stopped[0]) or bool(path_short_enough(hook)),
                "shortest_path": int(shortest),
            }
        )
    return pd.DataFrame(rows)


register_kind("until-optimal", check=check_cell)(until_optimal)


# -- figure and summary, from the table only -------------------------------------------------
LABELS = {"dyna-q": "Dyna-Q", "prioritized-sweeping": "Prioritized sweeping"}
CURRENCIES = {"updates": "Value updates", "max_q": "Max-Q computations"}


VARIANTS = ("alpha", "q_init")
"""Columns that may vary between the spec's cells besides agent and size (one panel each)."""


def _groups(table: pd.DataFrame) -> list[str]:
    return [k for k in VARIANTS if k in table and table[k].nunique() > 1]


def _cost(g: pd.DataFrame, currency: str) -> np.ndarray:
    """Per run, the cost in ``currency``; a run cut off before an optimal solution counts as
    infinitely costly (conservative: it can only raise that agent's figures)."""
    ok = g["optimal"].astype(bool).to_numpy()
    values = g[currency].astype(float).to_numpy()
    return np.where(ok & (values >= 0), values, np.inf)


def per_size(table: pd.DataFrame) -> pd.DataFrame:
    """Per (alpha and q_init where they vary, agent, states): runs, runs cut off before an optimal
    solution, and for updates and max-Q computations the median with its 95% interval (cut-off
    runs count as infinite), and the median real steps."""
    keys = [*_groups(table), "agent", "states"]
    rows = []
    for key, g in table.groupby(keys):
        row: dict[str, Any] = dict(zip(keys, key if isinstance(key, tuple) else (key,), strict=True))
        row["runs"] = len(g)
        row["cut_off"] = int((~g["optimal"].astype(bool)).sum())
        for currency in CURRENCIES:
            cost = _cost(g, currency) if currency in g else np.full(len(g), np.nan)
            median, lo, hi = median_interval(cost)
            row.update({f"{currency}_median": median, f"{currency}_lo": lo, f"{currency}_hi": hi})
        row["median_steps"] = float(np.median(_cost(g, "steps")))
        rows.append(row)
    return pd.DataFrame(rows)


def summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per maze size (and alpha, q_init where they vary): median updates until an optimal solution
    of Dyna-Q (``dq_updates``) and prioritized sweeping (``ps_updates``) and the speed-up (the
    ratio of the medians) with its 95% bootstrap interval over runs (``ci``); the same in max-Q
    computations (``dq_max_q``, ``ps_max_q``, ``speedup_max_q``, ``ci_max_q``); the runs, and
    the runs cut off by ``max_steps`` (``Dyna-Q/PS``)."""
    keys = [*_groups(table), "states"]
    rows = []
    for key, g in table.groupby(keys):
        dq, ps = g[g.agent == "dyna-q"], g[g.agent == "prioritized-sweeping"]
        if dq.empty or ps.empty:
            continue
        row: dict[str, Any] = dict(zip(keys, key if isinstance(key, tuple) else (key,), strict=True))
        row["runs"] = int(min(len(dq), len(ps)))
        for currency, suffix in (("updates", ""), ("max_q", "_max_q")):
            if currency not in g:
                continue
            a, b = _cost(dq, currency), _cost(ps, currency)
            ratio, lo, hi = ratio_interval(a, b)
            row.update({f"dq_{currency}": float(np.median(a)), f"ps_{currency}": float(np.median(b)),
                        f"speedup{suffix}": round(ratio, 2), f"ci{suffix}": f"{lo:.2f}-{hi:.2f}"})
        row["cut_off"] = f"{int((~dq.optimal.astype(bool)).sum())}/{int((~ps.optimal.astype(bool)).sum())}"
        rows.append(row)
    return pd.DataFrame(rows)


def figure(table: pd.DataFrame, path: Path) -> Path:
    """Updates (top) and max-Q computations (bottom) until an optimal solution against the number
    of states, log-log (Figure 8.5 left's style): mean over runs with its 95% interval, one column
    of panels per alpha / q_init variant (the book's setting, Q0 = 0, first): median over runs
    with its 95% interval."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = per_size(table)
    groups = _groups(table)
    panels: list[tuple[float, ...] | None] = [None]
    if groups:
        panels = list(sorted({tuple(row) for row in sizes[groups].to_numpy().tolist()}))
    currencies = [c for c in CURRENCIES if c in table]
    fig, axes = plt.subplots(len(currencies), len(panels), figsize=(6.2 * len(panels), 4.3 * len(currencies)),
                             dpi=120, squeeze=False)
    runs = int(table.groupby(["agent", "states"])["seed"].nunique().min())
    for j, panel in enumerate(panels):
        values = () if panel is None else panel
        part = sizes
        for key, value in zip(groups, values, strict=True):
            part = part[part[key] == value]
        for i, currency in enumerate(currencies):
            ax = axes[i, j]
            for agent, label in LABELS.items():
                c = part[part.agent == agent].sort_values("states")
                if c.empty:
                    continue
                (line,) = ax.plot(c.states, c[f"{currency}_median"], marker="o", lw=1.6, label=label)
                ax.fill_between(c.states, c[f"{currency}_lo"], c[f"{currency}_hi"], color=line.get_color(),
                                alpha=0.2, lw=0)
                cut = c[(c.cut_off > 0)]
                if not cut.empty:
                    ax.scatter(cut.states, np.full(len(cut), ax.get_ylim()[1]), marker="x", color="black",
                               zorder=3, label=f"{label}: some runs cut off (counted as infinite)")
            ax.set_xscale("log")
            ax.set_yscale("log")
            ticks = sorted(part["states"].unique())
            ax.set_xticks(ticks, [str(t) for t in ticks], fontsize=8)
            ax.minorticks_off()
            ax.set_xlabel("Gridworld size (#states)")
            ax.set_ylabel(f"{CURRENCIES[currency]} until optimal solution")
            named = dict(zip(groups, values, strict=True))
            setting = ""
            if "q_init" in named:
                setting = "book's setting, " if named["q_init"] == 0 else "optimistic, "
            sub = setting + "".join(f"{key} = {value:g}, " for key, value in named.items())
            ax.set_title(f"{sub}n = 5, median of {runs} runs, 95% band", fontsize=9)
            ax.grid(alpha=0.3, which="both")
            ax.legend(frameon=False, fontsize=8)
    fig.suptitle("Prioritized sweeping vs Dyna-Q in scaled Dyna mazes (Sutton & Barto, Example 8.4)")
    return save_figure(fig, path)


PRIORITIZED_SWEEPING = register_reproduction(spec_reproduction("prioritized-sweeping", figure, summary))
