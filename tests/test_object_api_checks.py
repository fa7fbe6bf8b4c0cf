"""Out-of-range states and actions are a ValueError naming the argument and the range, never a
read or write outside the kernels' arrays (which killed the interpreter: the kernels index
unchecked). Every registered agent is covered, including agents registered by other modules."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pytest

from dynaplan.agents import AGENTS

N_STATES, N_ACTIONS = 16, 4  # FrozenLake-v1 4x4


@pytest.fixture(scope="module")
def env() -> Any:
    return gym.make("FrozenLake-v1")


def make(name: str, env: Any) -> Any:
    return AGENTS[name](env, seed=3)


BAD_STATES = [16, 10**9, -1, 2**70, 1.5, "3", None, True]
BAD_ACTIONS = [4, 7, -1, 10**6, 2.0, True]


@pytest.mark.parametrize("name", sorted(AGENTS))
def test_state_arguments_are_checked(name: str, env: Any) -> None:
    agent = make(name, env)
    q_before = agent.q.copy()
    for bad in BAD_STATES:
        with pytest.raises(ValueError, match=r"obs must be .*\[0, 15\]"):
            agent.act(bad)
        with pytest.raises(ValueError, match=r"obs must be .*\[0, 15\]"):
            agent.greedy_action(bad)
        with pytest.raises(ValueError, match=r"^obs must be .*\[0, 15\]"):
            agent.observe(bad, 1, 0.0, 1, False, False)
        with pytest.raises(ValueError, match=r"^next_obs must be .*\[0, 15\]"):
            agent.observe(0, 1, 0.0, bad, False, False)
        if hasattr(agent, "search"):
            with pytest.raises(ValueError, match=r"obs must be .*\[0, 15\]"):
                agent.search(bad, simulations=2)
    np.testing.assert_array_equal(agent.q, q_before)  # refused before any kernel ran
    # the edges of the range are accepted, numpy integers too (Gymnasium returns np.int64)
    for s in (0, N_STATES - 1, np.int64(5)):
        assert 0 <= agent.act(s) < N_ACTIONS
        assert 0 <= agent.greedy_action(s) < N_ACTIONS
    agent.observe(np.int64(0), np.int64(N_ACTIONS - 1), 0.0, N_STATES - 1, True, False)


@pytest.mark.parametrize("name", sorted(AGENTS))
def test_action_and_reward_arguments_are_checked(name: str, env: Any) -> None:
    agent = make(name, env)
    for bad in BAD_ACTIONS:
        with pytest.raises(ValueError, match=r"^action must be .*\[0, 3\]"):
            agent.observe(0, bad, 0.0, 1, False, False)
    for bad_reward in ("1", None, [1.0]):
        with pytest.raises(ValueError, match=r"^reward must be a number"):
            agent.observe(0, 1, bad_reward, 1, False, False)


@pytest.mark.parametrize("name", sorted(n for n, cls in AGENTS.items() if hasattr(cls, "plan")))
def test_plan_budget_is_checked(name: str, env: Any) -> None:
    agent = make(name, env)
    for bad in (-1, 2**63, 1.5, True, "5"):
        with pytest.raises(ValueError, match=r"^n_updates must be an integer in \[0, 9223372036854775807\]"):
            agent.plan(bad)
    agent.plan(0)
    agent.plan(3)


def test_an_agent_registered_later_is_checked_too(env: Any) -> None:
    """The checks live in the base class: a user's agent (any subclass) gets them."""
    from dynaplan.agents import QLearning, register_agent

    class Mine(QLearning):
        name = "test-object-api-checks-mine"

    register_agent(Mine)
    try:
        with pytest.raises(ValueError, match=r"obs must be .*\[0, 15\]"):
            Mine(env, seed=0).act(10**9)
        with pytest.raises(ValueError, match=r"action must be .*\[0, 3\]"):
            Mine(env, seed=0).observe(0, 7, 0.0, 1, False)
    finally:
        del AGENTS[Mine.name]
