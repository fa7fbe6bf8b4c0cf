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


def arrays(state: Any) -> dict[str, np.ndarray]:
    """Copies of every array of a kernel state (NamedTuples nested), by field path."""
    if isinstance(state, np.ndarray):
        return {"": state.copy()}
    out = {}
    for field in getattr(state, "_fields", ()):
        out.update({f"{field}.{k}": v for k, v in arrays(getattr(state, field)).items()})
    return out


def assert_unchanged(before: dict[str, np.ndarray], state: Any) -> None:
    after = arrays(state)
    for key, value in before.items():
        np.testing.assert_array_equal(after[key], value, err_msg=key)


#: Agents over raw vectors (the neural family) are checked by their own tests on their own envs
#: (tests/test_learned_search.py: wrong shapes, NaN, actions, rewards, flags refused by name).
TABLE_OR_FEATURES = sorted(name for name, cls in AGENTS.items() if cls.encoding != "vector")


@pytest.mark.parametrize("name", TABLE_OR_FEATURES)
def test_state_arguments_are_checked(name: str) -> None:
    agent, n_states, n_actions = make(name)
    rng = rf"\[0, {n_states - 1}\]"
    before = arrays(agent.state)
    greedy = getattr(agent, "greedy_action", agent.act)
    for bad in bad_states(n_states):
        with pytest.raises(ValueError, match=rf"obs must be .*{rng}"):
            agent.act(bad)
        with pytest.raises(ValueError, match=rf"obs must be .*{rng}"):
            greedy(bad)
        with pytest.raises(ValueError, match=rf"^obs must be .*{rng}"):
            agent.observe(bad, 1, 0.0, 1, False, False)
        with pytest.raises(ValueError, match=rf"^next_obs must be .*{rng}"):
            agent.observe(0, 1, 0.0, bad, False, False)
        if hasattr(agent, "search"):
            with pytest.raises(ValueError, match=rf"obs must be .*{rng}"):
                agent.search(bad, simulations=2)
    assert_unchanged(before, agent.state)  # refused before any kernel ran
    # the edges of the range are accepted, numpy integers too (Gymnasium returns np.int64)
    for s in (0, n_states - 1, np.int64(1)):
        assert 0 <= agent.act(s) < n_actions
        assert 0 <= greedy(s) < n_actions
    agent.observe(np.int64(0), np.int64(n_actions - 1), 0.0, n_states - 1, True, False)


@pytest.mark.parametrize("name", TABLE_OR_FEATURES)
def test_action_reward_and_flag_arguments_are_checked(name: str) -> None:
    """Every family, through the checks of the one base class: an action out of range (one past the
    end, -1, 10**9: the last killed the interpreter with a linear agent), a reward that is not a
    finite number, a flag that is not a bool; one line naming the argument, the state untouched."""
    agent, _, n_actions = make(name)
    before = arrays(agent.state)
    for bad in [*bad_actions(n_actions), 10**9, 2**70]:
        with pytest.raises(ValueError, match=rf"^action must be .*\[0, {n_actions - 1}\]"):
            agent.observe(0, bad, 0.0, 1, False, False)
    for bad_reward in ("1", None, [1.0], True):
        with pytest.raises(ValueError, match=r"^reward must be a number"):
            agent.observe(0, 1, bad_reward, 1, False, False)
    for bad_reward in (float("nan"), float("inf"), -np.inf):
        with pytest.raises(ValueError, match=r"^reward must be a finite number"):
            agent.observe(0, 1, bad_reward, 1, False, False)
    for bad_flag in ("no", 1, 0, None, 1.0):
        with pytest.raises(ValueError, match=r"^terminated must be true or false"):
            agent.observe(0, 1, 0.0, 1, bad_flag, False)
        with pytest.raises(ValueError, match=r"^truncated must be true or false"):
            agent.observe(0, 1, 0.0, 1, False, bad_flag)
    assert_unchanged(before, agent.state)
    agent.observe(0, np.int64(1), np.float32(0.5), 1, np.bool_(False), np.bool_(True))  # NumPy scalars are fine


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
