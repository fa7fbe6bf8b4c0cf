"""Experiment specs: parsing, expansion, overrides, and one-line errors for bad specs (hypothesis)."""

from __future__ import annotations

import copy
import itertools
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dynaplan.cli import main
from dynaplan.experiments.spec import (
    Spec,
    SpecError,
    dump_toml,
    load_spec,
    parse_set,
    parse_spec,
    shipped_specs,
    spec_from_dict,
    validate_spec,
)

BASE: dict[str, Any] = {
    "name": "sweep",
    "kind": "episodes",
    "seeds": 3,
    "root_seed": 7,
    "params": {"env": "dynaplan/DynaMaze-v0", "episodes": 2, "epsilon": 0.1},
    "grid": {"alpha": [0.1, 0.5], "planning_steps": [0, 5, 10]},
    "cells": [{"agent": "dyna-q"}, {"agent": "q-planning"}],
}


def test_shipped_dyna_maze_spec_is_the_book_setting() -> None:
    spec = load_spec(shipped_specs()["dyna-maze"])
    cells = spec.expand()
    assert [c["planning_steps"] for c in cells] == [0, 5, 50]
    for c in cells:  # Example 8.1: alpha 0.1, epsilon 0.1, gamma 0.95, 50 episodes, 30 runs
        assert (c["alpha"], c["epsilon"], c["gamma"], c["episodes"]) == (0.1, 0.1, 0.95, 50)
        assert c["agent"] == "dyna-q" and c["env"] == "dynaplan/DynaMaze-v0"
    assert spec.seeds == 30


def test_expansion_is_cells_times_grid_in_order() -> None:
    spec = spec_from_dict(BASE)
    cells = spec.expand()
    expected = [
        {**BASE["params"], "agent": a, "alpha": al, "planning_steps": n}
        for a, al, n in itertools.product(["dyna-q", "q-planning"], [0.1, 0.5], [0, 5, 10])
    ]
    assert cells == expected
    assert spec.varying_keys() == ["agent", "alpha", "planning_steps"]


def test_toml_round_trip_and_hash() -> None:
    spec = spec_from_dict(BASE, source="x.toml")
    again = parse_spec(spec.to_toml(), source="y.toml")
    assert again.to_dict() == spec.to_dict()
    assert again.config_hash() == spec.config_hash()
    assert spec.with_overrides({"seeds": 4}).config_hash() != spec.config_hash()
    # the name, title and batch size do not change results, so not the hash either
    assert spec.with_overrides({"batch": 2, "title": "t"}).config_hash() == spec.config_hash()


def test_run_seeds_are_seed_sequence_children() -> None:
    import numpy as np

    spec = spec_from_dict(BASE)
    expected = [int(np.random.SeedSequence(7, spawn_key=(i,)).generate_state(1)[0]) for i in range(3)]
    assert spec.run_seeds() == expected


def test_overrides_move_keys_between_params_and_grid() -> None:
    spec = spec_from_dict(BASE)
    s = spec.with_overrides({"epsilon": [0.0, 0.2], "alpha": 0.3, "seeds": 5, "agent": "dyna-q"})
    assert s.grid["epsilon"] == [0.0, 0.2] and "epsilon" not in s.params
    assert s.params["alpha"] == 0.3 and "alpha" not in s.grid
    assert s.seeds == 5 and all(c["agent"] == "dyna-q" for c in s.cells)
    with pytest.raises(SpecError, match="alhpa: unknown key"):
        spec.with_overrides({"alhpa": 0.2})


@pytest.mark.parametrize(
    ("text", "value"),
    [("a=0.5", 0.5), ("a=3", 3), ("a=[0, 5]", [0, 5]), ("a=0,5,50", [0, 5, 50]), ("a=dyna-q", "dyna-q"),
     ("a=true", True), ('a="x y"', "x y")],
)
def test_parse_set(text: str, value: Any) -> None:
    assert parse_set(text) == ("a", value)


def test_validation_names_file_and_key() -> None:
    bad = copy.deepcopy(BASE)
    bad["grid"]["alpha"] = [0.1, 1.5]
    with pytest.raises(SpecError) as info:
        validate_spec(spec_from_dict(bad, source="exp.toml"))
    assert str(info.value) == "exp.toml: grid.alpha: alpha must be in (0, 1], got 1.5"


