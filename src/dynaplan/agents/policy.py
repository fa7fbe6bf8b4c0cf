"""Planners that optimise a policy: Dyna actor-critic, policy gradient in imagination, and
certainty-equivalence planning (book sections 8.2, 13.4, 13.5; Sutton 1990; Janner et al. 2019).

``agent.q`` differs between them: for ``DynaAC`` and ``ImaginedPolicyGradient`` it is the
actor's preferences h (float64[S, A]; the greedy policy is their argmax, the behaviour policy
their softmax); for ``CertaintyEquivalence`` it is the exact Q of the learned model at the last
solve. ``agent.v`` is the critic / baseline / solved state values, ``agent.policy()`` the
behaviour policy as float64[S, A].
"""

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
    check_positive,
    check_positive_count,
    check_unit,
)
from dynaplan.envs.tabular import TabularModel
from dynaplan.models.distribution import new_distribution_model
from dynaplan.models.sample import new_sample_model
from dynaplan.planning.certainty_equivalence import CertaintyEquivalenceState, ce_solve
from dynaplan.planning.dyna_ac import PLAN_POLICY, PLAN_TRIED, DynaACState
from dynaplan.planning.imagined_pg import UPDATE_NATURAL, UPDATE_REINFORCE, ImaginedPGState


def softmax_rows(h: np.ndarray) -> np.ndarray:
    """Row-wise softmax of float64[S, A] preferences (max subtracted)."""
    e = np.exp(h - h.max(axis=1, keepdims=True))
    return np.asarray(e / e.sum(axis=1, keepdims=True))


_AC_KEYS = {"alpha_actor", "alpha_critic", "gamma", "h_init", "v_init"}


def _check_ac(params: Mapping[str, Any], extra: set[str], **defaults: Any) -> dict[str, Any]:
    check_known(params, _AC_KEYS | extra)
    out = {"alpha_actor": 0.03, "alpha_critic": 0.5, "gamma": 0.95, "h_init": 0.0, "v_init": 0.0, **defaults, **params}
    out["alpha_actor"] = check_positive("alpha_actor", out["alpha_actor"])
    out["alpha_critic"] = check_unit("alpha_critic", out["alpha_critic"], low_open=True)
    out["gamma"] = check_unit("gamma", out["gamma"])
    out["h_init"] = check_number("h_init", out["h_init"])
    out["v_init"] = check_number("v_init", out["v_init"])
    return out


class _SoftmaxAgent(TabularAgent):
    """Shared face of the softmax actor agents: ``h``, ``v``, ``policy()`` and ``updates``."""

    @property
    def h(self) -> np.ndarray:
        """Action preferences, float64[S, A] (a live view; ``q`` is the same array)."""
        return self.state.q  # type: ignore[attr-defined, no-any-return]

    @property
    def q(self) -> np.ndarray:
        """The preferences h: their argmax is the greedy policy (they are not action values)."""
        return self.h

    @property
    def v(self) -> np.ndarray:
        """The critic (state values), float64[S] (a live view)."""
        return self.state.v  # type: ignore[attr-defined, no-any-return]

    @property
    def updates(self) -> int:
        """Updates of the actor and critic made so far (direct and planning)."""
        return int(self.state.updates[0])  # type: ignore[attr-defined]

    def policy(self) -> np.ndarray:
        """The behaviour policy pi(a | s) = softmax(h(s, .)), float64[S, A]."""
        return softmax_rows(self.h)

    def act(self, obs: int) -> int:
        """An action for ``obs`` drawn from the softmax policy."""
        return super().act(obs)


