"""Kinds of runs: pure functions from (cell, seeds) to tidy result rows.

An experiment is a grid of *cells* (one combination of env, agent and parameters) times a list
of seeds. A *kind* says how one cell is run for a batch of seeds and which rows it returns; it
must be a pure function of its arguments (randomness only from the seeds), so results do not
depend on which process, machine or order runs them. Register one with ``@register_kind``.

A kind may also give ``check(cell)``: raise ``agents.base.ParamError(key, message)`` (a
``ValueError``) for a bad or unknown key (``ParamError("alpha", "alpha must be in (0, 1], got
2")``); specs are validated with it before anything runs, so a typo is one line naming the spec
file and key, not a crash in a worker. Checked once there: a kind's ``run`` does not validate
again (it only fills in defaults, once per batch of seeds).
Workers find a kind by name, importing the module that registered it (``Kind.module``).

The built-in kind ``episodes`` runs an agent (``agent``, any name in ``AGENTS``, of any family,
with its parameters; a linear agent sees the env through its default features) on an env
(``env``: a registered id with ``env_kwargs``, or ``maze``: a layout file) for ``episodes``
episodes and/or ``steps`` real steps, and returns one row per finished (seed, episode) with
columns ``agent, planning_steps, seed, episode, steps, return``; the runner
adds the keys that vary between cells (``alpha``...) as columns. An episode is truncated after
``max_episode_steps`` real steps: the cell's value if given (0: never), else the env's own
``TimeLimit``, else ``DEFAULT_MAX_EPISODE_STEPS`` (100,000), so an episode that never ends
(MCTS walking along a cliff) still ends; ``episode_step_limit(cell)`` says which applies.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dynaplan.agents import AGENTS
from dynaplan.agents.base import ParamError
from dynaplan.experiments.batch import Checked, check_agent_params, problem_of, run_batch

RunFn = Callable[[Mapping[str, Any], Sequence[int]], pd.DataFrame]
CheckFn = Callable[[Mapping[str, Any]], Any]


@dataclass(frozen=True)
class Kind:
    """A registered kind of run.

    Attributes:
      name: the name specs use (``kind = "episodes"``)
      run: ``run(cell, seeds) -> DataFrame`` with a ``seed`` column
      doc: one line for listings
      check: ``check(cell)`` raises ``agents.base.ParamError(key, message)`` for a bad cell; what
        it returns (e.g. the agent's checked parameters) travels with the cell to the workers
        (``CheckedCell``), so ``run`` need not check again
      module: the module that registered it (imported by workers to find it)
    """

    name: str
    run: RunFn
    doc: str
    check: CheckFn | None = None
    module: str = ""


KINDS: dict[str, Kind] = {}


def register_kind(name: str, doc: str = "", check: CheckFn | None = None) -> Callable[[RunFn], RunFn]:
    """Register ``run(cell, seeds) -> DataFrame`` as kind ``name`` (a decorator).

    ``check(cell)``, if given, validates a cell before any run (``ParamError(key, message)``: the
    spec error is placed at ``key``; any other ``ValueError`` is placed at the cell).
    """

    def deco(fn: RunFn) -> RunFn:
        lines = (fn.__doc__ or "").strip().splitlines()
        KINDS[name] = Kind(name, fn, doc or (lines[0] if lines else name), check, fn.__module__)
        return fn

    return deco


class CheckedCell(dict):  # type: ignore[type-arg]
    """A cell (its keys, as a dict) with ``checked``: what its kind's ``check`` returned for it.

    Made once per cell where the spec is validated and planned (``check_cell_once``) and sent with
    each task of the cell to the workers; a kind's ``run`` reads it with ``checked_of(cell)``.
    """

    def __init__(self, cell: Mapping[str, Any], checked: Any) -> None:
        super().__init__(cell)
        self.checked = checked

    def __reduce__(self) -> tuple[Any, ...]:
        return type(self), (dict(self), self.checked)


def checked_of(cell: Mapping[str, Any]) -> Any:
    """What the kind's ``check`` returned for ``cell`` if it travelled with it (a ``CheckedCell``), else None."""
    return getattr(cell, "checked", None)


_CHECKED: dict[tuple[str, str], Any] = {}
_CHECKED_MAX = 4096


def check_cell_once(kind: Kind, cell: Mapping[str, Any]) -> Any:
    """``kind.check(cell)``, called at most once per distinct cell in this process (validation,
    then planning, reuse the result); None for a kind without ``check``."""
    if kind.check is None:
        return None
    if isinstance(cell, CheckedCell):
        return cell.checked
    from dynaplan.experiments.spec.model import canonical_json

    key = (kind.name, canonical_json(dict(cell)))
    if key not in _CHECKED:
        if len(_CHECKED) >= _CHECKED_MAX:
            _CHECKED.clear()
        _CHECKED[key] = kind.check(cell)
    return _CHECKED[key]


SHIPPED_PACKAGE = "dynaplan.experiments.reproductions"
"""The package whose ``load_all()`` registers the shipped kinds. Imported by name: the
reproductions import this module, so a static import back would be a circle."""


def load_kinds() -> dict[str, Kind]:
    """Every kind shipped with dynaplan (importing the reproductions registers theirs)."""
    import importlib

    importlib.import_module(SHIPPED_PACKAGE).load_all()
    return KINDS


def get_kind(name: str, module: str = "") -> Kind:
    """The kind ``name``, importing ``module`` (or every shipped reproduction) to find it."""
    if name not in KINDS and module:
        from dynaplan.core.modules import import_modules

        import_modules(module)
    if name not in KINDS:
        load_kinds()
    if name not in KINDS:
        raise ValueError(f"unknown kind {name!r}; choose from: {', '.join(sorted(KINDS))}")
    return KINDS[name]


def env_id_or_maze(cell: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """The env id and keyword arguments a cell names (``env`` id, or ``maze`` file path)."""
    if cell.get("maze"):
        return "dynaplan/GridMaze-v0", {"layout": str(cell["maze"])}
    return str(cell["env"]), dict(cell.get("env_kwargs", {}))


_RESERVED = {"env", "maze", "env_kwargs", "agent", "episodes", "steps", "max_episode_steps"}

DEFAULT_MAX_EPISODE_STEPS = 100_000
"""Per-episode step limit of the ``episodes`` kind where neither the cell nor the env sets one."""


def episode_step_limit(cell: Mapping[str, Any]) -> tuple[int, str]:
    """The per-episode step limit an ``episodes`` cell runs with, and where it comes from.

    ``(cell["max_episode_steps"], "cell")`` if the cell sets it (0: no limit); else the env's
    ``TimeLimit`` ``(n, "env")``; else ``(DEFAULT_MAX_EPISODE_STEPS, "default")``. For a
    validated cell.
    """
    if "max_episode_steps" in cell:
        return int(cell["max_episode_steps"]), "cell"
    env_id, env_kwargs = env_id_or_maze(cell)
    limit = _env_limit(env_id, json.dumps(env_kwargs, sort_keys=True))
    return (limit, "env") if limit > 0 else (DEFAULT_MAX_EPISODE_STEPS, "default")


@functools.lru_cache(maxsize=64)
def _env_limit(env_id: str, env_kwargs_json: str) -> int:
    import gymnasium as gym

    spec = gym.spec(env_id)
    limit = json.loads(env_kwargs_json).get("max_episode_steps", spec.max_episode_steps)
    return int(limit or 0)


def check_episodes(cell: Mapping[str, Any]) -> Checked:
    """``episodes`` cells: an agent name in ``AGENTS``, one of ``env`` (a registered id whose env
    has an exact tabular model) or ``maze`` (a layout file), ``episodes`` >= 1 and/or ``steps``
    >= 1 (a run ends at whichever comes first), optional ``max_episode_steps`` >= 0 (0: no
    limit), and parameters the agent accepts. Raises ``ParamError`` naming the key; returns the
    agent's checked parameters (a ``Checked`` record, carried to the workers with the cell)."""
    import gymnasium as gym

    agent = cell.get("agent")
    if agent not in AGENTS:
        raise ParamError("agent", f"agent: unknown agent {agent!r}; choose from: {', '.join(sorted(AGENTS))}")
    if "episodes" not in cell and "steps" not in cell:
        raise ParamError("episodes", "episodes: give episodes (per run) and/or steps (real steps per run)")
    for key, low in (("episodes", 1), ("steps", 1), ("max_episode_steps", 0)):
        value = cell.get(key, low)
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ParamError(key, f"{key} must be an integer >= {low}, got {value!r}")
    if ("env" in cell) == ("maze" in cell):
        raise ParamError("env", "env: give exactly one of env (a Gymnasium id) or maze (a layout file)")
    if "maze" in cell:
        from dynaplan.envs.layouts import LayoutError, load_layout

        if not isinstance(cell["maze"], str):
            raise ParamError("maze", f"maze must be a layout file path, got {cell['maze']!r}")
        try:
            load_layout(Path(cell["maze"]))
        except LayoutError as exc:
            raise ParamError("maze", f"maze: {exc}") from None
    else:
        if not isinstance(cell["env"], str) or cell["env"] not in gym.registry:
            raise ParamError("env", f"env: unknown env {cell['env']!r} (not a registered Gymnasium id)")
        if not isinstance(cell.get("env_kwargs", {}), dict):
            raise ParamError("env_kwargs", f"env_kwargs must be a table, got {cell['env_kwargs']!r}")
        _check_problem(str(agent), cell["env"], json.dumps(cell.get("env_kwargs", {}), sort_keys=True))
    cls = AGENTS[str(agent)]
    params = agent_params(cell)
    try:
        return check_agent_params(cls, params)
    except ValueError as exc:
        unknown = sorted(set(params) - set(cls.defaults()))
        if not unknown:
            raise
        from dynaplan.experiments.spec.writer import toml_value

        example = f"env_kwargs = {{{unknown[0]} = {toml_value(params[unknown[0]])}}}"
        raise ParamError(unknown[0], f"{exc} (`dynaplan agents` lists the parameters of {agent}; keyword "
                         f"arguments of the env go in env_kwargs, e.g. {example})") from None


def agent_params(cell: Mapping[str, Any]) -> dict[str, Any]:
    """The agent's parameters of an ``episodes`` cell (every key the kind does not use itself)."""
    return {k: v for k, v in cell.items() if k not in _RESERVED}


@functools.lru_cache(maxsize=64)
def _check_problem(agent: str, env_id: str, env_kwargs_json: str) -> None:
    """The env can be made with these keyword arguments and the agent's family can run it (a
    tabular agent needs an exact tabular model, a linear one a world the compiled loop steps)."""
    import gymnasium as gym

    from dynaplan.agents import discrete_sizes

    cls = AGENTS[agent]
    try:
        env = gym.make(env_id, **json.loads(env_kwargs_json))
        if cls.encoding == "table":
            discrete_sizes(env)  # "needs a Discrete observation space" before "no exact model"
        problem_of(env, agent=cls)
    except Exception as exc:  # the env's own constructor decides what is bad
        raise ParamError("env", f"env: {env_id!r} cannot be run here: {' '.join(str(exc).split())}") from None


@register_kind("episodes", "an agent for a number of episodes; one row per (seed, episode)", check=check_episodes)
def run_episodes(cell: Mapping[str, Any], seeds: Sequence[int]) -> pd.DataFrame:
    """Cell keys: ``env`` (or ``maze``), ``agent``, ``episodes`` and/or ``steps``,
    ``max_episode_steps`` (see ``episode_step_limit``), the agent's parameters."""
    agent_name = str(cell["agent"])
    cls = AGENTS[agent_name]
    checked = checked_of(cell) or check_agent_params(cls, agent_params(cell))
    env_id, env_kwargs = env_id_or_maze(cell)
    problem = problem_of(env_id, agent=cls, **env_kwargs)
    results = run_batch(cls, checked, problem, seeds, episodes=int(cell.get("episodes", 0)),
                        steps=int(cell.get("steps", 0)), max_episode_steps=episode_step_limit(cell)[0])
    counts = [len(res.episode_steps) for res in results]
    total = int(sum(counts))
    return pd.DataFrame(
        {
            "agent": np.full(total, agent_name, dtype=object),
            "planning_steps": np.full(total, int(checked.params.get("planning_steps", 0)), dtype=np.int64),
            "seed": np.repeat(np.array([res.seed for res in results], dtype=np.int64), counts),
            "episode": np.concatenate([np.arange(1, n + 1, dtype=np.int64) for n in counts] or [np.zeros(0, np.int64)]),
            "steps": np.concatenate([res.episode_steps for res in results] or [np.zeros(0, np.int64)]).astype(np.int64),
            "return": np.concatenate([res.episode_returns for res in results] or [np.zeros(0)]).astype(np.float64),
        }
    )


def last_episodes_summary(table: pd.DataFrame, last: int = 10) -> str:
    """One line for an ``episodes`` table: the mean steps (and return) of each run's last ``last``
    finished episodes, averaged over runs (the unit), with the run count; "no episode finished"
    when no run finished one (a step budget that ended inside the first episode), never ``nan``.
    """
    if table.empty or "steps" not in table or "episode" not in table:
        return "no episode finished"
    groups = [g for _, g in table.groupby("seed", sort=False)] if "seed" in table else [table]
    tails = [g.sort_values("episode").tail(last) for g in groups]
    shown = max(len(t) for t in tails)
    line = f"mean steps over the last {shown} episode{'s' if shown != 1 else ''} "
    line += f"{float(np.mean([t.steps.mean() for t in tails])):.2f}"
    if "return" in table:
        line += f", mean return {float(np.mean([t['return'].mean() for t in tails])):.3f}"
    return line + f" ({len(tails)} run{'s' if len(tails) != 1 else ''})"
