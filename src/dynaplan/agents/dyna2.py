"""The Dyna-2 agent (Silver, Sutton & Mueller 2008): permanent and transient memories, acting on their sum."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, NamedTuple

import numpy as np

from dynaplan.agents.base import (
    TabularAgent,
    check_choice,
    check_count,
    check_known,
    check_number,
    check_positive_count,
    check_unit,
)
from dynaplan.agents.search import SEARCHED_MODELS, searched_model
from dynaplan.envs.tabular import TabularModel
from dynaplan.search.dyna2 import RESETS, Dyna2State
from dynaplan.search.result import new_search_counters


class Dyna2(TabularAgent):
    """Dyna-2, tabular (``search.dyna2``): Q learned from real steps, T by search from each state.

    ``Dyna2(env_or_model, simulations=20, model_steps=0, depth=50, alpha=0.1, alpha_transient=0.1, gamma=0.95,
    epsilon=0.0, search_epsilon=0.1, reset="episode", model="exact", max_outcomes=8, q_init=0.0,
    seed=None)``. ``reset`` clears the transient memory before every ``"decision"``, at the start
    of every ``"episode"`` (the paper) or ``"never"``; ``model`` is the env's exact model or a
    ``"sample"`` / ``"distribution"`` model learned from real steps. ``agent.q`` is the permanent
    memory, ``agent.transient`` the transient one, ``agent.combined`` their sum (what it acts on).
    ``model_steps > 0`` budgets each search in model steps instead of simulated episodes
    (``simulations = 0`` still turns the search off: the permanent memory alone).
    """

    name = "dyna-2"
    DEFAULTS: ClassVar[dict[str, Any]] = {
        "simulations": 20, "model_steps": 0, "depth": 50, "alpha": 0.1, "alpha_transient": 0.1, "gamma": 0.95,
        "epsilon": 0.0,
        "search_epsilon": 0.1, "reset": "episode", "model": "exact", "max_outcomes": 8, "q_init": 0.0,
    }

    def __init__(self, env: Any, *, seed: int | None = None, **params: Any) -> None:
        if isinstance(env, TabularModel):
            from dynaplan.rng import agent_stream

            self.n_states, self.n_actions = env.n_states, env.n_actions
            self.params = self.check_params(params)
            self.seed = seed
            self.rng = agent_stream(seed)
            self.state = self.build_state(self.n_states, self.n_actions, env, self.params)
        else:
            super().__init__(env, seed=seed, **params)

    @classmethod
    def check_params(cls, params: Mapping[str, Any]) -> dict[str, Any]:
        check_known(params, cls.DEFAULTS, cls.name)
        out = {**cls.DEFAULTS, **params}
        out["simulations"] = check_count("simulations", out["simulations"])
        out["model_steps"] = check_count("model_steps", out["model_steps"])
        out["depth"] = check_positive_count("depth", out["depth"])
        out["max_outcomes"] = check_positive_count("max_outcomes", out["max_outcomes"])
        for key in ("alpha", "alpha_transient", "gamma", "epsilon", "search_epsilon"):
            out[key] = check_unit(key, out[key])
        for key, choices in (("reset", RESETS), ("model", SEARCHED_MODELS)):
            out[key] = check_choice(key, out[key], choices)
        out["q_init"] = check_number("q_init", out["q_init"])
        return out

    @classmethod
    def needs_model_for(cls, params: Mapping[str, Any]) -> bool:
        return bool(params["model"] == "exact")

    @classmethod
    def build_state(
        cls, n_states: int, n_actions: int, model: TabularModel | None, params: Mapping[str, Any]
    ) -> NamedTuple:
        searched = searched_model(cls.name, n_states, n_actions, model, params)
        return Dyna2State(
            q=np.full((n_states, n_actions), params["q_init"]),
            transient=np.zeros((n_states, n_actions)),
            model=searched,
            row=np.zeros(n_actions),
            counters=new_search_counters(),
            flags=np.ones(1, dtype=np.int64),
            learned=params["model"] != "exact",
            simulations=2**62 if params["model_steps"] > 0 and params["simulations"] > 0 else params["simulations"],
            max_steps=params["model_steps"],
            depth=params["depth"],
            alpha=params["alpha"],
            alpha_transient=params["alpha_transient"],
            gamma=params["gamma"],
            epsilon=params["epsilon"],
            search_epsilon=params["search_epsilon"],
            reset=RESETS[params["reset"]],
        )

    @property
    def transient(self) -> np.ndarray:
        """The transient memory T, float64[S, A] (a live view)."""
        return self.state.transient  # type: ignore[attr-defined, no-any-return]

    @property
    def combined(self) -> np.ndarray:
        """Q + T, float64[S, A]: the values the agent acts on (a copy)."""
        return self.q + self.transient  # type: ignore[no-any-return]

    @property
    def model(self) -> Any:
        """The model searched (the exact one, or the one being learned)."""
        return self.state.model  # type: ignore[attr-defined]

    @property
    def stats(self) -> dict[str, int]:
        """Decisions searched, simulated episodes, model steps, real steps."""
        c = self.state.counters  # type: ignore[attr-defined]
        return {
            "decisions": int(c.decisions[0]), "simulations": int(c.simulations[0]),
            "model_steps": int(c.model_steps[0]), "real_steps": int(c.real_steps[0]),
        }