class DynaAC(_SoftmaxAgent):
    """Dyna actor-critic (sections 8.2 and 13.5; Sutton 1990's Dyna-PI): a softmax actor and a
    state-value critic, both updated from each real transition and from ``planning_steps``
    transitions drawn from the learned sample model. With 0 planning steps: one-step actor-critic.

    ``DynaAC(env, planning_steps=5, alpha_actor=0.03, alpha_critic=0.5, gamma=0.95, h_init=0.0,
    v_init=0.0, planning_actions="tried", seed=None)``. ``planning_actions``: ``"tried"`` draws
    planning pairs as Dyna-Q does (uniform over tried actions of a random seen state),
    ``"policy"`` draws the action from the policy over the tried actions (see
    ``planning/dyna_ac.py`` for the critic's expected update under ``"tried"``). ``agent.q`` is the
    preferences h (the greedy policy is their argmax); ``agent.v`` the critic.
    """

    name = "dyna-ac"
    example_params: ClassVar[Mapping[str, Any]] = {"planning_steps": 5}

    @classmethod
    def check_params(cls, params: Mapping[str, Any]) -> dict[str, Any]:
        out = _check_ac(params, {"planning_steps", "planning_actions"}, planning_steps=5, planning_actions="tried")
        out["planning_steps"] = check_count("planning_steps", out["planning_steps"])
        out["planning_actions"] = check_choice("planning_actions", out["planning_actions"], ("tried", "policy"))
        return out

    @classmethod
    def build_state(
        cls, n_states: int, n_actions: int, model: TabularModel | None, params: Mapping[str, Any]
    ) -> NamedTuple:
        return DynaACState(
            q=np.full((n_states, n_actions), params["h_init"]),
            v=np.full(n_states, params["v_init"]),
            model=new_sample_model(n_states, n_actions),
            t=np.zeros(1, dtype=np.int64),
            updates=np.zeros(1, dtype=np.int64),
            scratch=np.zeros(n_actions),
            alpha_actor=params["alpha_actor"],
            alpha_critic=params["alpha_critic"],
            gamma=params["gamma"],
            planning_steps=params["planning_steps"],
            planning_actions=PLAN_TRIED if params["planning_actions"] == "tried" else PLAN_POLICY,
        )

    @property
    def model(self) -> Any:
        """The learned ``SampleModel``."""
        return self.state.model  # type: ignore[attr-defined]


class ImaginedPolicyGradient(_SoftmaxAgent):
    """Policy gradient in imagination (sections 13.4, 13.5; Sutton 1990; Janner et al. 2019):
    each real step a model update, then ``rollouts`` branched
    rollouts of at most ``horizon`` steps from visited states through the learned distribution
    model, with REINFORCE with a learned baseline (bootstrapped at the horizon) on each.

    The policy learns from imagined trajectories only (real steps teach the model).

    ``ImaginedPolicyGradient(env, rollouts=10, horizon=3, alpha_actor=0.03, alpha_critic=0.1,
    gamma=0.95, epsilon=0.1, update="reinforce", min_count=1, h_init=0.0, v_init=0.0,
    max_outcomes=8, seed=None)``. ``update="natural"``: the natural-gradient actor-critic step
    with the model's expected action values at each imagined state instead of REINFORCE. Real
    actions are uniform with probability ``epsilon``, else drawn from the softmax policy. A
    branch stops at a pair tried fewer than ``min_count`` times in the real world (R-max's
    known-state threshold; 1: only untried pairs are excluded; on a stochastic world a larger
    threshold keeps REINFORCE from committing to what a handful of samples said, see
    ``planning/imagined_pg.py``). ``agent.q`` is the preferences h; ``agent.v`` the baseline;
    ``agent.model_steps`` the imagined transitions so far.
    """

    name = "dyna-pg"
    example_params: ClassVar[Mapping[str, Any]] = {"rollouts": 3, "horizon": 4}

    @classmethod
    def check_params(cls, params: Mapping[str, Any]) -> dict[str, Any]:
        out = _check_ac(params, {"rollouts", "horizon", "max_outcomes", "epsilon", "update", "min_count"}, rollouts=10,
                        horizon=3, max_outcomes=8, epsilon=0.1, alpha_critic=0.1, update="reinforce", min_count=1)
        out["update"] = check_choice("update", out["update"], ("reinforce", "natural"))
        out["epsilon"] = check_unit("epsilon", out["epsilon"])
        out["rollouts"] = check_count("rollouts", out["rollouts"])
        for key in ("horizon", "max_outcomes", "min_count"):
            out[key] = check_positive_count(key, out[key])
        return out

    @classmethod
    def build_state(
        cls, n_states: int, n_actions: int, model: TabularModel | None, params: Mapping[str, Any]
    ) -> NamedTuple:
        k = params["horizon"]
        return ImaginedPGState(
            q=np.full((n_states, n_actions), params["h_init"]),
            v=np.full(n_states, params["v_init"]),
            model=new_distribution_model(n_states, n_actions, params["max_outcomes"]),
            t=np.zeros(1, dtype=np.int64),
            updates=np.zeros(1, dtype=np.int64),
            model_steps=np.zeros(1, dtype=np.int64),
            traj_s=np.zeros(k, dtype=np.int64),
            traj_a=np.zeros(k, dtype=np.int64),
            traj_r=np.zeros(k),
            scratch=np.zeros(n_actions),
            qbuf=np.zeros(n_actions),
            alpha_actor=params["alpha_actor"],
            alpha_critic=params["alpha_critic"],
            gamma=params["gamma"],
            rollouts=params["rollouts"],
            horizon=k,
            epsilon=params["epsilon"],
            update=UPDATE_REINFORCE if params["update"] == "reinforce" else UPDATE_NATURAL,
            min_count=params["min_count"],
        )

    @property
    def model(self) -> Any:
        """The learned ``DistributionModel``."""
        return self.state.model  # type: ignore[attr-defined]

    @property
    def model_steps(self) -> int:
        """Imagined transitions drawn from the model so far."""
        return int(self.state.model_steps[0])  # type: ignore[attr-defined]


