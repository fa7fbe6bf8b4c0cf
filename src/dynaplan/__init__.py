"""dynaplan: model-based reinforcement learning planning (Sutton & Barto, chapter 8).

Agents learn a model from real experience and plan with it. Every algorithm is one compiled
kernel over arrays; the objects here (``DynaQ``, ``QLearning``...) and the batched runner
(``run_batch``) call the same kernels. ``dynaplan.extend`` holds what an author of a new
algorithm or model type needs (``register_kernels``, ``register_model``...). Importing
dynaplan registers its envs with Gymnasium (``gym.make("dynaplan/DynaMaze-v0")``).
"""

from dynaplan import _cache  # noqa: F401  (must precede every compiled module)
from dynaplan._version import __version__
from dynaplan.agents import (
    AGENTS,
    LSTD,
    MCTS,
    Agent,
    CertaintyEquivalence,
    Dyna2,
    DynaAC,
    DynaMCTS,
    DynaQ,
    DynaQPlus,
    ImaginedPolicyGradient,
    LinearDyna,
    LinearDynaQ,
    LinearPrioritizedSweeping,
    LinearQLearning,
    LinearTD,
    Lookahead,
    PrioritizedSweeping,
    QLearning,
    QPlanning,
    RolloutPlanner,
    Sarsa,
    SarsaLambda,
    TabularAgent,
    register_agent,
)
from dynaplan.envs import (
    DYNA_MAZE,
    GridMaze,
    LayoutError,
    MazeLayout,
    TabularModel,
    World,
    load_layout,
    make_world,
    model_of,
    register_envs,
)
from dynaplan.experiments.batch import (
    Problem,
    RunResult,
    linear_problem_of,
    problem_of,
    run_agent,
    run_batch,
    run_linear_agent,
)
from dynaplan.features import OneHot, TableFeatures, TileCoder
from dynaplan.models import DistributionModel, SampleModel, register_model
from dynaplan.planning import Solution, policy_evaluation, register_kernels, value_iteration
from dynaplan.rng import run_seeds
from dynaplan.search import SearchResult, lookahead_search, mcts_search, rollout_search


def __getattr__(name: str) -> object:
    # dynaplan.Explorer (the notebook widget) imports anywidget only when first used
    if name == "Explorer":
        from dynaplan.explore.widget import Explorer

        return Explorer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


register_envs()

__all__ = [
    "AGENTS",
    "DYNA_MAZE",
    "LSTD",
    "MCTS",
    "Agent",
    "CertaintyEquivalence",
    "DistributionModel",
    "Dyna2",
    "DynaAC",
    "DynaMCTS",
    "DynaQ",
    "DynaQPlus",
    "GridMaze",
    "ImaginedPolicyGradient",
    "LayoutError",
    "LinearDyna",
    "LinearDynaQ",
    "LinearPrioritizedSweeping",
    "LinearQLearning",
    "LinearTD",
    "Lookahead",
    "MazeLayout",
    "OneHot",
    "PrioritizedSweeping",
    "Problem",
    "QLearning",
    "QPlanning",
    "RolloutPlanner",
    "RunResult",
    "SampleModel",
    "Sarsa",
    "SarsaLambda",
    "SearchResult",
    "Solution",
    "TableFeatures",
    "TabularAgent",
    "TabularModel",
    "TileCoder",
    "World",
    "__version__",
    "linear_problem_of",
    "load_layout",
    "lookahead_search",
    "make_world",
    "mcts_search",
    "model_of",
    "policy_evaluation",
    "problem_of",
    "register_agent",
    "register_envs",
    "register_kernels",
    "register_model",
    "rollout_search",
    "run_agent",
    "run_batch",
    "run_linear_agent",
    "run_seeds",
    "value_iteration",
]
