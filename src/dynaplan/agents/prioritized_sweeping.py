"""Prioritized sweeping agents (book section 8.4): planning focused where values change."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

import numpy as np

from dynaplan.agents.base import (
    ParamError,
    TabularAgent,
    check_budget,
    check_count,
    check_positive,
    check_positive_count,
)
from dynaplan.agents.tabular import check_td_params, initial_q
from dynaplan.agents.views import Probed
from dynaplan.envs.tabular import TabularModel
from dynaplan.models.distribution import new_distribution_model
from dynaplan.models.sample import new_sample_model
from dynaplan.planning.pqueue import new_pair_queue
from dynaplan.planning.prioritized_sweeping import (
    PrioritizedSweepingState,
    StochasticPSState,
    ps_sweep,
    stochastic_ps_sweep,
)


class PrioritizedSweeping(Probed, TabularAgent):
    """Prioritized sweeping (section 8.4) on any env with Discrete spaces.

    ``PrioritizedSweeping(env, planning_steps=5, theta=1e-4, model="sample", alpha=0.1,
    epsilon=0.1, gamma=0.95, q_init=0.0, max_outcomes=8, seed=None)``

    * ``model="sample"``: the book's boxed algorithm for deterministic worlds (last outcome per
      pair, sample updates with step ``alpha`` and the signed TD error);
    * ``model="distribution"``: for stochastic worlds; counts outcomes (at most
      ``max_outcomes`` distinct ones per pair) and makes expected updates (eq. 8.1, no step
      size: ``alpha`` is not used).

    At most ``planning_steps`` updates per real step, taken from a priority queue of pairs whose
    priority (size of the change their update would make) exceeds ``theta``. ``agent.updates``
    counts every update made, ``agent.max_q_computations`` every max over a row of Q (targets
and priorities); ``agent.plan(n)`` runs up to ``n`` more from the queue now.
    """

    name = "prioritized-sweeping"

    @classmethod
    def check_params(cls, params: Mapping[str, Any]) -> dict[str, Any]:
        out = check_td_params(
            params, {"planning_steps", "theta", "model", "max_outcomes"},
            planning_steps=5, theta=1e-4, model="sample", max_outcomes=8,
        )
        out["planning_steps"] = check_count("planning_steps", out["planning_steps"])
        out["theta"] = check_positive("theta", out["theta"])
        if out["model"] not in ("sample", "distribution"):
            raise ParamError("model", f"model must be 'sample' or 'distribution', got {out['model']!r}")
        out["max_outcomes"] = check_positive_count("max_outcomes", out["max_outcomes"])
        return out

    @classmethod
    def build_state(
        cls, n_states: int, n_actions: int, model: TabularModel | None, params: Mapping[str, Any]
    ) -> NamedTuple:
        q = initial_q(n_states, n_actions, params)
        queue = new_pair_queue(n_states * n_actions)
        t = np.zeros(1, dtype=np.int64)
        updates = np.zeros(1, dtype=np.int64)
        max_q = np.zeros(1, dtype=np.int64)
        if params["model"] == "distribution":
            return StochasticPSState(
                q=q, model=new_distribution_model(n_states, n_actions, params["max_outcomes"]), queue=queue,
                t=t, updates=updates, max_q=max_q, gamma=params["gamma"], epsilon=params["epsilon"],
                theta=params["theta"], planning_steps=params["planning_steps"],
            )
        return PrioritizedSweepingState(
            q=q, model=new_sample_model(n_states, n_actions), queue=queue, t=t, updates=updates, max_q=max_q,
            alpha=params["alpha"], gamma=params["gamma"], epsilon=params["epsilon"], theta=params["theta"],
            planning_steps=params["planning_steps"],
        )

    @property
    def model(self) -> Any:
        """The learned model (``SampleModel`` or ``DistributionModel``)."""
        return self.state.model  # type: ignore[attr-defined]

    @property
    def updates(self) -> int:
        """Q updates made so far."""
        return int(self.state.updates[0])  # type: ignore[attr-defined]

    @property
    def max_q_computations(self) -> int:
        """Maxima over a row of Q computed so far (update targets and priorities alike)."""
        return int(self.state.max_q[0])  # type: ignore[attr-defined]

    @property
    def queue_length(self) -> int:
        """Pairs waiting in the priority queue."""
        return int(self.state.queue.size[0])  # type: ignore[attr-defined]

    def plan(self, n_updates: int) -> int:
        """Up to ``n_updates`` updates from the queue now (no real step); returns how many were made."""
        n_updates = check_budget("n_updates", n_updates)
        st = self.state
        if isinstance(st, StochasticPSState):
            done = stochastic_ps_sweep(st.q, st.model, st.queue, n_updates, st.gamma, st.theta, st.max_q)
        else:
            assert isinstance(st, PrioritizedSweepingState)
            done = ps_sweep(st.q, st.model, st.queue, n_updates, st.alpha, st.gamma, st.theta, st.max_q)
        st.updates[0] += done
        return int(done)
