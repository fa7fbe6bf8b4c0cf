"""The work one real step asks for, refused up front when Ctrl-C could not stop it in time.

A compiled step cannot be interrupted: Python handles a signal only between two calls into
compiled code. Runs are cut into calls of about 0.2 s (``experiments.batch``), but a single real
step is one call, so a budget such as ``planning_steps=10**12`` (Dyna-Q), ``simulations=10**10``
(rollouts) or ``depth=30`` (exhaustive lookahead: (A K)^30 backups) would ignore Ctrl-C and
SIGTERM for hours. ``check_step_budget`` estimates the model steps (or backups) of one real step
from the agent's parameters and the problem's sizes, and refuses more than ``MAX_STEP_WORK``
with one line naming the key and the estimated time.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dynaplan.agents.base import ParamError

__all__ = ["MAX_STEP_WORK", "check_step_budget", "step_work"]

MAX_STEP_WORK = 10**8
"""Most model steps or backups one real step may ask for: about 1-3 s of compiled work."""
STEPS_PER_SECOND = 5e7
"""Model steps per second of the compiled planners, roughly (Dyna-Q's planning: 6e7 on one core)."""


def step_work(cls: Any, n_actions: int, n_outcomes: int, params: Mapping[str, Any]) -> tuple[float, str]:
    """(model steps or backups of one real step, the key that sets it) for agent class ``cls``."""
    own = getattr(cls, "step_work", None)
    if own is not None:
        own_work, own_key = own(n_actions, n_outcomes, params)
        return float(own_work), str(own_key)
    work: list[tuple[float, str]] = [(0.0, "")]
    steps = params.get("planning_steps")
    if isinstance(steps, int) and not isinstance(steps, bool):
        work.append((float(steps), "planning_steps"))
    rollouts, horizon = params.get("rollouts"), params.get("horizon")
    if isinstance(rollouts, int) and isinstance(horizon, int):
        work.append((float(rollouts) * horizon, "rollouts"))
    return max(work)


def _duration(seconds: float) -> str:
    for unit, size in (("years", 3.15e7), ("days", 86400.0), ("hours", 3600.0), ("minutes", 60.0)):
        if seconds >= 2 * size:
            return f"{seconds / size:,.0f} {unit}"
    return f"{seconds:,.0f} s"


def check_step_budget(cls: Any, problem: Any, params: Mapping[str, Any]) -> None:
    """``ParamError`` naming the key when one real step of agent class ``cls`` with ``params`` on
    ``problem`` (an ``experiments.batch.Problem``: its actions and its exact model's outcomes)
    would ask for more than ``MAX_STEP_WORK``."""
    model = problem.model
    n_outcomes = int(model.prob.shape[2]) if model is not None else int(params.get("max_outcomes", 8))
    work, key = step_work(cls, int(problem.n_actions), n_outcomes, params)
    if work > MAX_STEP_WORK:
        raise ParamError(key, f"{key}: one real step would take about {work:.2g} model steps (about "
                         f"{_duration(work / STEPS_PER_SECOND)}), during which Ctrl-C could not stop it; "
                         f"at most {MAX_STEP_WORK:.0e} per real step")
