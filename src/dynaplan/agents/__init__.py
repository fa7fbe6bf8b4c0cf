"""The friendly face: one class per algorithm, ``act`` / ``observe`` on Discrete Gymnasium envs.

``AGENTS`` maps the names used by the CLI and experiment specs to the classes.
"""

from dynaplan.agents.base import TabularAgent, discrete_sizes
from dynaplan.agents.dyna_q_plus import DynaQPlus
from dynaplan.agents.prioritized_sweeping import PrioritizedSweeping
from dynaplan.agents.search import MCTS, DynaMCTS, Lookahead, RolloutPlanner, SearchAgent
from dynaplan.agents.tabular import DynaQ, QLearning, QPlanning

AGENTS: dict[str, type[TabularAgent]] = {
    cls.name: cls for cls in (QLearning, DynaQ, QPlanning, DynaQPlus, PrioritizedSweeping)
}
AGENTS.update({cls.name: cls for cls in (MCTS, DynaMCTS, RolloutPlanner, Lookahead)})


def register_agent(cls: type[TabularAgent]) -> type[TabularAgent]:
    """Make an agent class available to the CLI and specs under ``cls.name`` (a decorator)."""
    AGENTS[cls.name] = cls
    return cls


__all__ = [
    "AGENTS",
    "MCTS",
    "DynaMCTS",
    "DynaQ",
    "DynaQPlus",
    "Lookahead",
    "PrioritizedSweeping",
    "QLearning",
    "QPlanning",
    "RolloutPlanner",
    "SearchAgent",
    "TabularAgent",
    "discrete_sizes",
    "register_agent",
]