class CertaintyEquivalence(TabularAgent):
    """Certainty-equivalence planning (sections 8.1, 4.4): every ``solve_every`` real steps,
    solve the learned distribution model exactly (value iteration in place to ``tol``) and act
    epsilon-greedily on its Q. The limit of infinite planning per real step.

    ``CertaintyEquivalence(env, solve_every=1, epsilon=0.1, gamma=0.95, tol=1e-11,
    max_sweeps=100000, max_outcomes=8, seed=None)``. ``agent.q`` / ``agent.v`` are the solution
    of the learned model at the last solve (untried pairs worth 0); ``agent.solve()`` solves now.
    """

    name = "ce-planning"
    example_params: ClassVar[Mapping[str, Any]] = {"solve_every": 3}

    @classmethod
    def check_params(cls, params: Mapping[str, Any]) -> dict[str, Any]:
        check_known(params, {"solve_every", "epsilon", "gamma", "tol", "max_sweeps", "max_outcomes"})
        out = {"solve_every": 1, "epsilon": 0.1, "gamma": 0.95, "tol": 1e-11, "max_sweeps": 100_000,
               "max_outcomes": 8, **params}
        out["epsilon"] = check_unit("epsilon", out["epsilon"])
        out["gamma"] = check_unit("gamma", out["gamma"])
        out["tol"] = check_positive("tol", out["tol"])
        for key in ("solve_every", "max_sweeps", "max_outcomes"):
            out[key] = check_positive_count(key, out[key])
        return out

    @classmethod
    def build_state(
        cls, n_states: int, n_actions: int, model: TabularModel | None, params: Mapping[str, Any]
    ) -> NamedTuple:
        return CertaintyEquivalenceState(
            q=np.zeros((n_states, n_actions)),
            v=np.zeros(n_states),
            model=new_distribution_model(n_states, n_actions, params["max_outcomes"]),
            t=np.zeros(1, dtype=np.int64),
            solves=np.zeros(1, dtype=np.int64),
            sweeps=np.zeros(1, dtype=np.int64),
            backups=np.zeros(1, dtype=np.int64),
            gamma=params["gamma"],
            epsilon=params["epsilon"],
            solve_every=params["solve_every"],
            tol=params["tol"],
            max_sweeps=params["max_sweeps"],
        )

    @property
    def model(self) -> Any:
        """The learned ``DistributionModel``."""
        return self.state.model  # type: ignore[attr-defined]

    @property
    def v(self) -> np.ndarray:
        """State values of the learned model at the last solve, float64[S] (a live view)."""
        return self.state.v  # type: ignore[attr-defined, no-any-return]

    @property
    def backups(self) -> int:
        """Expected state-value backups made by all solves so far."""
        return int(self.state.backups[0])  # type: ignore[attr-defined]

    @property
    def updates(self) -> int:
        """The same count as ``backups``: the planning computation spent so far."""
        return self.backups

    def solve(self) -> int:
        """Solve the learned model now (in place); returns the sweeps it took."""
        return int(ce_solve(self.state))
