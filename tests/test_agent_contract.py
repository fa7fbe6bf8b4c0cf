"""The agent contract for users (``dynaplan.testing``), the object API fuzzed, parameters checked once.

``check_agent`` passes for every shipped agent (``tests/test_equivalence.py`` runs it over the
registry); here it must fail, naming the reason, for deliberately broken agents, and
``check_env`` for an env whose ``step()`` disagrees with its ``P`` table.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import dynaplan  # noqa: F401  (registers the envs)
from dynaplan.agents import AGENTS, QLearning
from dynaplan.core.params import ParamError
from dynaplan.testing import ContractError, check_agent, check_env


class GreedyInPython(QLearning):
    """Broken: its object API draws its exploratory actions from a Python generator of its own,
    its compiled kernel from the agent's stream (both end their episodes: a random walk does)."""

    name = "test-broken-greedy"

    def _act(self, obs: int) -> int:
        if not hasattr(self, "_py_rng"):
            self._py_rng = np.random.default_rng(12345)
        return int(self._py_rng.integers(self.n_actions))


class NeverEnds(QLearning):
    """Broken: always moves the same way (into a wall of the maze), so no episode ends."""

    name = "test-broken-never-ends"

    def _act(self, obs: int) -> int:
        return 0


def test_check_agent_names_an_episode_that_never_ends(monkeypatch: pytest.MonkeyPatch) -> None:
    import dynaplan.testing

    monkeypatch.setattr(dynaplan.testing, "MAX_EPISODE_STEPS", 500)
    with pytest.raises(ContractError, match=r"test-broken-never-ends: an episode of the object API did not end"):
        check_agent(NeverEnds, seeds=(0,), episodes=1)


class TrustsActions(QLearning):
    """Broken: accepts any action (the kernel then indexes outside its row)."""

    name = "test-broken-actions"

    def check_action(self, action: Any, name: str = "action") -> int:
        return int(action)


def test_check_agent_names_an_object_api_that_differs_from_the_compiled_runner() -> None:
    with pytest.raises(ContractError, match=r"test-broken-greedy: object API vs compiled runner .* differ"):
        check_agent(GreedyInPython)


def test_check_agent_names_an_out_of_range_action_accepted() -> None:
    with pytest.raises(ContractError, match=r"test-broken-actions: observe\(action=4\) on 4 actions was accepted"):
        check_agent(TrustsActions)


def test_check_agent_passes_a_users_agent_built_right() -> None:
    class Mine(QLearning):
        name = "test-contract-mine"

    check_agent(Mine, seeds=(3,), episodes=2)


class SkewedFrozenLake(gym.Wrapper):  # type: ignore[type-arg]
    """FrozenLake whose ``step()`` always slides right: its ``P`` (the unwrapped env's) says otherwise."""

    def step(self, action: Any) -> Any:
        return self.env.step(2)


def test_check_env_fails_when_step_disagrees_with_P() -> None:
    check_env("FrozenLake-v1", seeds=(0,), steps=100)  # the real one passes
    env = SkewedFrozenLake(gym.make("FrozenLake-v1", is_slippery=False))
    with pytest.raises(ContractError, match=r"step\(\) from state \d+ with action \d+ gave .*"):
        check_env(env, seeds=(0,), steps=100)


FUZZ_AGENTS = sorted(AGENTS)
values = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70), st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(), st.none(), st.text(max_size=3), st.just(np.int64(1)), st.just(np.bool_(True)),
    st.lists(st.floats(min_value=-2, max_value=2), max_size=3),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(FUZZ_AGENTS), call=st.sampled_from(["act", "observe", "plan"]),
       args=st.lists(values, min_size=6, max_size=6))
def test_object_api_fuzz(name: str, call: str, args: list[Any]) -> None:
    """Whatever the arguments, every registered agent returns or raises one ValueError line (a
    ParamError is one); never a crash, never another exception."""
    cls = AGENTS[name]
    agent = cls(gym.make(cls.example_env), seed=0, **cls.example_params)
    try:
        if call == "act":
            out = agent.act(args[0])
            space = getattr(agent, "action_space", None)
            if isinstance(space, gym.spaces.Box):  # continuous actions (sac, mbpo): a point of the box
                assert space.contains(out), out
            else:
                assert 0 <= out < agent.n_actions
        elif call == "observe":
            agent.observe(*args)
        elif hasattr(agent, "plan"):
            n = args[0]
            if isinstance(n, int) and 50 < n < 2**63:  # a valid budget, made small enough to run
                n = 50
            agent.plan(n)
    except ValueError as exc:  # ParamError too
        assert "\n" not in str(exc) and str(exc)
    for field in getattr(agent.state, "_fields", ()):
        value = getattr(agent.state, field)
        if isinstance(value, np.ndarray) and value.dtype.kind == "f" and field in ("q", "w", "theta"):
            assert not np.isnan(value).any(), field  # a NaN reward never got into the values


