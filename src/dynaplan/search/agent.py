"""Agents that act by decision-time search: the kernel state and its ``act`` / ``observe``.

One ``SearchAgentState`` serves three planners (``method``: lookahead, rollouts, MCTS) over
three kinds of model, and the blends of decision-time and background planning (section 8.8 to
8.11 and the closing of section 8.13):

* **persistence** (MCTS): the search statistics (``tree``) are not cleared between decisions,
  so a state seen again starts from what earlier searches computed (the tree is keyed by state,
  see ``search.mcts``);
* **write-back**: after each decision the root's value estimates overwrite ``q[s, a]`` for the
  actions the search tried; ``q`` also values the search's leaves, so searches feed the table
  and the table feeds later searches;
* **Dyna with search**: with a learned model (``SampleModel`` or ``DistributionModel``) each
  real step updates the model, makes a direct Q-learning update and ``planning_steps``
  background planning updates on it (Dyna-Q, section 8.2; expected updates for a distribution
  model), and each decision searches the learned model, valuing untried pairs by ``q``.

With an exact model, ``learn`` adds the direct Q-learning update and ``planning_steps`` adds
Q-planning updates on random pairs of the exact model (section 8.1). The model is any type
registered with the model protocol (``models.protocol``): recording a real step, planning on it
and searching it are the protocol's calls, so a user's model type works here unchanged.

``act`` with probability ``epsilon`` takes a uniformly random action without searching.
Counters (``counters: int64[4]``): decisions searched, simulations, model steps, real steps.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from dynaplan._jit import kernel
from dynaplan._stamp import generic
from dynaplan.planning.protocol import register_kernels
from dynaplan.rng import rand, randint
from dynaplan.search.lookahead import lookahead_act
from dynaplan.search.mcts import SearchTree, mcts_decide, node_of
from dynaplan.search.real_step import learn_real_step, write_back_root
from dynaplan.search.rollout import best_mean, rollout_run

METHOD_LOOKAHEAD = 0
METHOD_ROLLOUT = 1
METHOD_MCTS = 2

DECISIONS, SIMULATIONS, MODEL_STEPS, REAL_STEPS = 0, 1, 2, 3


class SearchAgentState(NamedTuple):
    """An agent acting by search (S states, A actions).

    Attributes:
      q: float64[S, A], action values: leaf values, value of unknown pairs, write-back target
      model: the model searched (any registered model type: ``TabularModel``, ``SampleModel``,
        ``DistributionModel``, a user's own)
      tree: ``SearchTree`` of MCTS statistics (a 1-row dummy for the other methods)
      root_n: float64[A], simulations per root action at the last decision
      root_q: float64[A], root value estimates at the last decision (NaN: no simulation)
      counters: int64[4], decisions searched, simulations, model steps, real steps
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
      key: MCTS node key (0 state, 1 horizon and state)
      persist: keep the MCTS statistics across decisions
      write_back: copy root value estimates into ``q``
      greedy_rollouts: rollout planning follows the greedy policy of ``q`` (else uniform)
    """

    q: np.ndarray
    model: Any
    tree: SearchTree
    root_n: np.ndarray
    root_q: np.ndarray
    counters: np.ndarray
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


@generic
@kernel
def search_act(agent: SearchAgentState, s: int, rng: np.ndarray) -> int:
    """Search from ``s`` and return the action chosen (or, with probability epsilon, a random one)."""
    n_actions = agent.q.shape[1]
    if agent.epsilon > 0.0 and rand(rng) < agent.epsilon:
        return randint(rng, n_actions)
    cnt = agent.counters
    cnt[DECISIONS] += 1
    if agent.method == METHOD_MCTS:
        a, steps = mcts_decide(
            agent.model, agent.tree, agent.q, s, agent.simulations, agent.c, agent.gamma, agent.depth,
            agent.evaluation, agent.key, agent.persist, agent.path, agent.path_rewards, rng,
        )
        root = node_of(s, agent.depth, agent.q.shape[0], agent.key)
        for b in range(n_actions):
            nb = agent.tree.n[root, b]
            agent.root_n[b] = nb
            agent.root_q[b] = agent.tree.w[root, b] / nb if nb > 0.0 else np.nan
        cnt[SIMULATIONS] += agent.tree.ran[0]
    elif agent.method == METHOD_ROLLOUT:
        agent.root_n[:] = 0.0
        sums = agent.sums
        sums[:] = 0.0
        steps = rollout_run(
            agent.model, agent.q, s, agent.simulations, agent.gamma, agent.depth, agent.greedy_rollouts,
            agent.root_n, sums, rng,
        )
        a = best_mean(agent.root_n, sums, rng)
        for b in range(n_actions):
            agent.root_q[b] = sums[b] / agent.root_n[b] if agent.root_n[b] > 0.0 else np.nan
        cnt[SIMULATIONS] += agent.simulations
    else:
        a, steps = lookahead_act(agent.model, agent.q, s, agent.depth, agent.gamma, agent.root_q, agent.expanded, rng)
        agent.root_n[:] = 1.0
    cnt[MODEL_STEPS] += steps
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
