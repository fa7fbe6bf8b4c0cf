"""Kinds of runs: pure functions from (cell, seeds) to tidy result rows.

An experiment is a grid of *cells* (one combination of env, agent and parameters) times a list
of seeds. A *kind* says how one cell is run for a batch of seeds and which rows it returns; it
must be a pure function of its arguments (randomness only from the seeds), so results do not
depend on which process, machine or order runs them. Register one with ``@register_kind``.

The built-in kind ``episodes`` runs an agent for a number of episodes on an env and returns one
row per (seed, episode) with columns ``agent, planning_steps, seed, episode, steps, return``
plus the cell's other parameters.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from dynaplan.agents import AGENTS
from dynaplan.experiments.batch import problem_of, run_batch

RunFn = Callable[[Mapping[str, Any], Sequence[int]], pd.DataFrame]


@dataclass(frozen=True)
class Kind:
    """A registered kind of run.

    Attributes:
      name: the name specs use (``kind = "episodes"``)
      run: ``run(cell, seeds) -> DataFrame`` with a ``seed`` column
      doc: one line for listings
    """

    name: str
    run: RunFn
    doc: str


KINDS: dict[str, Kind] = {}


def register_kind(name: str, doc: str = "") -> Callable[[RunFn], RunFn]:
    """Register ``run(cell, seeds) -> DataFrame`` as kind ``name`` (a decorator)."""

    def deco(fn: RunFn) -> RunFn:
        KINDS[name] = Kind(name, fn, doc or (fn.__doc__ or "").strip().splitlines()[0])
        return fn

    return deco


def env_id_or_maze(cell: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """The env id and keyword arguments a cell names (``env`` id, or ``maze`` file path)."""
    if cell.get("maze"):
        return "dynaplan/GridMaze-v0", {"layout": str(cell["maze"])}
    return str(cell["env"]), dict(cell.get("env_kwargs", {}))


@register_kind("episodes", "an agent for a number of episodes; one row per (seed, episode)")
def run_episodes(cell: Mapping[str, Any], seeds: Sequence[int]) -> pd.DataFrame:
    """Cell keys: ``env`` (or ``maze``), ``agent``, ``episodes``, and the agent's parameters."""
    agent_name = str(cell["agent"])
    cls = AGENTS[agent_name]
    reserved = {"env", "maze", "env_kwargs", "agent", "episodes"}
    params = {k: v for k, v in cell.items() if k not in reserved}
    env_id, env_kwargs = env_id_or_maze(cell)
    problem = problem_of(env_id, **env_kwargs)
    episodes = int(cell["episodes"])
    results = run_batch(cls, params, problem, seeds, episodes=episodes)
    checked = cls.check_params(params)
    frames = []
    for res in results:
        n = len(res.episode_steps)
        frames.append(
            pd.DataFrame(
                {
                    "agent": agent_name,
                    "planning_steps": int(checked.get("planning_steps", 0)),
                    "seed": np.full(n, res.seed, dtype=np.int64),
                    "episode": np.arange(1, n + 1, dtype=np.int64),
                    "steps": res.episode_steps,
                    "return": res.episode_returns,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)