def test_budgets_are_refused_at_construction() -> None:
    env = gym.make("dynaplan/DynaMaze-v0")
    with pytest.raises(ParamError, match=r"^planning_steps must be at most 9223372036854775807"):
        AGENTS["dyna-q"](env, planning_steps=2**70)
    with pytest.raises(ValueError, match=r"^n_updates must be an integer"):
        AGENTS["linear-dyna"](env, seed=0).plan(-5)
    with pytest.raises(ValueError, match=r"^n_updates must be an integer"):
        AGENTS["linear-ps"](env, seed=0).plan(2**63)


def test_parameters_are_checked_once_per_cell(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    """2 cells x 20 runs, batches of 5 seeds: check_params runs once per cell (validation and
    planning share it; the workers get the checked parameters with the task), whatever the workers
    (counted in a file: forked workers count too)."""
    import json

    from dynaplan.agents import DynaQ
    from dynaplan.experiments.kinds import _CHECKED
    from dynaplan.experiments.runner import run_spec
    from dynaplan.experiments.spec import Spec, validate_spec

    log = tmp_path / "calls.jsonl"
    original = DynaQ.check_params.__func__  # type: ignore[attr-defined]

    def counted(cls: type, params: Any) -> dict[str, Any]:
        with open(log, "a") as f:
            f.write(json.dumps(dict(params)) + "\n")
        return original(cls, params)  # type: ignore[no-any-return]

    monkeypatch.setattr(DynaQ, "check_params", classmethod(counted))
    for workers in (1, 2):
        _CHECKED.clear()
        log.write_text("")
        spec = Spec(name="count", kind="episodes", seeds=20, batch=5, source="test",
                    params={"env": "dynaplan/DynaMaze-v0", "agent": "dyna-q", "episodes": 2,
                            "alpha": 0.1 * workers}, grid={"planning_steps": [0, 5]})
        table = run_spec(validate_spec(spec), None, workers=workers).table
        assert table.seed.nunique() == 20 and len(table) == 2 * 20 * 2
        calls = [json.loads(line) for line in log.read_text().splitlines()]
        assert sorted(c["planning_steps"] for c in calls) == [0, 5], (workers, calls)


def test_a_linear_agent_on_a_box_env_meets_the_contract() -> None:
    """Sarsa on Mountain Car with its default tile coder: observations of the wrong shape, NaN
    observations refused; object API == compiled runner (the Figure 10.2 setting's features)."""
    from dynaplan.agents import Sarsa

    check_agent(Sarsa, env_id="MountainCar-v0", params={"alpha": 0.5 / 8, "epsilon": 0.0}, seeds=(4,), episodes=1)
    agent = Sarsa(gym.make("MountainCar-v0"), seed=0)
    for bad, match in (([0.1], r"^obs must have shape \(2,\)"), ([np.nan, 0.0], r"^obs must be finite"),
                       ("x", r"^obs must be an array of numbers")):
        with pytest.raises(ValueError, match=match):
            agent.act(bad)


def test_run_sarsa_on_mountain_car_from_the_cli(tmp_path: Any) -> None:
    """The README's agents table names sarsa a CLI agent: ``dynaplan run --agent sarsa`` runs it."""
    import pandas as pd

    from dynaplan.cli import main

    out = tmp_path / "out"
    assert main(["run", "--agent", "sarsa", "--env", "MountainCar-v0", "--runs", "2", "--episodes", "2",
                 "--out", str(out), "--workers", "1"]) == 0
    table = pd.read_parquet(out / "results.parquet")
    assert sorted(table.groupby("seed").episode.max()) == [2, 2]
    assert table.steps.between(1, 200).all()  # MountainCar-v0's TimeLimit is 200 steps
    assert (table["return"] == -table.steps).all()  # -1 per step, as Gymnasium's MountainCar
