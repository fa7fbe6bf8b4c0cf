"""Q-learning, Dyna-Q and Q-planning agents (book sections 6.5, 8.2 and 8.1)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

import numpy as np

from dynaplan.agents.base import ParamError, TabularAgent, check_budget, check_choice, check_count, check_td_params
from dynaplan.agents.views import Probed
from dynaplan.envs.tabular import TabularModel
from dynaplan.models.sample import new_sample_model
from dynaplan.planning.dyna_q import DynaQState, dyna_planning
from dynaplan.planning.q_learning import QLearningState
from dynaplan.planning.q_planning import ExactQPlanningState, QPlanningState, q_planning


def initial_q(n_states: int, n_actions: int, params: Mapping[str, Any]) -> np.ndarray:
    return np.full((n_states, n_actions), float(params["q_init"]))


class QLearning(TabularAgent):
    """One-step tabular Q-learning (section 6.5, eq. 6.8): direct RL, no model, no planning.

    ``QLearning(env, alpha=0.1, epsilon=0.1, gamma=0.95, q_init=0.0, seed=None)``; it gives the
    same results as ``DynaQ(env, planning_steps=0)``.
    """

    name = "q-learning"

    @classmethod
    def check_params(cls, params: Mapping[str, Any]) -> dict[str, Any]:
        return check_td_params(params, set())

    @classmethod
    def build_state(
        cls, n_states: int, n_actions: int, model: TabularModel | None, params: Mapping[str, Any]
    ) -> NamedTuple:
        return QLearningState(
            initial_q(n_states, n_actions, params), params["alpha"], params["gamma"], params["epsilon"]
        )


class DynaQ(Probed, TabularAgent):
    """Tabular Dyna-Q (section 8.2): direct update, model update, ``planning_steps`` planning updates.

    ``DynaQ(env, planning_steps=5, alpha=0.1, epsilon=0.1, gamma=0.95, q_init=0.0, seed=None)``.
    ``agent.model`` is the learned ``SampleModel``.
    """

    name = "dyna-q"

    @classmethod
    def check_params(cls, params: Mapping[str, Any]) -> dict[str, Any]:
        out = check_td_params(params, {"planning_steps"}, planning_steps=5)
        out["planning_steps"] = check_count("planning_steps", out["planning_steps"])
        return out

    @classmethod
    def build_state(
        cls, n_states: int, n_actions: int, model: TabularModel | None, params: Mapping[str, Any]
    ) -> NamedTuple:
        return DynaQState(
            q=initial_q(n_states, n_actions, params),
            model=new_sample_model(n_states, n_actions),
            t=np.zeros(1, dtype=np.int64),
            alpha=params["alpha"],
            gamma=params["gamma"],
            epsilon=params["epsilon"],
            planning_steps=params["planning_steps"],
        )

    @property
    def max_q_computations(self) -> int:
        """Maxima over a row of Q computed by its updates since a probe was attached (the currency of
        ``PrioritizedSweeping``'s; counted only with a probe: ``agent.attach_probe(0)`` first)."""
        probe = self.state.probe  # type: ignore[attr-defined]
        if probe is None:
            raise ValueError("Dyna-Q counts max-Q computations through a probe: call agent.attach_probe(0) first")
        return int(probe.maxima[0])

    @property
    def model(self) -> Any:
        return self.state.model  # type: ignore[attr-defined]


class QPlanning(Probed, TabularAgent):
    """Random-sample one-step tabular Q-planning (section 8.1): it learns only by planning.

    ``model="learned"`` (default): each real step is recorded in a sample model and followed by
    ``planning_steps`` Q-planning updates on tried pairs; no direct update.
    ``model="exact"``: planning draws any pair and its outcome from the env's own model
    (``env.unwrapped.model`` or its ``P`` table), ignoring real experience.
    ``agent.plan(n)`` runs ``n`` planning updates without acting.
    """

    name = "q-planning"

    @classmethod
    def check_params(cls, params: Mapping[str, Any]) -> dict[str, Any]:
        out = check_td_params(params, {"planning_steps", "model"}, planning_steps=5, model="learned")
        out["planning_steps"] = check_count("planning_steps", out["planning_steps"])
        out["model"] = check_choice("model", out["model"], ("learned", "exact"))
        return out

    @classmethod
    def needs_model_for(cls, params: Mapping[str, Any]) -> bool:
        return bool(params["model"] == "exact")

    @classmethod
    def build_state(
        cls, n_states: int, n_actions: int, model: TabularModel | None, params: Mapping[str, Any]
    ) -> NamedTuple:
        q = initial_q(n_states, n_actions, params)
        common = dict(
            alpha=params["alpha"],
            gamma=params["gamma"],
            epsilon=params["epsilon"],
            planning_steps=params["planning_steps"],
        )
        if params["model"] == "exact":
            if model is None:
                raise ParamError("model", "QPlanning(model='exact') needs the env's exact model")
            return ExactQPlanningState(q=q, model=model, **common)
        return QPlanningState(q=q, model=new_sample_model(n_states, n_actions), t=np.zeros(1, dtype=np.int64), **common)

    def plan(self, n_updates: int) -> None:
        """Make ``n_updates`` planning updates now (no real step)."""
        n_updates = check_budget("n_updates", n_updates)
        st = self.state
        if isinstance(st, ExactQPlanningState):
            q_planning(st.q, st.model, n_updates, st.alpha, st.gamma, self.rng)
        else:
            assert isinstance(st, QPlanningState)
            dyna_planning(st.q, st.model, n_updates, st.alpha, st.gamma, self.rng)
