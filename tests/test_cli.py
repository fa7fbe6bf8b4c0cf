"""The `dynaplan` command: the main job, `run` on envs and maze files, one-line errors."""

import subprocess
import sys

import pandas as pd
import pytest

from dynaplan.cli import main


def dynaplan(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "dynaplan.cli", *args], capture_output=True, text=True, cwd=cwd, timeout=300
    )


def test_reproduce_dyna_maze_writes_table_figure_and_summary(tmp_path):
    out = tmp_path / "dm"
    proc = dynaplan("reproduce", "dyna-maze", "--runs", "3", "--episodes", "8", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    table = pd.read_parquet(out / "results.parquet")
    assert list(table.columns[:5]) == ["agent", "planning_steps", "seed", "episode", "steps"]
    assert len(table) == 3 * 3 * 8
    assert sorted(table.planning_steps.unique()) == [0, 5, 50]
    assert table.episode.min() == 1 and table.episode.max() == 8
    assert pd.read_csv(out / "results.csv").equals(table)
    assert (out / "figure.png").stat().st_size > 10_000
    assert "planning_steps" in proc.stdout


def test_run_on_a_maze_file_and_a_gymnasium_env(tmp_path):
    maze = tmp_path / "m.txt"
    maze.write_text("S...\n.##.\n...G\n")
    assert (
        main(
            [
                "run",
                "--maze",
                str(maze),
                "--agent",
                "dyna-q",
                "--planning-steps",
                "5",
                "--episodes",
                "5",
                "--runs",
                "2",
                "--out",
                str(tmp_path / "a"),
            ]
        )
        == 0
    )
    table = pd.read_csv(tmp_path / "a" / "results.csv")
    assert {"agent", "planning_steps", "seed", "episode", "steps", "return"} <= set(table.columns)
    assert (table["return"] == 1.0).all()  # every episode ends at the goal
    assert (
        main(
            [
                "run",
                "--env",
                "CliffWalking-v1",
                "--agent",
                "q-learning",
                "--episodes",
                "5",
                "--runs",
                "2",
                "--out",
                str(tmp_path / "b"),
            ]
        )
        == 0
    )


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["run", "--env", "NoSuchEnv-v0", "--agent", "dyna-q", "--episodes", "2", "--out", "x"], "unknown env"),
        (["run", "--env", "CartPole-v1", "--agent", "dyna-q", "--episodes", "2", "--out", "x"], "Discrete"),
        (
            ["run", "--env", "dynaplan/DynaMaze-v0", "--agent", "no-such-agent", "--episodes", "2", "--out", "x"],
            "unknown agent",
        ),
        (
            [
                "run",
                "--env",
                "dynaplan/DynaMaze-v0",
                "--agent",
                "dyna-q",
                "--alpha",
                "2",
                "--episodes",
                "2",
                "--out",
                "x",
            ],
            "alpha must be in (0, 1]",
        ),
        (["run", "--maze", "missing.txt", "--agent", "dyna-q", "--episodes", "2", "--out", "x"], "no such maze file"),
        (["reproduce", "dyna-maze", "--planning-steps", "0,x"], "--planning-steps"),
        (["reproduce", "dyna-maze", "--runs", "0"], "--runs"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path, args, fragment):
    proc = dynaplan(*args, cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and fragment in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr


def test_bad_maze_file_names_file_line_and_column(tmp_path):
    maze = tmp_path / "bad.txt"
    maze.write_text("S..\n.#x\n..G\n")
    proc = dynaplan("run", "--maze", str(maze), "--agent", "dyna-q", "--episodes", "2", "--out", "x", cwd=tmp_path)
    assert proc.returncode == 2
    assert f"{maze}:2:3: unknown character 'x'" in proc.stderr


def test_run_without_spec_sets_agent_parameters_and_sweeps(tmp_path):
    """`--set` passes an agent's own parameters (a list makes a grid axis); unknown ones are one line."""
    assert main(["run", "--env", "dynaplan/DynaMaze-v0", "--agent", "dyna-q-plus", "--set", "kappa=1e-3",
                 "--set", "planning_steps=[0, 5]", "--episodes", "3", "--runs", "2", "--out", str(tmp_path / "a")]) == 0
    table = pd.read_parquet(tmp_path / "a" / "results.parquet")
    assert sorted(table.planning_steps.unique()) == [0, 5] and len(table) == 2 * 2 * 3
    proc = dynaplan("run", "--env", "dynaplan/DynaMaze-v0", "--agent", "dyna-q", "--set", "kappa=1",
                    "--episodes", "2", "--out", "x", cwd=tmp_path)
    assert proc.returncode == 2 and "unknown parameter(s): kappa" in proc.stderr
