"""End-to-end fuzzing of the command line (hypothesis, in-process): whatever the option values
and spec documents, `dynaplan` exits with status 0 or 2 and never prints a traceback."""

from __future__ import annotations

import copy
import itertools
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dynaplan.cli import main
from dynaplan.experiments.spec import dump_toml

BASE: dict[str, Any] = {
    "name": "fuzz",
    "kind": "episodes",
    "seeds": 2,
    "params": {"env": "dynaplan/DynaMaze-v0", "agent": "dyna-q", "episodes": 2},
    "grid": {"planning_steps": [0, 5]},
}

numbers = st.sampled_from(["1", "2", "0", "-1", "abc", "1e3", "2.5", "99999999999999999999", "9223372036854775807", ""])
values = st.sampled_from(["0.5", "2", "0", "[1, 2]", "[0.1, 0.5]", "'x'", "{a = 1}", "[5, 50", "true", "", "1,2",
                          "dyna-q-plus", "q-learning", "\"0.1'\"", "1e400", "{is_slippery = false}", "-3",
                          "1000000000000", "0.1,,0.2", "[" * 40 + "1" + "]" * 40])
set_keys = st.sampled_from(["alpha", "planning_steps", "episodes", "seeds", "agent", "nope", "env", "env_kwargs",
                            "title", "root_seed", "batch", "kappa", "grid.planning_steps", "params.alpha", ""])
options = st.lists(
    st.one_of(
        st.tuples(st.sampled_from(["--runs", "--episodes", "--seed", "--workers", "--max-retries"]), numbers),
        st.tuples(st.just("--planning-steps"), st.sampled_from(["0", "0,5", "x", "-1", "5,", "1,,2", "",
                                                                "99999999999999999999", "1000000000000"])),
        st.tuples(st.just("--set"), st.builds(lambda k, v: f"{k}={v}", set_keys, values)),
        st.tuples(st.just("--set"), st.sampled_from(["novalue", "=3", "a==b"])),
        st.tuples(st.sampled_from(["--resume", "--overwrite", "--bogus"])),
        st.tuples(st.just("--backend"), st.sampled_from(["local", "nope"])),
    ),
    max_size=4,
).map(lambda parts: list(itertools.chain.from_iterable(parts)))

spec_values = st.one_of(st.integers(-2, 3), st.sampled_from([10**12, 10**20, 0.5, 1.5, "x", True, [], [0, 5], {}]),
                        st.text(max_size=4))
spec_paths = st.sampled_from([("seeds",), ("root_seed",), ("batch",), ("name",), ("kind",), ("title",),
                              ("params", "episodes"), ("params", "agent"), ("params", "alpha"), ("params", "env"),
                              ("params", "is_slippery"), ("params", "steps"), ("grid", "planning_steps"),
                              ("grid", "alpha"), ("columns",), ("module",), ("cells",)])


def _mutate(edits: list[tuple[tuple[str, ...], Any]]) -> dict[str, Any]:
    doc = copy.deepcopy(BASE)
    for path, value in edits:
        target = doc
        for p in path[:-1]:
            if not isinstance(target.get(p), dict):
                target[p] = {}
            target = target[p]
        target[path[-1]] = value
    return doc


specs = st.lists(st.tuples(spec_paths, spec_values), max_size=2).map(_mutate)
commands = st.sampled_from(["run-spec", "run-cell", "run-resume", "reproduce", "summarize", "plot", "show"])


def _argv(command: str, spec: Path, out: Path, opts: list[str], fps: str = "10") -> list[str]:
    if command == "run-spec":
        return ["run", str(spec), "--out", str(out), *opts]
    if command == "run-cell":
        return ["run", "--agent", "dyna-q", "--env", "dynaplan/DynaMaze-v0", "--episodes", "2", "--runs", "2",
                "--out", str(out), *opts]
    if command == "run-resume":
        return ["run", "--resume", "--out", str(out), *opts]
    if command == "reproduce":
        return ["reproduce", "dyna-maze", "--runs", "2", "--episodes", "2", "--out", str(out), *opts]
    if command == "show":
        return ["show", "--steps", "30", "--fps", fps, *[o for o in opts if not o.startswith("--runs")]]
    return [command, str(out), *opts]


@settings(max_examples=45, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(command=commands, doc=specs, opts=options, fresh=st.booleans(),
       fps=st.sampled_from(["10", "0", "1e-300", "1e300", "nan", "0.01"]))
def test_cli_exits_0_or_2_without_a_traceback(command: str, doc: dict[str, Any], opts: list[str], fresh: bool,
                                              fps: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "fuzz.toml"
    try:
        spec.write_text(dump_toml(doc))
    except TypeError:  # a value TOML cannot hold: write it as text, the CLI must refuse it
        spec.write_text(repr(doc))
    out = tmp_path / ("fresh" if fresh else "shared")  # a shared store sees earlier examples' runs
    if fresh and out.exists():
        import shutil

        shutil.rmtree(out)
    notes = out / "notes.txt"
    if (out / "manifest.json").exists() and not notes.exists():  # the user's own file in a store
        notes.write_text("mine\n")
    had_notes = notes.exists()
    capsys.readouterr()
    rc = main(_argv(command, spec, out, opts, fps))
    err = capsys.readouterr().err
    assert rc in (0, 2), err
    assert "Traceback" not in err
    if had_notes:  # nothing the user wrote is ever deleted, --overwrite or not
        assert notes.read_text() == "mine\n"
    if rc == 2:
        assert err.strip().splitlines()[-1].startswith("error: "), err
