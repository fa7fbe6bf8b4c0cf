"""The hyperparameters of the PETS agent family and their checks, importable without JAX.

The experiment specs, the CLI and the kinds validate a cell before any run (and before any
worker starts), so the checks live here, free of JAX; ``dynaplan.neural.agent`` builds the agent
from the checked values.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from dynaplan.agents.base import (
    ParamError,
    check_choice,
    check_count,
    check_flag,
    check_positive,
    check_positive_count,
)

__all__ = ["DEFAULTS", "METHODS", "MODELS", "PROPAGATIONS", "check_pets_params"]

MODELS = ("pets", "de", "true", "random")
METHODS = ("random", "cem", "icem", "mppi")
PROPAGATIONS = ("ts1", "tsinf", "expectation")

#: Every hyperparameter with its default (our sizes; PETS's own are in the docstrings cited).
DEFAULTS: dict[str, Any] = {
    "model": "pets",          # pets | de | true | random
    "members": 5,             # ensemble size (PETS: 5)
    "hidden_layers": 2,       # 2 x 64 on our tasks (PETS: 4 x 200 on MuJoCo)
    "hidden_width": 64,
    "planner": "cem",         # random | cem | icem | mppi
    "horizon": 25,            # steps planned ahead (PETS: 25 on cart-pole; < ~20 fails Pendulum starts)
    "population": 200,        # sequences per iteration (PETS: 400 / 500)
    "iterations": 3,          # refits per decision (PETS: 5)
    "elites": 20,
    "particles": 5,           # imagined trajectories per sequence (PETS: 20), a multiple of members
    "propagation": "tsinf",   # ts1 | tsinf | expectation
    "warm_start": True,       # each decision starts from the previous plan shifted by one step
    "bonus": 0.0,             # weight of the ensemble-disagreement bonus (exploration)
    "temperature": 1.0,       # MPPI
    "episodes": 15,           # the run's length: sizes the replay (every transition kept)
    "random_episodes": 1,     # episodes acting at random before planning (PETS: 1)
}


def check_pets_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """The parameters with defaults filled in; ``ParamError`` naming the first bad one."""
    unknown = set(params) - set(DEFAULTS)
    if unknown:
        raise ParamError(min(unknown), f"unknown parameter(s): {', '.join(sorted(unknown))}")
    out = {**DEFAULTS, **params}
    out["model"] = check_choice("model", out["model"], MODELS)
    out["planner"] = check_choice("planner", out["planner"], METHODS)
    out["propagation"] = check_choice("propagation", out["propagation"], PROPAGATIONS)
    for key in ("members", "hidden_layers", "hidden_width", "horizon", "population", "iterations", "elites",
                "particles", "episodes"):
        out[key] = check_positive_count(key, out[key])
    out["random_episodes"] = check_count("random_episodes", out["random_episodes"])
    out["warm_start"] = check_flag("warm_start", out["warm_start"])
    out["temperature"] = check_positive("temperature", out["temperature"])
    bonus = out["bonus"]
    if isinstance(bonus, bool) or not isinstance(bonus, int | float) or not bonus >= 0 or not np.isfinite(bonus):
        raise ParamError("bonus", f"bonus must be a finite number >= 0, got {bonus!r}")
    out["bonus"] = float(bonus)
    if out["elites"] > out["population"]:
        raise ParamError("elites", f"elites ({out['elites']}) must not exceed population ({out['population']})")
    if out["model"] in ("pets", "de") and out["propagation"] != "expectation" and out["particles"] % out["members"]:
        raise ParamError("particles", f"particles ({out['particles']}) must be a multiple of members "
                                      f"({out['members']}) for propagation {out['propagation']!r}")
    return out


