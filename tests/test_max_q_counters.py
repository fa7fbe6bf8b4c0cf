"""Max-Q computations (each a max over a row of Q), counted in the kernels: hand-worked sequences."""

import gymnasium as gym
import pytest

from dynaplan import DynaQ, PrioritizedSweeping
from dynaplan.planning.probe import probe_take


def env16():
    return gym.make("FrozenLake-v1")  # 16 states, 4 actions; the transitions below are fed by hand


def test_prioritized_sweeping_counts_targets_and_priorities():
    agent = PrioritizedSweeping(env16(), planning_steps=5, theta=1e-8, alpha=1.0, gamma=0.9, epsilon=0.0, seed=0)
    # (0, 1) -> 1, reward 0: its priority |0 + 0.9 max Q(1) - 0| = 0 (one max), not queued.
    agent.observe(0, 1, 0.0, 1, False)
    assert (agent.updates, agent.max_q_computations) == (0, 1)
    # (1, 1) -> 2, reward 1: priority 1 (one max), queued; popped: its target (one max), then its
    # predecessor (0, 1)'s priority 0.9 (one max), queued; popped: target (one max); state 0 has
    # no predecessor. Two updates, five maxima.
    agent.observe(1, 1, 1.0, 2, False)
    assert (agent.updates, agent.max_q_computations) == (2, 5)
    assert agent.q[1, 1] == 1.0 and abs(agent.q[0, 1] - 0.9) < 1e-15
    # A terminal transition's target has no max; priority 0: nothing queued.
    agent.observe(2, 0, 0.0, 3, True)
    assert (agent.updates, agent.max_q_computations) == (2, 5)


def test_stochastic_prioritized_sweeping_counts_one_max_per_outcome():
    agent = PrioritizedSweeping(env16(), model="distribution", planning_steps=5, theta=1e-8, gamma=0.9, seed=0)
    agent.observe(0, 1, 0.0, 1, False)  # one outcome: priority (1 max), 0 -> not queued
    assert agent.max_q_computations == 1
    agent.observe(0, 1, 0.0, 2, False)  # two outcomes: priority (2 maxima), 0 -> not queued
    assert agent.max_q_computations == 3
    agent.observe(0, 1, 0.0, 5, True)  # a terminal third outcome adds no max: 2 more
    assert (agent.updates, agent.max_q_computations) == (0, 5)


def test_dyna_q_counts_one_max_per_non_terminal_update():
    agent = DynaQ(env16(), planning_steps=3, seed=0)
    with pytest.raises(ValueError, match="attach_probe"):
        agent.max_q_computations  # noqa: B018  (counted only with a probe)
    probe = agent.attach_probe(2)
    agent.observe(0, 1, 0.0, 1, True)  # direct and 3 planning updates, all on a terminal pair
    assert agent.max_q_computations == 0
    assert probe_take(probe) == ([4 * 0 + 1, 1], 3)  # 3 planning updates of (0, 1); the first 2 kept
    other = DynaQ(env16(), planning_steps=3, seed=0)
    other.attach_probe(0)
    other.observe(0, 1, 0.0, 1, False)  # direct and 3 planning updates on the one non-terminal pair
    assert other.max_q_computations == 4 == other.view().max_q
