"""A user's module (``--module mine``, a spec's ``module = "mine"``) is found from the current
directory by every command, and its agents appear in ``agents``, ``show``, ``explore`` and ``run``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from dynaplan.agents import AGENTS
from dynaplan.cli import main

MODULE = '''
from dynaplan.agents import QLearning, register_agent


@register_agent
class {cls}(QLearning):
    """A user's Q-learning."""

    name = "{name}"
'''


@pytest.fixture
def user_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> Any:
    """A module ``NAME.py`` in a fresh current directory (not on sys.path) registering agent ``NAME``."""
    monkeypatch.chdir(tmp_path)
    made: list[str] = []

    def make(name: str) -> str:
        module = name.replace("-", "_")
        (tmp_path / f"{module}.py").write_text(MODULE.format(cls=module.title().replace("_", ""), name=name))
        made.append(name)
        return module

    yield make
    for name in made:
        AGENTS.pop(name, None)
        sys.modules.pop(name.replace("-", "_"), None)
    if str(tmp_path) in sys.path:
        sys.path.remove(str(tmp_path))


def test_agents_lists_a_module_agent(user_module: Any, capsys: pytest.CaptureFixture[str]) -> None:
    module = user_module("mine-a")
    assert main(["agents", "--module", module]) == 0
    assert "mine-a (MineA, tabular): alpha=0.1" in capsys.readouterr().out


def test_a_missing_module_is_one_line(user_module: Any, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["agents", "--module", "no_such_module_here"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "--module: cannot import 'no_such_module_here'" in err


def test_show_runs_a_module_agent(user_module: Any, capsys: pytest.CaptureFixture[str]) -> None:
    module = user_module("mine-s")
    assert main(["show", "--module", module, "--agent", "mine-s", "--steps", "30"]) == 0
    assert "mine-s after 30 steps" in capsys.readouterr().out


def test_explore_offers_a_module_agent(user_module: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import dynaplan.explore.server as server
    from dynaplan.explore.session import agent_catalog

    seen: dict[str, Any] = {}
    monkeypatch.setattr(server, "serve", lambda maze, **kw: seen.update(kw, catalog=agent_catalog()))
    module = user_module("mine-e")
    assert main(["explore", "--module", module, "--agent", "mine-e"]) == 0
    assert seen["agent"] == "mine-e" and "mine-e" in seen["catalog"]


def test_a_spec_module_resolves_from_the_current_directory(user_module: Any, tmp_path: Path) -> None:
    import pandas as pd

    module = user_module("mine-r")
    spec = tmp_path / "mine.toml"
    spec.write_text(f'name = "mine"\nkind = "episodes"\nseeds = 2\nmodule = "{module}"\n[params]\n'
                    'env = "dynaplan/DynaMaze-v0"\nagent = "mine-r"\nepisodes = 2\n')
    assert main(["run", str(spec), "--out", str(tmp_path / "out"), "--workers", "1"]) == 0
    assert set(pd.read_parquet(tmp_path / "out" / "results.parquet").agent) == {"mine-r"}


def test_reproduce_imports_the_module(user_module: Any, capsys: pytest.CaptureFixture[str]) -> None:
    module = user_module("mine-p")
    assert main(["reproduce", "--list", "--module", module]) == 0
    assert module in sys.modules and "mine-p" in AGENTS and "dyna-maze" in capsys.readouterr().out
