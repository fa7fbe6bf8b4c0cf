"""Inputs at the edges of the command line: one line and exit status 2 each (never a traceback,
an ``OverflowError``, a ``RecursionError``, a ``MemoryError`` or minutes of silence), options
named as the user gave them, and nothing ignored quietly."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from dynaplan.cli import main


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    rc = main(list(args))
    out, err = capsys.readouterr()
    return rc, out, err


def refused(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    """The one error line of a command that must be refused with exit status 2."""
    rc, _, err = cli(capsys, *args)
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert rc == 2 and len(lines) == 1 and "Traceback" not in err, (rc, err)
    return lines[0]


def square_maze(path: Path, side: int) -> Path:
    rows = ["." * side for _ in range(side)]
    rows[0] = "S" + rows[0][1:]
    rows[-1] = rows[-1][:-1] + "G"
    path.write_text("\n".join(rows) + "\n")
    return path


def test_deeply_nested_toml_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "deep.toml"
    spec.write_text('name = "deep"\nkind = "episodes"\n[params]\nx = ' + "[" * 3000 + "]" * 3000 + "\n")
    assert "nested more than 32 deep" in refused(capsys, "run", str(spec), "--out", str(tmp_path / "o"))
    line = refused(capsys, "run", "--agent", "dyna-q", "--env", "dynaplan/DynaMaze-v0", "--episodes", "1",
                   "--set", "alpha=" + "[" * 3000 + "]" * 3000, "--out", str(tmp_path / "o"))
    assert "--set alpha" in line and "nested" in line


@pytest.mark.parametrize(("args", "fragment"), [
    (["explore", "--port", "-1"], "--port"),
    (["explore", "--port", "70000"], "--port"),
    (["explore", "--host", "999.1.1.1"], "--host"),
    (["show", "--fps", "1e-300"], "--fps"),
    (["show", "--fps", "1e300"], "--fps"),
    (["show", "--planning-steps", "1,,2"], "--planning-steps"),
    (["show", "--set", "planning_steps=[1, 2]"], "--set planning_steps: show runs one agent"),
    (["show", "--set", "alpha=0.1,,0.2"], "--set alpha"),
    (["run", "--agent", "dyna-q", "--env", "dynaplan/DynaMaze-v0", "--episodes", "1", "--planning-steps", "1,,2",
      "--out", "never"], "--planning-steps"),
    (["run", "--agent", "dyna-q", "--env", "dynaplan/DynaMaze-v0", "--episodes", "1", "--workers", "2",
      "--backend", "ray", "--out", "never"], "workers is for the local backend"),
])
def test_bad_options_name_themselves(capsys: pytest.CaptureFixture[str], args: list[str], fragment: str) -> None:
    assert fragment in refused(capsys, *args)
    assert not Path("never").exists()


def test_maze_sizes_are_checked_at_entry(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    big = square_maze(tmp_path / "big.txt", 300)
    for command in (["show", "--maze", str(big)], ["explore", "--maze", str(big)]):
        assert "at most 50 x 50 cells can be shown, got 300 x 300" in refused(capsys, *command)
    huge = square_maze(tmp_path / "huge.txt", 5000)
    t0 = time.perf_counter()
    line = refused(capsys, "run", "--agent", "dyna-q", "--maze", str(huge), "--episodes", "1", "--out",
                   str(tmp_path / "o"))
    assert "at most 1,000,000 cells" in line and time.perf_counter() - t0 < 5


def test_scaled_maze_too_large_says_why() -> None:
    import gymnasium as gym

    from dynaplan.envs.layouts import LayoutError

    with pytest.raises(LayoutError, match=r"600,000 x 900,000 cells; a maze has at most 1,000,000"):
        gym.make("dynaplan/ScaledDynaMaze-v0", scale=100000)


def test_help_shows_flags_without_a_type(capsys: pytest.CaptureFixture[str]) -> None:
    for command in ([], ["run"], ["reproduce"], ["plot"]):
        rc, out, _ = cli(capsys, *command, "--help")
        assert rc == 0 and "--help" in out and "<bool>" not in out


def test_resume_of_a_finished_store_says_it_is_complete(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["run", "--agent", "q-learning", "--env", "dynaplan/DynaMaze-v0", "--episodes", "2", "--runs", "2",
            "--workers", "1", "--out", str(tmp_path / "o")]
    assert cli(capsys, *args)[0] == 0
    rc, out, _ = cli(capsys, *args, "--resume")
    assert rc == 0 and "q-learning is complete: all 2 runs were already done" in out and "0 runs in" not in out


def test_allocations_sized_by_the_user_are_estimated_first(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import gymnasium as gym

    from dynaplan import MCTS
    from dynaplan.agents.base import ParamError
    from dynaplan.features.tiles import TileCoder

    env = gym.make("dynaplan/DynaMaze-v0")
    with pytest.raises(ParamError, match=r"simulations: a search tree of 10,000,000,000,001 nodes would take 2.1 PB"):
        MCTS(env, simulations=10**12)
    with pytest.raises(ParamError, match=r"depth: a search table of .* rows would take"):
        MCTS(env, key="horizon", depth=10**9)
    with pytest.raises(ValueError, match=r"size: a hash table of 1,000,000,000,000,000 features would take"):
        TileCoder([0.0, 0.0], [1.0, 1.0], size=10**15)
    line = refused(capsys, "run", "--agent", "mcts", "--set", "max_nodes=1000000000000", "--env",
                   "dynaplan/DynaMaze-v0", "--episodes", "1", "--out", str(tmp_path / "o"))
    assert "max_nodes: a search tree of 1,000,000,000,000 nodes would take" in line
    assert not (tmp_path / "o").exists()
    line = refused(capsys, "run", "--agent", "mcts", "--set", "simulations=1000000000000", "--env",
                   "dynaplan/DynaMaze-v0", "--episodes", "1", "--out", str(tmp_path / "o"))
    assert "simulations: one real step would take" in line  # the time is refused first, then the memory


@pytest.mark.parametrize(("sets", "key", "when"), [
    (["--agent", "lookahead", "--set", "depth=30"], "depth", "years"),
    (["--agent", "dyna-q", "--planning-steps", "1000000000000"], "planning_steps", "hours"),
    (["--agent", "rollout", "--set", "simulations=10000000000"], "simulations", "hours"),
])
def test_a_step_ctrl_c_could_not_stop_is_refused_up_front(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                          sets: list[str], key: str, when: str) -> None:
    """One compiled real step cannot be interrupted: a budget of more than 1e8 model steps per
    real step (seconds of work) is refused before anything runs, with the estimated time."""
    for command in (["run", *sets, "--env", "dynaplan/DynaMaze-v0", "--episodes", "1", "--out", str(tmp_path / "o")],
                    ["show", *sets, "--steps", "10"]):
        t0 = time.perf_counter()
        line = refused(capsys, *command)
        assert f"{key}: one real step would take about" in line and when in line and "Ctrl-C" in line
        assert time.perf_counter() - t0 < 10 and not (tmp_path / "o").exists()