def test_errors_are_placed_by_their_key_never_by_their_message() -> None:
    """A kind's ``ParamError`` is placed where its key is set, whatever its message says; a plain
    ``ValueError`` is placed at the cell, even when its message starts with a key of the cell."""
    from dynaplan.agents.base import ParamError
    from dynaplan.experiments.kinds import KINDS, register_kind

    def keyed(cell: Any) -> None:
        if cell["scale"] > 1:
            raise ParamError("scale", "too large for this kind (at most 1)")

    def plain(cell: Any) -> None:
        if cell["scale"] > 1:
            raise ValueError("scale must be at most 1")

    def run(cell: Any, seeds: Any) -> Any:
        raise AssertionError("not run")

    text = 'name = "k"\nkind = "KIND"\nseeds = 1\n[grid]\nscale = [1, 2]\n'
    try:
        for kind, check in (("test-keyed", keyed), ("test-plain", plain)):
            register_kind(kind, check=check)(run)
        with pytest.raises(SpecError) as info:
            parse_spec(text.replace("KIND", "test-keyed"), source="k.toml")
        assert str(info.value) == "k.toml:5: grid.scale: too large for this kind (at most 1)"
        with pytest.raises(SpecError) as info:
            parse_spec(text.replace("KIND", "test-plain"), source="k.toml")
        assert str(info.value) == "k.toml: cell 1 (scale=2): scale must be at most 1"
    finally:
        KINDS.pop("test-keyed", None)
        KINDS.pop("test-plain", None)


def test_errors_name_the_line_where_the_key_is_set() -> None:
    """The line of the key in the spec's text: in ``[params]``, in a ``[[cells]]`` entry (the
    entry the bad cell comes from), in ``[grid]``; none for a value an override set."""
    text = (
        'name = "lines"\nkind = "episodes"\nseeds = 1\n\n[params]\nenv = "dynaplan/DynaMaze-v0"\n'
        "episodes = 2\nalpha = 0.5   # a comment\n\n[[cells]]\nagent = \"dyna-q\"\n\n[[cells]]\n"
        'agent = "AGENT"\n\n[grid]\nplanning_steps = [\n  0,\n  STEPS,\n]\n'
    )

    def spec_text(agent: str = "dyna-q-plus", steps: int = 5, alpha: float = 0.5) -> str:
        return text.replace("AGENT", agent).replace("STEPS", str(steps)).replace("0.5", str(alpha))

    with pytest.raises(SpecError, match=r"^l.toml:14: cells\[1\]\.agent: unknown agent 'no-such-agent'"):
        parse_spec(spec_text(agent="no-such-agent"), source="l.toml")
    with pytest.raises(SpecError, match=r"^l.toml:17: grid\.planning_steps: planning_steps must be"):
        parse_spec(spec_text(steps=-5), source="l.toml")
    with pytest.raises(SpecError, match=r"^l.toml:8: params\.alpha: alpha must be in"):
        parse_spec(spec_text(alpha=1.5), source="l.toml")
    spec = parse_spec(spec_text(), source="l.toml")
    another = parse_spec(spec_text(alpha=1.5), source="l.toml", validate=False).with_overrides({"episodes": 3})
    with pytest.raises(SpecError, match=r"^l.toml:8: params\.alpha: alpha must be in"):  # alpha still from line 8
        validate_spec(another)
    with pytest.raises(SpecError, match=r"^l.toml: params\.alpha: alpha must be in"):  # set by --set: no line
        validate_spec(spec.with_overrides({"alpha": 1.5}))


# -- hypothesis: every bad spec is one line and exit status 2 ---------------------------------
def _set(path: tuple[Any, ...], value: Any) -> Any:
    def f(d: dict[str, Any]) -> dict[str, Any]:
        d = copy.deepcopy(d)
        target = d
        for p in path[:-1]:
            target = target[p]
        target[path[-1]] = value
        return d

    return f


def _drop(key: str) -> Any:
    def f(d: dict[str, Any]) -> dict[str, Any]:
        d = copy.deepcopy(d)
        del d[key]
        return d

    return f


junk = st.one_of(st.text(max_size=5), st.floats(allow_nan=False, allow_infinity=False), st.booleans(),
                 st.lists(st.integers(), max_size=2), st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))
