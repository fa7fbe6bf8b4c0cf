"""Background planners and the kernels of learning agents (compiled, over arrays)."""

from dynaplan.core.egreedy import argmax_random, epsilon_greedy
from dynaplan.core.kernels import act_once, observe_once, register_kernels
from dynaplan.core.loop import run_loop
from dynaplan.planning.dyna_q import DynaQState, dyna_planning
from dynaplan.planning.pqueue import PairQueue, new_pair_queue, pq_pop, pq_push
from dynaplan.planning.prioritized_sweeping import (
    PrioritizedSweepingState,
    StochasticPSState,
    ps_sweep,
    stochastic_ps_sweep,
)
from dynaplan.planning.q_learning import QLearningState, q_update
from dynaplan.planning.q_planning import ExactQPlanningState, QPlanningState, q_planning
from dynaplan.planning.value_iteration import (
    Solution,
    greedy_actions,
    policy_evaluation,
    q_from_v,
    value_iteration,
)

__all__ = [
    "DynaQState",
    "ExactQPlanningState",
    "PairQueue",
    "PrioritizedSweepingState",
    "QLearningState",
    "QPlanningState",
    "Solution",
    "StochasticPSState",
    "act_once",
    "argmax_random",
    "dyna_planning",
    "epsilon_greedy",
    "greedy_actions",
    "new_pair_queue",
    "observe_once",
    "policy_evaluation",
    "pq_pop",
    "pq_push",
    "ps_sweep",
    "q_from_v",
    "q_planning",
    "q_update",
    "register_kernels",
    "run_loop",
    "stochastic_ps_sweep",
    "value_iteration",
]
