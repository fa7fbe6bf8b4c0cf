"""``ParamError``: a bad parameter carries its key, survives a process boundary, is a ValueError."""

import pickle
from pathlib import Path
from typing import Any

import pytest

from dynaplan.agents import AGENTS
from dynaplan.agents.base import ParamError


@pytest.mark.parametrize(
    ("agent", "params", "key"),
    [
        ("dyna-q", {"alpha": 2.0}, "alpha"),
        ("dyna-q", {"epsilon": -0.1}, "epsilon"),
        ("dyna-q", {"planning_steps": -1}, "planning_steps"),
        ("prioritized-sweeping", {"theta": 0.0}, "theta"),
        ("prioritized-sweeping", {"model": "exact"}, "model"),
        ("prioritized-sweeping", {"max_outcomes": 0}, "max_outcomes"),
    ],
)
def test_checks_raise_the_key(agent, params, key):
    with pytest.raises(ParamError) as info:
        AGENTS[agent].check_params(params)
    assert info.value.key == key
    assert isinstance(info.value, ValueError)
    assert str(info.value).startswith(key)


def test_param_error_pickles_with_its_key():
    err = pickle.loads(pickle.dumps(ParamError("alpha", "alpha must be in (0, 1], got 2")))
    assert isinstance(err, ParamError)
    assert (err.key, str(err)) == ("alpha", "alpha must be in (0, 1], got 2")


# -- every registered agent: a bad value of each of its keys names that key ---------------------
BAD_VALUES = ("not-a-value", -1, 2.5, 0, True, None, [1])
"""Candidates for a bad value: each key must refuse at least one (a string where a number or a
flag is expected, a negative count, a probability above 1, a zero budget, a bool for a number)."""


def _registered() -> list[tuple[str, type]]:
    return sorted(AGENTS.items())


def _example(cls: type) -> dict[str, Any]:
    return dict(getattr(cls, "example_params", {}))  # linear agents declare none


def _refused(cls: type, key: str) -> list[tuple[Any, ParamError]]:
    """The bad values of ``key`` that ``cls.check_params`` refuses (with the rest of its example
    parameters as declared), each with its error; any other exception fails the test."""
    refused = []
    for bad in BAD_VALUES:
        try:
            cls.check_params({**_example(cls), key: bad})
        except ParamError as exc:
            refused.append((bad, exc))
        except Exception as exc:  # a ValueError without a key, or a crash
            pytest.fail(f"{cls.__name__}: {key}={bad!r} raised {type(exc).__name__} without a key: {exc}")
    return refused


@pytest.mark.parametrize(("name", "cls"), _registered(), ids=[n for n, _ in _registered()])
def test_every_key_of_every_agent_is_checked_by_name(name: str, cls: type) -> None:
    keys = list(cls.check_params(_example(cls)))
    assert keys
    for key in keys:
        refused = _refused(cls, key)
        assert refused, f"{name}: no bad value of {key} is refused (tried {BAD_VALUES})"
        for bad, exc in refused:
            assert exc.key == key, f"{name}: {key}={bad!r} blamed {exc.key!r}: {exc}"
            assert isinstance(exc, ValueError)
    with pytest.raises(ParamError) as info:
        cls.check_params({**_example(cls), "no_such_key": 1})
    assert info.value.key == "no_such_key"


@pytest.mark.parametrize("name", sorted(AGENTS))
def test_a_spec_error_names_the_file_the_line_and_the_key(name: str, tmp_path: Path) -> None:
    """Through a spec file: the one-line error names the file, the line and ``params.KEY`` for every
    checked key of the agent, from the error's ``key`` (the message is not read for it)."""
    from dynaplan.experiments.kinds import agent_params
    from dynaplan.experiments.spec import SpecError, load_spec
    from dynaplan.experiments.spec.writer import toml_value

    cls = AGENTS[name]
    path = tmp_path / f"{name}.toml"
    base = {"env": cls.example_env, "agent": name, "episodes": 1, **cls.example_params}
    for key in agent_params({**cls.defaults(), **cls.example_params}):
        bad = next(v for v, _ in _refused(cls, key) if v is not None)
        params = {**base, key: bad}
        lines = [f"{k} = {toml_value(v)}" for k, v in params.items()]
        path.write_text('name = "bad"\nkind = "episodes"\nseeds = 1\n[params]\n' + "\n".join(lines) + "\n")
        line = 5 + list(params).index(key)  # the four lines above [params]'s keys, then its keys in order
        with pytest.raises(SpecError) as info:
            load_spec(path)
        assert str(info.value).startswith(f"{path}:{line}: params.{key}: "), (key, bad, str(info.value))