mutations = st.one_of(
    st.text(min_size=1, max_size=8).filter(lambda k: k not in BASE and k.isidentifier()).map(lambda k: _set((k,), 1)),
    st.one_of(st.integers(max_value=0), st.text(max_size=4), st.floats(allow_nan=False, allow_infinity=False),
              st.booleans()).map(lambda v: _set(("seeds",), v)),
    st.integers(max_value=-1).map(lambda v: _set(("root_seed",), v)),
    st.text(max_size=10).filter(lambda k: k != "episodes").map(lambda v: _set(("kind",), v)),
    st.text(max_size=10).filter(lambda k: k not in ("dyna-q", "q-planning", "q-learning")).map(
        lambda v: _set(("cells", 0, "agent"), v)),
    st.text(max_size=10).map(lambda v: _set(("params", "env"), v)),
    st.one_of(st.floats(min_value=1.0001, allow_infinity=False), st.floats(max_value=0.0, allow_infinity=False),
              st.text(max_size=3)).map(lambda v: _set(("grid", "alpha"), [0.1, v])),
    st.integers(max_value=-1).map(lambda v: _set(("grid", "planning_steps"), [v])),
    st.integers(max_value=0).map(lambda v: _set(("params", "episodes"), v)),
    st.one_of(st.integers(), st.text(max_size=3), st.just([])).map(lambda v: _set(("grid", "alpha"), v)),
    junk.map(lambda v: _set(("params",), v) if not isinstance(v, dict) else _set(("params", "zzz"), v)),
    st.sampled_from(["name", "kind", "seeds"]).map(_drop),
    st.text(max_size=6).filter(lambda k: k.isidentifier() and k not in ("alpha", "epsilon", "gamma", "q_init")).map(
        lambda k: _set(("params", k), 1)),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(mutate=mutations)
def test_bad_specs_are_one_line_and_exit_2(mutate: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(dump_toml(mutate(BASE)))
    capsys.readouterr()
    rc = main(["run", str(path), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert rc == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert str(path) in lines[0] and "Traceback" not in err
    assert not (tmp_path / "out").exists()  # nothing ran


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=40))
def test_garbage_toml_is_one_line(text: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "junk.toml"
    path.write_text(text)
    capsys.readouterr()
    rc = main(["run", str(path), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert rc == 2 and len(err.strip().splitlines()) == 1 and str(path) in err


def test_spec_dataclass_is_validated_like_a_file() -> None:
    spec = Spec(name="x", kind="episodes", seeds=2, params={"env": "dynaplan/DynaMaze-v0", "agent": "dyna-q",
                                                         "episodes": 0})
    with pytest.raises(SpecError, match=r"<spec>: params.episodes: episodes must be an integer >= 1, got 0"):
        validate_spec(spec)


def test_episodes_kind_checks_the_env_can_be_run() -> None:
    spec = Spec(name="x", kind="episodes", seeds=1, params={"env": "CartPole-v1", "agent": "dyna-q", "episodes": 1},
                source="c.toml")
    with pytest.raises(SpecError, match=r"^c.toml: params.env: 'CartPole-v1' cannot be run here: .*need a Discrete"):
        validate_spec(spec)
    steps_only = Spec(name="x", kind="episodes", seeds=1, source="s.toml",
                      params={"env": "dynaplan/DynaMaze-v0", "agent": "q-learning", "steps": 500})
    validate_spec(steps_only)
    with pytest.raises(SpecError, match=r"^s.toml: params.steps: steps must be an integer >= 1, got 0"):
        validate_spec(steps_only.with_overrides({"steps": 0}))


@pytest.mark.parametrize("name", sorted(shipped_specs()))
def test_every_shipped_spec_validates_and_round_trips(name: str) -> None:
    from dynaplan.experiments.reproductions import load_all

    spec = load_spec(shipped_specs()[name])  # validated with its kind's check
    assert spec.name == name
    assert any(rep.spec == name for rep in load_all().values()), f"no reproduction runs {name}.toml"
    assert parse_spec(spec.to_toml()).config_hash() == spec.config_hash()


def test_user_kind_through_module_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from dynaplan.experiments.runner import run_spec
    from dynaplan.rng import run_seeds

    text = 'name = "u"\nkind = "test-square"\nmodule = "test_runner_helpers"\nseeds = 3\n[grid]\nscale = [1, 2]\n'
    table = run_spec(parse_spec(text, source="u.toml"), None, workers=1).table
    seeds = [float(s) for s in run_seeds(0, 3)]
    assert table.value.tolist() == [s**2 for s in seeds] + [2 * s**2 for s in seeds]
    assert table.scale.tolist() == [1, 1, 1, 2, 2, 2]
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace("test_runner_helpers", "no_such_module_here"))
    assert main(["run", str(bad), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and f"{bad}: module: cannot import 'no_such_module_here'" in err
