"""The hyperparameters of the PETS agent family and their checks, importable without JAX.

The experiment specs, the CLI and the kinds validate a cell before any run (and before any
worker starts), so the checks live here, free of JAX; ``dynaplan.agents.pets.PETS`` builds the
agent from the checked values.
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
    check_known,
    check_positive,
    check_positive_count,
)

__all__ = ["DEFAULTS", "LIMITS", "MAX_SAMPLES", "METHODS", "MODELS", "PROPAGATIONS", "check_pets_params"]

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
    "capacity": 10_000,       # transitions the replay keeps (the oldest overwritten beyond)
    "random_episodes": 1,     # episodes acting at random before planning (PETS: 1)
    "terminal_value": False,  # add gamma^H V(s_H), V fitted on the replay (TD-MPC's idea), to each sequence
    "value_discount": 0.95,   # gamma of the terminal value and of the planner's sum when it is on
}


#: Upper bounds of the sizes (a bound keeps a typo from allocating the machine's memory).
LIMITS = {"members": 100, "hidden_layers": 16, "hidden_width": 4096, "horizon": 1000, "population": 100_000,
          "iterations": 100, "elites": 100_000, "particles": 1000, "capacity": 10_000_000}
#: At most this many imagined steps per planner iteration (population x particles x horizon).
MAX_SAMPLES = 50_000_000


def check_pets_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """The parameters with defaults filled in; ``ParamError`` naming the first bad one."""
    check_known(params, DEFAULTS, "pets")
    out = {**DEFAULTS, **params}
    out["model"] = check_choice("model", out["model"], MODELS)
    out["planner"] = check_choice("planner", out["planner"], METHODS)
    out["propagation"] = check_choice("propagation", out["propagation"], PROPAGATIONS)
    for key, high in LIMITS.items():
        out[key] = check_positive_count(key, out[key])
        if out[key] > high:
            raise ParamError(key, f"{key} must be an integer in [1, {high:,}], got {out[key]!r}")
    out["random_episodes"] = check_count("random_episodes", out["random_episodes"])
    out["warm_start"] = check_flag("warm_start", out["warm_start"])
    out["terminal_value"] = check_flag("terminal_value", out["terminal_value"])
    gamma = out["value_discount"]
    if isinstance(gamma, bool) or not isinstance(gamma, int | float) or not 0 < gamma < 1:
        raise ParamError("value_discount", f"value_discount must be a number in (0, 1), got {gamma!r}")
    out["value_discount"] = float(gamma)
    out["temperature"] = check_positive("temperature", out["temperature"])
    if not np.isfinite(out["temperature"]):
        raise ParamError("temperature", f"temperature must be a finite positive number, got {params['temperature']!r}")
    work = out["population"] * out["particles"] * out["horizon"]
    if work > MAX_SAMPLES:
        raise ParamError("population", f"population x particles x horizon ({work:,}) must be at most {MAX_SAMPLES:,} "
                                       "imagined steps per iteration (the arrays of one decision)")
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


