"""Planning at decision time (book sections 8.8 to 8.11): search from the state the agent is in.

Each planner takes a model (the env's exact ``TabularModel``, or a ``SampleModel`` or
``DistributionModel`` an agent learned) and a state, and returns a ``SearchResult``: the
action, the root statistics (visits and value estimates per action) and the compute spent.

* ``lookahead_search``: heuristic search, a depth-limited tree of exact expected updates with
  the value function at the leaves (section 8.9);
* ``rollout_search``: rollout planning, Monte Carlo values of each root action under a rollout
  policy (section 8.10);
* ``mcts_search``: Monte Carlo Tree Search with UCB1 (UCT, section 8.11), one family
  (``search.mcts``) with two ways of keeping statistics: the book's **path tree**
  (``search.path_tree``: ``PathTree``, reused across decisions by ``path_tree_reroot``; the
  default) or a **state table** (``search.state_table``: ``StateTable``) with every-visit,
  first-visit or Bellman backups;
* ``finite_horizon_q``: exact finite-horizon values by backward induction, their ground truth.

The kernel states of the agents that act by these searches are in ``search.searchers``; the
agents themselves (``dynaplan.MCTS``, ``RolloutPlanner``, ``Lookahead``) in ``dynaplan.agents.search``.
"""

from dynaplan.planning.exact import finite_horizon_q, optimal_actions
from dynaplan.search.lookahead import lookahead_q, lookahead_search
from dynaplan.search.mcts import BACKUPS, EVALUATIONS, KEYS, mcts_search
from dynaplan.search.path_tree import PathTree, new_path_tree, path_tree_reroot, path_tree_reset, path_tree_run
from dynaplan.search.result import RootStats, SearchCounters, SearchResult
from dynaplan.search.rollout import rollout_return, rollout_run, rollout_search
from dynaplan.search.state_table import StateTable, clear_table, new_state_table, state_table_run

__all__ = [
    "BACKUPS",
    "EVALUATIONS",
    "KEYS",
    "PathTree",
    "RootStats",
    "SearchCounters",
    "SearchResult",
    "StateTable",
    "clear_table",
    "finite_horizon_q",
    "lookahead_q",
    "lookahead_search",
    "mcts_search",
    "new_path_tree",
    "new_state_table",
    "optimal_actions",
    "path_tree_reroot",
    "path_tree_reset",
    "path_tree_run",
    "rollout_return",
    "rollout_run",
    "rollout_search",
    "state_table_run",
]
