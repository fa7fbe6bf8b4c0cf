"""Planning at decision time (book sections 8.8 to 8.11): search from the state the agent is in.

Each planner takes a model (the env's exact ``TabularModel``, or a ``SampleModel`` or
``DistributionModel`` an agent learned) and a state, and returns a ``SearchResult``: the
action, the root statistics (visits and value estimates per action) and the compute spent.

* ``lookahead_search``: heuristic search, a depth-limited tree of exact expected updates with
  the value function at the leaves (section 8.9);
* ``rollout_search``: rollout planning, Monte Carlo values of each root action under a rollout
  policy (section 8.10);
* ``mcts_search``: Monte Carlo Tree Search with UCB1 (UCT, section 8.11): by default the
  book's tree of paths (``search.tree``: ``MCTSTree``, reused across decisions by
  ``tree_reroot``), or a state-keyed table (``search.mcts``: ``SearchTree``) with every-visit,
  first-visit or Bellman backups;
* ``finite_horizon_q``: exact finite-horizon values by backward induction, their ground truth.

The agents that act by these searches (``dynaplan.MCTS``, ``RolloutPlanner``, ``Lookahead``)
live in ``dynaplan.agents.search``.
"""

from dynaplan.planning.exact import finite_horizon_q, optimal_actions
from dynaplan.search.lookahead import lookahead_q, lookahead_search
from dynaplan.search.mcts import (
    BACKUPS,
    EVALUATIONS,
    KEYS,
    SearchTree,
    clear_tree,
    mcts_decide,
    mcts_run,
    mcts_search,
    new_tree,
)
from dynaplan.search.result import SearchResult
from dynaplan.search.rollout import rollout_return, rollout_run, rollout_search
from dynaplan.search.tree import MCTSTree, new_search_tree, tree_reroot, tree_reset, tree_run

__all__ = [
    "BACKUPS",
    "EVALUATIONS",
    "KEYS",
    "MCTSTree",
    "SearchResult",
    "SearchTree",
    "clear_tree",
    "finite_horizon_q",
    "lookahead_q",
    "lookahead_search",
    "mcts_decide",
    "mcts_run",
    "mcts_search",
    "new_search_tree",
    "new_tree",
    "optimal_actions",
    "rollout_return",
    "rollout_run",
    "rollout_search",
    "tree_reroot",
    "tree_reset",
    "tree_run",
]
