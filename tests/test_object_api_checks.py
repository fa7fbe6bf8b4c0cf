"""Out-of-range states and actions are a ValueError naming the argument and the range, never a
read or write outside the kernels' arrays (which killed the interpreter: the kernels index
unchecked). Every registered agent is covered, including agents registered by other modules,
each on its ``example_env`` with its ``example_params``."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pytest

from dynaplan.agents import AGENTS


@pytest.fixture(scope="module")
def env() -> Any:
    return gym.make("FrozenLake-v1")


def make(name: str) -> tuple[Any, int, int]:
    """The agent on its example env, and that env's numbers of states and actions."""
    cls = AGENTS[name]
    example = gym.make(cls.example_env)
    agent = cls(example, seed=3, **cls.example_params)
    return agent, int(example.observation_space.n), int(example.action_space.n)  # type: ignore[attr-defined]


def bad_states(n: int) -> list[Any]:
    return [n, n + 1, 10**9, -1, 2**70, 1.5, "3", None, True]


def bad_actions(n: int) -> list[Any]:
    return [n, n + 3, -1, 10**6, 2.0, True]


@pytest.mark.parametrize("name", sorted(AGENTS))
def test_state_arguments_are_checked(name: str) -> None:
    agent, n_states, n_actions = make(name)
    rng = rf"\[0, {n_states - 1}\]"
    q_before = agent.q.copy()
    for bad in bad_states(n_states):
        with pytest.raises(ValueError, match=rf"obs must be .*{rng}"):
            agent.act(bad)
        with pytest.raises(ValueError, match=rf"obs must be .*{rng}"):
            agent.greedy_action(bad)
        with pytest.raises(ValueError, match=rf"^obs must be .*{rng}"):
            agent.observe(bad, 1, 0.0, 1, False, False)
        with pytest.raises(ValueError, match=rf"^next_obs must be .*{rng}"):
            agent.observe(0, 1, 0.0, bad, False, False)
        if hasattr(agent, "search"):
            with pytest.raises(ValueError, match=rf"obs must be .*{rng}"):
                agent.search(bad, simulations=2)
    np.testing.assert_array_equal(agent.q, q_before)  # refused before any kernel ran
    # the edges of the range are accepted, numpy integers too (Gymnasium returns np.int64)
    for s in (0, n_states - 1, np.int64(1)):
        assert 0 <= agent.act(s) < n_actions
        assert 0 <= agent.greedy_action(s) < n_actions
    agent.observe(np.int64(0), np.int64(n_actions - 1), 0.0, n_states - 1, True, False)


@pytest.mark.parametrize("name", sorted(AGENTS))
def test_action_and_reward_arguments_are_checked(name: str) -> None:
    agent, _, n_actions = make(name)
    for bad in bad_actions(n_actions):
        with pytest.raises(ValueError, match=rf"^action must be .*\[0, {n_actions - 1}\]"):
            agent.observe(0, bad, 0.0, 1, False, False)
    for bad_reward in ("1", None, [1.0]):
        with pytest.raises(ValueError, match=r"^reward must be a number"):
            agent.observe(0, 1, bad_reward, 1, False, False)


@pytest.mark.parametrize("name", sorted(n for n, cls in AGENTS.items() if hasattr(cls, "plan")))
def test_plan_budget_is_checked(name: str) -> None:
    agent, _, _ = make(name)
    for bad in (-1, 2**63, 1.5, True, "5"):
        with pytest.raises(ValueError, match=r"^n_updates must be an integer in \[0, 9223372036854775807\]"):
            agent.plan(bad)
    agent.plan(0)
    agent.plan(3)


def test_the_issue_cases_on_frozen_lake(env: Any) -> None:
    """The inputs that killed the interpreter (exit 139) or were silently accepted."""
    from dynaplan import DynaQ

    agent = DynaQ(env, seed=0)
    with pytest.raises(ValueError, match=r"^obs must be a state in \[0, 15\] \(the env has 16 states\), got 10{9}$"):
        agent.act(10**9)
    with pytest.raises(ValueError, match=r"^next_obs must be a state in \[0, 15\].*got 1000000$"):
        agent.observe(0, 1, 0.0, 10**6, False, False)
    with pytest.raises(ValueError, match=r"^obs must be a state in \[0, 15\].*got 20$"):
        agent.observe(20, 1, 0.0, 1, False, False)
    with pytest.raises(ValueError, match=r"^obs must be a state in \[0, 15\].*got 16$"):
        agent.act(16)
    with pytest.raises(ValueError, match=r"^action must be an action in \[0, 3\] \(the env has 4 actions\), got 7$"):
        agent.observe(0, 7, 0.0, 1, False, False)


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
