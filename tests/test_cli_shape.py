"""The shape of the command line and of the spec package: one definition per option, agents'
options and defaults from the agent classes, errors placed by the key they carry."""

from __future__ import annotations

import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from dynaplan import cli
from dynaplan.cli import main


def test_fail_never_returns() -> None:
    assert typing.get_type_hints(cli.fail)["return"] is typing.NoReturn
    with pytest.raises(cli.UsageError, match=r"^bad$"):
        cli.fail("bad")


def test_planning_steps_is_one_option_in_every_command() -> None:
    import typer.main

    group = typer.main.get_command(cli.app)
    found = []
    for name in ("reproduce", "run", "show"):
        command = group.commands[name]  # type: ignore[attr-defined]
        params = [p for p in command.params if "--planning-steps" in getattr(p, "opts", ())]
        assert len(params) == 1, name
        p = params[0]
        hint = typing.get_type_hints(getattr(cli, name), include_extras=True)["planning_steps"]
        found.append((p.name, hint, p.help, p.opts))
    assert found[0] == found[1] == found[2]
    assert found[0][0] == "planning_steps"  # the flag, the spec key and the agents' parameter


def test_run_has_one_function_per_mode() -> None:
    import inspect

    source = inspect.getsource(cli)
    assert "legacy" not in source
    for fn in (cli.run_spec_file, cli.one_cell_spec, cli.resumed_spec):
        assert callable(fn)


def test_show_runs_an_agent_with_its_own_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    import dynaplan.plot.animation as animation
    from dynaplan.agents import MCTS, DynaQPlus

    seen: list[Any] = []

    class Stop(Exception):
        pass

    def record(env: Any, learner: Any, steps: int, every: int, seed: int) -> None:
        seen.append(learner)
        raise Stop

    monkeypatch.setattr(animation, "record_run", record)
    with pytest.raises(Stop):
        main(["show", "--agent", "mcts"])
    assert type(seen[-1]) is MCTS and seen[-1].params == MCTS.defaults()
    with pytest.raises(Stop):
        main(["show", "--agent", "dyna-q-plus", "--planning-steps", "7", "--set", "kappa=0.01", "--alpha", "0.5"])
    assert seen[-1].params == {**DynaQPlus.defaults(), "planning_steps": 7, "kappa": 0.01, "alpha": 0.5}


def test_a_registered_agent_appears_in_the_cli_without_editing_it(tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    import pandas as pd

    from dynaplan.agents import AGENTS, QLearning, register_agent
    from dynaplan.agents.tabular import check_td_params

    class CautiousQ(QLearning):
        """Q-learning whose default step size is smaller: the CLI must take it from the class."""

        name = "test-cautious-q"

        @classmethod
        def check_params(cls, params: Mapping[str, Any]) -> dict[str, Any]:
            return check_td_params(params, set(), alpha=0.05)

    register_agent(CautiousQ)
    try:
        capsys.readouterr()
        assert main(["agents"]) == 0
        listing = capsys.readouterr().out
        assert "test-cautious-q (CautiousQ, tabular): alpha=0.05, epsilon=0.1" in listing
        out = tmp_path / "o"
        assert main(["run", "--agent", "test-cautious-q", "--env", "dynaplan/DynaMaze-v0", "--episodes", "2",
                     "--runs", "2", "--out", str(out), "--workers", "1"]) == 0
        assert set(pd.read_parquet(out / "results.parquet").agent) == {"test-cautious-q"}
    finally:
        del AGENTS["test-cautious-q"]


def test_spec_package_is_split_by_job() -> None:
    import dynaplan.experiments.spec as spec
    from dynaplan.experiments.spec import model, overrides, parse, validate, writer

    assert spec.Spec is model.Spec and spec.parse_spec is parse.parse_spec
    assert spec.validate_spec is validate.validate_spec and spec.parse_set is overrides.parse_set
    assert spec.dump_toml is writer.dump_toml


class KeyedError(ValueError):
    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key


def _check_keyed(cell: Mapping[str, Any]) -> None:
    if cell.get("width", 0) > 3:
        raise KeyedError("width", "too wide for the epsilon and the alpha of this test")
    if cell.get("depth", 0) > 3:
        raise ValueError("the depth is wrong, says epsilon")


def test_errors_are_placed_by_the_key_they_carry_not_by_words_of_the_message() -> None:
    from dynaplan.experiments.kinds import register_kind
    from dynaplan.experiments.spec import Spec, SpecError, validate_spec

    register_kind("test-keyed", check=_check_keyed)(lambda cell, seeds: None)  # type: ignore[arg-type, return-value]
    base = Spec(name="k", kind="test-keyed", seeds=1, params={"alpha": 0.1, "epsilon": 0.1},
                grid={"width": [1, 5]}, source="k.toml")
    with pytest.raises(SpecError) as info:
        validate_spec(base)
    assert str(info.value) == "k.toml: grid.width: too wide for the epsilon and the alpha of this test"
    cells = Spec(name="k", kind="test-keyed", seeds=1, params={"epsilon": 0.1}, source="c.toml",
                 cells=({"width": 1}, {"width": 9}))
    with pytest.raises(SpecError, match=r"^c.toml: cells\[1\].width: too wide"):
        validate_spec(cells)
    unkeyed = Spec(name="k", kind="test-keyed", seeds=1, params={"epsilon": 0.1}, grid={"depth": [1, 7]},
                   source="d.toml")
    with pytest.raises(SpecError) as info:
        validate_spec(unkeyed)  # no key carried: placed at the cell, never at "epsilon"
    assert str(info.value) == "d.toml: cell 1 (depth=7): the depth is wrong, says epsilon"


def test_spec_difference_names_the_first_differing_key() -> None:
    from dynaplan.experiments.spec import Spec

    a = Spec(name="a", kind="episodes", seeds=3, params={"alpha": 0.1}, grid={"planning_steps": [0, 5]})
    assert a.difference(a) == "" and a.difference(Spec(**{**a.__dict__, "name": "b", "title": "t"})) == ""
    b = Spec(name="a", kind="episodes", seeds=3, params={"alpha": 0.2}, grid={"planning_steps": [0, 5]})
    assert a.difference(b) == "params.alpha: 0.1 here, 0.2 there"
    c = Spec(name="a", kind="episodes", seeds=3, params={"alpha": 0.1}, grid={"planning_steps": [0, 5, 50]})
    assert a.difference(c) == "grid.planning_steps: [0, 5] here, [0, 5, 50] there"
