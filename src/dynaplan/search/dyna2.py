"""Dyna-2 (Silver, Sutton & Mueller 2008, "Sample-based learning and search with permanent and
transient memories", ICML), tabular.

Two memories of action values, and the agent acts on their sum
``Q_bar(s, a) = Q(s, a) + T(s, a)``:

* the **permanent** memory ``Q`` learns from real experience only, by the one-step TD update
  ``Q(s, a) += alpha [r + gamma max_b Q(s', b) - Q(s, a)]`` (the paper's permanent learner is
  Sarsa(lambda) over features; the tabular one-step form is used here, with the greedy target
  so that the update is complete when ``observe`` is called, before the next action is chosen);
* the **transient** memory ``T`` learns by search, from simulated experience starting at the
  current state: before each real decision, ``simulations`` simulated episodes of at most
  ``depth`` steps are drawn from the model (the exact one, or a sample / distribution model
  learned from the real steps), each action chosen epsilon-greedily (``search_epsilon``) on
  ``Q_bar``, and after each simulated step the transient TD (Sarsa) update of the paper's
  Algorithm 1 corrects the sum:
  ``T(s, a) += alpha_t [r + gamma Q_bar(s', a') - Q_bar(s, a)]`` (``r`` alone at a terminal
  outcome; a simulation that reaches ``depth`` bootstraps from ``Q_bar(s', a')`` and stops).

The paper clears the transient memory at the start of every real episode (a game of Go); here
``reset`` says when: 0 before every decision, 1 at the start of every episode (the paper), 2
never (the transient memory then accumulates across episodes). With ``alpha = 0`` (and ``Q``
at 0) the agent is its transient memory alone, TD search (Silver, Sutton & Mueller 2012); with
``simulations = 0`` it is its permanent memory alone, Q-learning.

Unknown pairs of a learned model (``search.models``) end a simulated episode without an update
(their value is what the memories hold). Counters (``counters``, a ``SearchCounters``): decisions
searched, simulated episodes, model steps, real steps.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from dynaplan._jit import kernel
from dynaplan._stamp import generic
from dynaplan.core.egreedy import argmax_random, epsilon_greedy
from dynaplan.core.kernels import register_kernels
from dynaplan.models.protocol import model_known, model_sample, model_update
from dynaplan.planning.q_learning import q_update
from dynaplan.search.result import SearchCounters

RESET_DECISION, RESET_EPISODE, RESET_NEVER = 0, 1, 2
RESETS = {"decision": RESET_DECISION, "episode": RESET_EPISODE, "never": RESET_NEVER}


class Dyna2State(NamedTuple):
    """A Dyna-2 agent (S states, A actions).

    Attributes:
      q: float64[S, A], the permanent memory Q (learned from real steps)
      transient: float64[S, A], the transient memory T (learned by search)
      model: the model searched (``TabularModel``, ``SampleModel`` or ``DistributionModel``)
      row: float64[A], scratch: ``Q_bar`` at one state
      counters: ``SearchCounters``, decisions searched, simulated episodes, model steps, real steps
      flags: int64[1], 1 when the next decision starts an episode
      learned: the model is learned from real steps (updated by ``observe``)
      simulations: simulated episodes per decision
      max_steps: budget of model steps per decision (0: ``simulations`` alone); no simulated
        episode starts once the budget spent reaches it (its model steps, and at least 1 per
        episode, so that a search over a learned model with unknown pairs ends)
      depth: maximum length of a simulated episode
      alpha, alpha_transient: step sizes of the permanent and the transient memory
      gamma, epsilon, search_epsilon: discount; exploration of real and of simulated actions
      reset: when the transient memory is cleared (0 each decision, 1 each episode, 2 never)
    """

    q: np.ndarray
    transient: np.ndarray
    model: Any
    row: np.ndarray
    counters: SearchCounters
    flags: np.ndarray
    learned: bool
    simulations: int
    max_steps: int
    depth: int
    alpha: float
    alpha_transient: float
    gamma: float
    epsilon: float
    search_epsilon: float
    reset: int


@kernel(inline=True)
def combined_row(agent: Dyna2State, s: int) -> np.ndarray:
    """``Q_bar(s, .) = Q(s, .) + T(s, .)`` written into the scratch row (returned)."""
    row = agent.row
    for b in range(row.shape[0]):
        row[b] = agent.q[s, b] + agent.transient[s, b]
    return row


@generic
@kernel
def dyna2_search(agent: Dyna2State, s0: int, rng: np.ndarray) -> tuple[int, int]:
    """Simulated episodes from ``s0``, a TD (Sarsa) update of T per step; returns (episodes, model steps)."""
    q = agent.q
    t = agent.transient
    gamma = agent.gamma
    alpha = agent.alpha_transient
    steps = 0
    ran = 0
    spent = 0  # model steps, and at least 1 per episode (one ended at an unknown pair costs a query)
    for _ in range(agent.simulations):
        if agent.max_steps > 0 and spent >= agent.max_steps:
            break
        ran += 1
        before = steps
        s = s0
        a = epsilon_greedy(combined_row(agent, s), agent.search_epsilon, rng)
        for h in range(agent.depth):
            if not model_known(agent.model, s, a):
                break
            s2, r, term = model_sample(agent.model, s, a, rng)
            steps += 1
            if term:
                t[s, a] += alpha * (r - (q[s, a] + t[s, a]))
                break
            a2 = epsilon_greedy(combined_row(agent, s2), agent.search_epsilon, rng)
            target = r + gamma * (q[s2, a2] + t[s2, a2])
            t[s, a] += alpha * (target - (q[s, a] + t[s, a]))
            if h == agent.depth - 1:
                break
            s = s2
            a = a2
        spent += max(steps - before, 1)
    return ran, steps


@generic
@kernel
def dyna2_act(agent: Dyna2State, s: int, rng: np.ndarray) -> int:
    """Search from ``s`` (clearing T first as ``reset`` says), then act epsilon-greedily on Q + T."""
    if agent.reset == RESET_DECISION or (agent.reset == RESET_EPISODE and agent.flags[0] == 1):
        agent.transient[:] = 0.0
    agent.flags[0] = 0
    cnt = agent.counters
    if agent.simulations > 0:
        cnt.decisions[0] += 1
        ran, steps = dyna2_search(agent, s, rng)
        cnt.simulations[0] += ran
        cnt.model_steps[0] += steps
    return epsilon_greedy(combined_row(agent, s), agent.epsilon, rng)


@generic
@kernel
def dyna2_observe(
    agent: Dyna2State, s: int, a: int, r: float, s2: int, terminated: bool, truncated: bool, rng: np.ndarray
) -> None:
    """A real step: model update (learned model), permanent TD update, episode bookkeeping."""
    if agent.learned:
        model_update(agent.model, s, a, r, s2, terminated, agent.counters.real_steps[0])
    if agent.alpha > 0.0:
        q_update(agent.q, s, a, r, s2, terminated, agent.alpha, agent.gamma)
    agent.counters.real_steps[0] += 1
    if terminated or truncated:
        agent.flags[0] = 1


@generic
@kernel
def dyna2_greedy(agent: Dyna2State, s: int, rng: np.ndarray) -> int:
    """A greedy action on Q + T at ``s`` without searching (ties at random)."""
    return argmax_random(combined_row(agent, s), rng)


register_kernels(Dyna2State, act=dyna2_act, observe=dyna2_observe)
