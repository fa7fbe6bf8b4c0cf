"""The kernel states of agents that act by decision-time search, and their ``act`` / ``observe``.

Two states, one per way of keeping search statistics between decisions:

* ``SearchAgentState``: lookahead (section 8.9), rollout planning (8.10) and MCTS over a state
  table (``search.state_table``; ``method`` says which). **Persistence**: the table is not
  cleared between decisions, so a state seen again starts from what earlier searches computed;
* ``PathTreeAgentState``: MCTS on the book's path tree (``search.path_tree``, 8.11), which keeps
  the subtree of the action taken and the state reached as the next root (tree reuse).

Both share what is done with a real step and with the root's estimates:

* **write-back**: after each decision the root's value estimates overwrite ``q[s, a]`` for the
  actions the search tried; ``q`` also values the search's leaves, so searches feed the table
  and the table feeds later searches;
* **Dyna with search**: with a learned model (``SampleModel`` or ``DistributionModel``) each
  real step updates the model, makes a direct Q-learning update and ``planning_steps``
  background planning updates on it (Dyna-Q, section 8.2; expected updates for a distribution
  model), and each decision searches the learned model, valuing untried pairs by ``q``.

With an exact model, ``learn`` adds the direct Q-learning update and ``planning_steps`` adds
Q-planning updates on random pairs of the exact model (section 8.1). The model is any type
registered with the model protocol (``models.protocol``). ``act`` with probability ``epsilon``
takes a uniformly random action without searching. What was counted is in ``counters``
(``SearchCounters``), the last search's root in ``root`` (``RootStats``).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from dynaplan._jit import kernel
from dynaplan._stamp import generic
from dynaplan.core.kernels import register_kernels
from dynaplan.models.protocol import model_update
from dynaplan.planning.dyna_q import dyna_planning
from dynaplan.planning.q_learning import q_update
from dynaplan.rng import rand, randint
from dynaplan.search.lookahead import lookahead_act
from dynaplan.search.path_tree import PathTree, path_tree_reroot, path_tree_reset, path_tree_run
from dynaplan.search.result import RootStats, SearchCounters
from dynaplan.search.rollout import best_mean, rollout_run
from dynaplan.search.state_table import StateTable, clear_table, state_table_run, table_row
from dynaplan.search.ucb import most_visited

__all__ = [
    "METHOD_LOOKAHEAD",
    "METHOD_MCTS",
    "METHOD_ROLLOUT",
    "LastStep",
    "PathTreeAgentState",
    "SearchAgentState",
]

METHOD_LOOKAHEAD = 0
METHOD_ROLLOUT = 1
METHOD_MCTS = 2


class SearchAgentState(NamedTuple):
    """An agent acting by lookahead, rollouts or MCTS over a state table (S states, A actions).

    Attributes:
      q: float64[S, A], action values: leaf values, value of unknown pairs, write-back target
      model: the model searched (any registered model type: ``TabularModel``, ``SampleModel``,
        ``DistributionModel``, a user's own)
      table: ``StateTable`` of MCTS statistics (a 1-row dummy for the other methods)
      root: ``RootStats`` of the last decision searched
      counters: ``SearchCounters``
      path, path_rewards, sums, expanded: scratch space (int64[2, depth], float64[depth],
        float64[A], int64[1]): the kernels allocate nothing
      method: 0 lookahead, 1 rollouts, 2 MCTS
      learned: the model is learned from real steps (updated by ``observe``)
      learn: make a direct Q-learning update on each real step
      simulations: simulations per decision (rollouts, MCTS)
      depth: search depth / horizon
      c: UCB1 exploration constant
      gamma, alpha, epsilon: discount, step size (Q-learning and planning), exploration rate
      planning_steps: background planning updates per real step
      evaluation: MCTS leaf evaluation (0 random rollout, 1 value function, 2 greedy rollout)
      key: MCTS row key (0 state, 1 horizon and state)
      persist: keep the MCTS statistics across decisions
      write_back: copy root value estimates into ``q``
      greedy_rollouts: rollout planning follows the greedy policy of ``q`` (else uniform)
    """

    q: np.ndarray
    model: Any
    table: StateTable
    root: RootStats
    counters: SearchCounters
    path: np.ndarray
    path_rewards: np.ndarray
    sums: np.ndarray
    expanded: np.ndarray
    method: int
    learned: bool
    learn: bool
    simulations: int
    depth: int
    c: float
    gamma: float
    alpha: float
    epsilon: float
    planning_steps: int
    evaluation: int
    key: int
    persist: bool
    write_back: bool
    greedy_rollouts: bool


class LastStep(NamedTuple):
    """The last real step an agent on the path tree saw (each int64[1]): ``action``, ``next_state``,
    and ``reusable`` (1 if the tree's root was its state and the episode goes on: the next decision
    may keep the subtree)."""

    action: np.ndarray
    next_state: np.ndarray
    reusable: np.ndarray


class PathTreeAgentState(NamedTuple):
    """An agent acting by the book's MCTS on a path tree (S states, A actions, tree capacity M).

    Attributes:
      q: float64[S, A], action values: leaf values, value of unknown pairs, write-back target
      model: the model searched (``TabularModel``, ``SampleModel`` or ``DistributionModel``)
      tree: ``PathTree``
      root: ``RootStats`` of the last decision searched
      counters: ``SearchCounters``
      last: ``LastStep``, the last real step seen by ``observe``
      path, path_rewards: scratch space (int64[2, depth], float64[depth])
      learned, learn: the model is learned from real steps; make direct Q-learning updates
      simulations, depth, c: simulations per decision, horizon, UCB1 constant
      max_steps: budget of model steps per decision (0: ``simulations`` alone)
      gamma, alpha, epsilon: discount, step size, exploration rate of the real actions
      planning_steps: background planning updates per real step (Dyna with search)
      evaluation: 0 random rollout, 1 value function, 2 greedy rollout on ``q``
      persist: keep the subtree of the action taken and the state reached (tree reuse)
      write_back: copy the root's value estimates into ``q``
    """

    q: np.ndarray
    model: Any
    tree: PathTree
    root: RootStats
    counters: SearchCounters
    last: LastStep
    path: np.ndarray
    path_rewards: np.ndarray
    learned: bool
    learn: bool
    simulations: int
    max_steps: int
    depth: int
    c: float
    gamma: float
    alpha: float
    epsilon: float
    planning_steps: int
    evaluation: int
    persist: bool
    write_back: bool


# -- shared by both states -------------------------------------------------------------------


@kernel(inline=True)
def learn_real_step(agent: Any, s: int, a: int, r: float, s2: int, terminated: bool, rng: np.ndarray) -> None:
    """Model update (a learned model), direct Q-learning (eq. 6.8) and background planning (Dyna, 8.2)."""
    if agent.learned:
        model_update(agent.model, s, a, r, s2, terminated, agent.counters.real_steps[0])
    if agent.learn:
        q_update(agent.q, s, a, r, s2, terminated, agent.alpha, agent.gamma)
    agent.counters.real_steps[0] += 1
    if agent.planning_steps > 0:
        dyna_planning(agent.q, agent.model, agent.planning_steps, agent.alpha, agent.gamma, rng)


@kernel(inline=True)
def note_root(agent: Any, stats: Any, row: int, s: int, visits_before: float) -> None:
    """Copy the root's edge visits and mean returns (``stats.n``, ``stats.w`` at ``row``) into
    ``agent.root``; then the write-back (``q[s]`` takes them where the root action was searched)."""
    root = agent.root
    root.state[0] = s
    root.visits_before[0] = visits_before
    root.visits[0] = stats.visits[row]
    for b in range(root.n.shape[0]):
        nb = stats.n[row, b]
        root.n[b] = nb
        root.q[b] = stats.w[row, b] / nb if nb > 0.0 else np.nan
    write_back_root(agent, s)


@kernel(inline=True)
def write_back_root(agent: Any, s: int) -> None:
    """Copy the root's value estimates into ``q[s]`` (where the root action was searched)."""
    if agent.write_back:
        for b in range(agent.root.n.shape[0]):
            if agent.root.n[b] > 0.0:
                agent.q[s, b] = agent.root.q[b]


# -- lookahead, rollouts, state table --------------------------------------------------------


@kernel(inline=True)
def _rollout_decide(agent: SearchAgentState, s: int, rng: np.ndarray) -> tuple[int, int]:
    """Rollout planning from ``s`` into ``agent.root``: ``(action, model steps)``."""
    root = agent.root
    root.n[:] = 0.0
    sums = agent.sums
    sums[:] = 0.0
    steps = rollout_run(
        agent.model, agent.q, s, agent.simulations, agent.gamma, agent.depth, agent.greedy_rollouts, root.n, sums, rng,
    )
    a = best_mean(root.n, sums, rng)
    for b in range(root.n.shape[0]):
        root.q[b] = sums[b] / root.n[b] if root.n[b] > 0.0 else np.nan
    root.state[0] = s
    root.visits_before[0] = 0.0
    root.visits[0] = agent.simulations
    return a, steps


@generic
@kernel
def search_act(agent: SearchAgentState, s: int, rng: np.ndarray) -> int:
    """Search from ``s`` and return the action chosen (or, with probability epsilon, a random one)."""
    if agent.epsilon > 0.0 and rand(rng) < agent.epsilon:
        return randint(rng, agent.q.shape[1])
    cnt = agent.counters
    cnt.decisions[0] += 1
    if agent.method == METHOD_MCTS:
        table = agent.table
        row = table_row(s, agent.depth, agent.q.shape[0], agent.key)
        before = table.visits[row] if agent.persist else 0.0
        if not agent.persist:
            clear_table(table)
        steps = state_table_run(
            agent.model, table, agent.q, s, agent.simulations, agent.c, agent.gamma, agent.depth,
            agent.evaluation, agent.key, agent.path, agent.path_rewards, rng,
        )
        a = most_visited(table, row, rng)
        cnt.simulations[0] += table.ran[0]
        cnt.model_steps[0] += steps
        note_root(agent, table, row, s, before)
        return a
    if agent.method == METHOD_ROLLOUT:
        a, steps = _rollout_decide(agent, s, rng)
        cnt.simulations[0] += agent.simulations
    else:
        a, steps = lookahead_act(agent.model, agent.q, s, agent.depth, agent.gamma, agent.root.q, agent.expanded, rng)
        agent.root.n[:] = 1.0
        agent.root.state[0] = s
    cnt.model_steps[0] += steps
    write_back_root(agent, s)
    return a


@generic
@kernel
def search_observe(
    agent: SearchAgentState, s: int, a: int, r: float, s2: int, terminated: bool, truncated: bool, rng: np.ndarray
) -> None:
    """Learn from a real step: model update (learned model), direct Q-learning, background planning."""
    learn_real_step(agent, s, a, r, s2, terminated, rng)


register_kernels(SearchAgentState, act=search_act, observe=search_observe)


# -- the path tree ---------------------------------------------------------------------------


@generic
@kernel
def path_tree_act(agent: PathTreeAgentState, s: int, rng: np.ndarray) -> int:
    """Search from ``s`` (reusing the subtree of the last step when ``persist``) and return the action.

    With probability epsilon a uniformly random action is taken without searching.
    """
    if agent.epsilon > 0.0 and rand(rng) < agent.epsilon:
        return randint(rng, agent.q.shape[1])
    cnt = agent.counters
    cnt.decisions[0] += 1
    tree = agent.tree
    last = agent.last
    if agent.persist and last.reusable[0] == 1 and last.next_state[0] == s:
        cnt.nodes_reused[0] += path_tree_reroot(tree, last.action[0], s)
    else:
        path_tree_reset(tree, s)
    last.reusable[0] = 0
    before = tree.visits[0]
    steps = path_tree_run(
        agent.model, tree, agent.q, agent.simulations, agent.max_steps, agent.c, agent.gamma, agent.depth,
        agent.evaluation, agent.path, agent.path_rewards, rng,
    )
    a = most_visited(tree, 0, rng)
    cnt.simulations[0] += tree.ran[0]
    cnt.model_steps[0] += steps
    note_root(agent, tree, 0, s, before)
    return a


@generic
@kernel
def path_tree_observe(
    agent: PathTreeAgentState, s: int, a: int, r: float, s2: int, terminated: bool, truncated: bool, rng: np.ndarray
) -> None:
    """Learn from a real step (model update, direct Q-learning, background planning) and note it for reuse."""
    learn_real_step(agent, s, a, r, s2, terminated, rng)
    tree = agent.tree
    last = agent.last
    last.action[0] = a
    last.next_state[0] = s2
    ongoing = not terminated and not truncated
    last.reusable[0] = 1 if ongoing and tree.size[0] > 0 and tree.state[0] == s else 0


register_kernels(PathTreeAgentState, act=path_tree_act, observe=path_tree_observe)
