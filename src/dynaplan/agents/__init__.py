"""The friendly face: one class per algorithm, ``act`` / ``observe`` on Gymnasium envs.

``AGENTS`` (``core.agent``: one registry, every family) maps the names used by the CLI and
experiment specs to the classes; ``register_agent`` adds one.
"""

from dynaplan.agents.base import TabularAgent, discrete_sizes
from dynaplan.agents.deep_dyna import DQN, MBPO, SAC, DynaDQN
from dynaplan.agents.dyna2 import Dyna2
from dynaplan.agents.dyna_q_plus import DynaQPlus
from dynaplan.agents.learned_search import LearnedSearch
from dynaplan.agents.linear import (
    LSTD,
    LinearAgent,
    LinearDyna,
    LinearDynaQ,
    LinearPrioritizedSweeping,
    LinearQLearning,
    LinearTD,
    Sarsa,
    SarsaLambda,
)
from dynaplan.agents.linear import SHIPPED as _LINEAR
from dynaplan.agents.neural_base import NeuralAgent
from dynaplan.agents.pets import PETS
from dynaplan.agents.policy import CertaintyEquivalence, DynaAC, ImaginedPolicyGradient
from dynaplan.agents.prioritized_sweeping import PrioritizedSweeping
from dynaplan.agents.search import MCTS, DynaMCTS, Lookahead, RolloutPlanner, SearchAgent
from dynaplan.agents.tabular import DynaQ, QLearning, QPlanning
from dynaplan.core.agent import AGENTS, Agent, register_agent

_SHIPPED: tuple[type[Agent], ...] = (
    QLearning, DynaQ, QPlanning, DynaQPlus, PrioritizedSweeping, MCTS, DynaMCTS, RolloutPlanner, Lookahead, Dyna2,
    DynaAC, ImaginedPolicyGradient, CertaintyEquivalence, *_LINEAR, LearnedSearch,
    PETS, SAC, MBPO, DQN, DynaDQN,
)
for _cls in _SHIPPED:
    register_agent(_cls)


__all__ = [
    "AGENTS",
    "DQN",
    "LSTD",
    "MBPO",
    "MCTS",
    "PETS",
    "SAC",
    "Agent",
    "CertaintyEquivalence",
    "Dyna2",
    "DynaAC",
    "DynaDQN",
    "DynaMCTS",
    "DynaQ",
    "DynaQPlus",
    "ImaginedPolicyGradient",
    "LearnedSearch",
    "LinearAgent",
    "LinearDyna",
    "LinearDynaQ",
    "LinearPrioritizedSweeping",
    "LinearQLearning",
    "LinearTD",
    "Lookahead",
    "NeuralAgent",
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
]
