"""The friendly face: one class per algorithm, ``act`` / ``observe`` on Discrete Gymnasium envs.

``AGENTS`` maps the names used by the CLI and experiment specs to the classes.
"""

from dynaplan.agents.base import TabularAgent, discrete_sizes
from dynaplan.agents.dyna2 import Dyna2
from dynaplan.agents.dyna_q_plus import DynaQPlus
from dynaplan.agents.linear import (
    LINEAR_AGENTS,
    LSTD,
    LinearAgent,
    LinearDyna,
    LinearDynaQ,
    LinearPrioritizedSweeping,
    LinearQLearning,
    LinearTD,
    Sarsa,
    SarsaLambda,
    register_linear_agent,
)
from dynaplan.agents.policy import CertaintyEquivalence, DynaAC, ImaginedPolicyGradient
from dynaplan.agents.prioritized_sweeping import PrioritizedSweeping
from dynaplan.agents.search import MCTS, DynaMCTS, Lookahead, RolloutPlanner, SearchAgent
from dynaplan.agents.tabular import DynaQ, QLearning, QPlanning

AGENTS: dict[str, type[TabularAgent]] = {
    cls.name: cls for cls in (QLearning, DynaQ, QPlanning, DynaQPlus, PrioritizedSweeping)
}
AGENTS.update({cls.name: cls for cls in (MCTS, DynaMCTS, RolloutPlanner, Lookahead, Dyna2)})
AGENTS.update({cls.name: cls for cls in (DynaAC, ImaginedPolicyGradient, CertaintyEquivalence)})


def register_agent(cls: type[TabularAgent]) -> type[TabularAgent]:
    """Make an agent class available to the CLI and specs under ``cls.name`` (a decorator)."""
    AGENTS[cls.name] = cls
    return cls


__all__ = [
    "AGENTS",
    "LINEAR_AGENTS",
    "LSTD",
    "MCTS",
    "CertaintyEquivalence",
    "Dyna2",
    "DynaAC",
    "DynaMCTS",
    "DynaQ",
    "DynaQPlus",
    "ImaginedPolicyGradient",
    "LinearAgent",
    "LinearDyna",
    "LinearDynaQ",
    "LinearPrioritizedSweeping",
    "LinearQLearning",
    "LinearTD",
    "Lookahead",
    "PrioritizedSweeping",
    "QLearning",
    "QPlanning",
    "RolloutPlanner",
    "Sarsa",
    "SarsaLambda",
    "SearchAgent",
    "TabularAgent",
    "discrete_sizes",
    "register_agent",
    "register_linear_agent",
]
