"""The Dyna-Q+ agent (book section 8.3) and its action-bonus variant (Exercise 8.4)."""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from typing import Any, NamedTuple

import numpy as np

from dynaplan.agents.base import ParamError, TabularAgent, check_choice, check_count, check_flag
from dynaplan.agents.tabular import check_td_params, initial_q
from dynaplan.agents.views import Probed
from dynaplan.envs.tabular import TabularModel
from dynaplan.models.sample import SampleModel, new_sample_model
from dynaplan.planning.dyna_q_plus import ACTION_BONUS, PLANNING_BONUS, DynaQPlusState

BONUS_MODES = {"planning": PLANNING_BONUS, "action": ACTION_BONUS}


class DynaQPlus(Probed, TabularAgent):
    """Dyna-Q+ (section 8.3): Dyna-Q with a bonus ``kappa * sqrt(tau)`` for pairs not tried lately.

    ``DynaQPlus(env, kappa=5e-4, bonus="planning", planning_steps=5, plan_untried=True,
    alpha=0.1, epsilon=0.1, gamma=0.95, q_init=0.0, seed=None)``

    * ``bonus="planning"``: the book's Dyna-Q+. Planning uses reward ``r + kappa sqrt(tau)``,
      tau being the real steps since the pair was last tried; with ``plan_untried`` (default),
      planning draws a visited state and then any action, an untried one being a self-loop with
      reward 0 (the book's footnote).
    * ``bonus="action"``: Exercise 8.4. Actions are chosen epsilon-greedily over
      ``Q(s, a) + kappa sqrt(tau(s, a))``; every Q update is Dyna-Q's, with no bonus.

    ``agent.model`` is the learned ``SampleModel``; ``agent.tau()`` the staleness of every pair.
    """

    name = "dyna-q-plus"

    @classmethod
    def check_params(cls, params: Mapping[str, Any]) -> dict[str, Any]:
        out = check_td_params(
            params, {"planning_steps", "kappa", "bonus", "plan_untried"},
            planning_steps=5, kappa=5e-4, bonus="planning", plan_untried=True,
        )
        out["planning_steps"] = check_count("planning_steps", out["planning_steps"])
        kappa = out["kappa"]
        if isinstance(kappa, bool) or not isinstance(kappa, numbers.Real) or not float(kappa) >= 0:
            raise ParamError("kappa", f"kappa must be a non-negative number, got {kappa!r}")
        out["kappa"] = float(kappa)
        out["bonus"] = check_choice("bonus", out["bonus"], tuple(BONUS_MODES))
        out["plan_untried"] = check_flag("plan_untried", out["plan_untried"])
        return out

    @classmethod
    def build_state(
        cls, n_states: int, n_actions: int, model: TabularModel | None, params: Mapping[str, Any]
    ) -> NamedTuple:
        return DynaQPlusState(
            q=initial_q(n_states, n_actions, params),
            model=new_sample_model(n_states, n_actions),
            t=np.zeros(1, dtype=np.int64),
            bonus_values=np.zeros(n_actions),
            alpha=params["alpha"],
            gamma=params["gamma"],
            epsilon=params["epsilon"],
            planning_steps=params["planning_steps"],
            kappa=params["kappa"],
            bonus=BONUS_MODES[params["bonus"]],
            plan_untried=params["plan_untried"],
        )

    @property
    def model(self) -> SampleModel:
        return self.state.model  # type: ignore[attr-defined, no-any-return]

    @property
    def steps(self) -> int:
        """Real steps taken so far."""
        return int(self.state.t[0])  # type: ignore[attr-defined]

    def tau(self) -> np.ndarray:
        """Staleness of every pair now: real steps since it was last tried (since the start if
        never), int64[n_states, n_actions]."""
        return tau_of(self.model, self.steps)


def tau_of(model: SampleModel, t: int) -> np.ndarray:
    """tau for every pair of a sample model after ``t`` real steps: int64[S, A]."""
    last = model.last_tried
    return np.where(last >= 0, t - 1 - last, t).astype(np.int64)
