"""The experiment commands: run SPEC / --resume, reproduce --list/--show/--set, plot, summarize,
and interrupting a sweep (SIGINT, SIGKILL) then resuming it gives the uninterrupted table."""

from __future__ import annotations

import hashlib
import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from dynaplan.cli import main
from dynaplan.experiments.runner import run_spec
from dynaplan.experiments.spec import load_spec, parse_spec, shipped_specs

SMALL = """
name = "small"
kind = "episodes"
seeds = 4
batch = 2
[params]
env = "dynaplan/DynaMaze-v0"
agent = "dyna-q"
episodes = 4
[grid]
planning_steps = [0, 5]
"""

# Many cheap runs (two episodes of one-step Q-learning), small batches: a sweep of a few
# seconds that is easy to interrupt in the middle.
LONG = """
name = "long"
kind = "episodes"
seeds = 2400
batch = 3
[params]
env = "dynaplan/DynaMaze-v0"
agent = "q-learning"
episodes = 2
alpha = 0.5
"""


def cli(*args: str) -> int:
    return main(list(args))


def test_run_spec_then_plot_and_summarize(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec_path = tmp_path / "small.toml"
    spec_path.write_text(SMALL)
    out = tmp_path / "out"
    assert cli("run", str(spec_path), "--out", str(out), "--workers", "1") == 0
    table = pd.read_parquet(out / "results.parquet")
    expected = run_spec(parse_spec(SMALL), None, workers=1).table
    pd.testing.assert_frame_equal(table, expected, check_exact=True)
    assert set(table.planning_steps) == {0, 5} and table.steps.min() >= 14  # shortest path: 14 steps
    capsys.readouterr()
    assert cli("run", str(spec_path), "--out", str(out)) == 0
    assert "8 of 8 runs were already done" in capsys.readouterr().out

    assert cli("plot", str(out)) == 0
    assert (out / "plot-steps.png").stat().st_size > 1000
    assert cli("plot", str(out), "--x", "episode", "--y", "steps", "--group", "planning_steps",
               "--out", str(tmp_path / "p.png")) == 0
    assert (tmp_path / "p.png").exists()
    capsys.readouterr()
    assert cli("summarize", str(out)) == 0
    text = capsys.readouterr().out
    assert "planning_steps" in text and "done, 8/8 runs" in text
    capsys.readouterr()
    assert cli("plot", str(out), "--y", "nope") == 2
    assert "--y: no column 'nope'" in capsys.readouterr().err
    assert cli("summarize", str(tmp_path / "missing")) == 2


def test_legacy_run_form_still_works(tmp_path: Path) -> None:
    out = tmp_path / "legacy"
    rc = cli("run", "--agent", "dyna-q", "--env", "dynaplan/DynaMaze-v0", "--episodes", "3", "--runs", "2",
             "--planning-steps", "5", "--out", str(out))
    assert rc == 0
    table = pd.read_csv(out / "results.csv")
    assert len(table) == 6 and table.steps.min() >= 14
    assert cli("run", "--agent", "dyna-q", "--env", "dynaplan/DynaMaze-v0", "--episodes", "3",
               "--alpha", "3", "--out", str(out)) == 2


def test_reproduce_list_show_and_set(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli("reproduce", "--list") == 0
    assert "dyna-maze" in capsys.readouterr().out
    assert cli("reproduce", "--show", "dyna-maze") == 0
    shown = parse_spec(capsys.readouterr().out)
    assert shown.to_dict() == load_spec(shipped_specs()["dyna-maze"]).to_dict()
    out = tmp_path / "dm"
    rc = cli("reproduce", "dyna-maze", "--runs", "2", "--episodes", "3", "--planning-steps", "0,5",
             "--set", "alpha=0.5", "--out", str(out), "--workers", "1")
    assert rc == 0
    table = pd.read_parquet(out / "results.parquet")
    assert list(table.columns) == ["agent", "planning_steps", "seed", "episode", "steps"]
    assert len(table) == 2 * 2 * 3 and (out / "figure.png").exists()
    stored = parse_spec((out / "spec.toml").read_text())
    assert stored.params["alpha"] == 0.5 and stored.grid["planning_steps"] == [0, 5] and stored.seeds == 2
    capsys.readouterr()
    assert cli("reproduce", "dyna-maze", "--set", "alpah=0.5", "--out", str(out)) == 2
    assert "alpah: unknown key" in capsys.readouterr().err
    assert cli("reproduce", "dyna-maze", "--resume", "--runs", "3", "--out", str(out)) == 2


# -- interrupts ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def long_reference() -> pd.DataFrame:
    return run_spec(parse_spec(LONG), None, workers=1).table


def _start(spec_path: Path, out: Path, workers: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "dynaplan.cli", "run", str(spec_path), "--out", str(out), "--workers", str(workers)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )


def _runs_recorded(out: Path) -> int:
    try:  # the manifest is replaced atomically: whole or absent
        return int(json.loads((out / "manifest.json").read_text()).get("runs_done") or 0)
    except (OSError, ValueError):
        return 0


def _interrupt_midway(proc: subprocess.Popen[bytes], out: Path, sig: int) -> None:
    deadline = time.monotonic() + 120
    while _runs_recorded(out) < 30:  # some batches are done and recorded in the manifest
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.005)
    proc.send_signal(sig)
    proc.wait(timeout=60)
    assert not (out / "results.parquet").exists()  # it was stopped in the middle


def _resume(out: Path) -> tuple[int, str]:
    done = subprocess.run([sys.executable, "-m", "dynaplan.cli", "run", "--resume", "--out", str(out)],
                          capture_output=True, text=True, timeout=300)
    return done.returncode, done.stdout + done.stderr


@pytest.mark.parametrize(("sig", "workers"), [(signal.SIGINT, 2), (signal.SIGKILL, 1)], ids=["SIGINT", "SIGKILL"])
def test_interrupt_then_resume_equals_uninterrupted(
    long_reference: pd.DataFrame, tmp_path: Path, sig: int, workers: int
) -> None:
    spec_path = tmp_path / "long.toml"
    spec_path.write_text(LONG)
    out = tmp_path / "out"
    proc = _start(spec_path, out, workers)
    _interrupt_midway(proc, out, sig)
    manifest: dict[str, Any] = json.loads((out / "manifest.json").read_text())
    if sig == signal.SIGINT:
        assert proc.returncode == 130 and manifest["status"] == "interrupted"
        assert proc.stderr is not None and "continue with --resume" in proc.stderr.read().decode()
    else:
        assert proc.returncode == -signal.SIGKILL
        # a crash in the middle of writing: a half-written file where a run recorded as done was
        done = [b for b in manifest["batches"] if b["status"] == "done"]
        assert done
        victim = out / done[0]["file"]
        victim.write_bytes(victim.read_bytes()[:100])
        (out / "runs" / ".leftover.parquet.tmp").write_bytes(b"partial")
    rc, text = _resume(out)
    assert rc == 0, text
    assert "runs were already done" in text
    final = pd.read_parquet(out / "results.parquet")
    pd.testing.assert_frame_equal(final, long_reference, check_exact=True)
    after = json.loads((out / "manifest.json").read_text())
    assert after["status"] == "done" and not list(out.rglob("*.tmp"))
    if sig == signal.SIGKILL:  # the damaged batch was run again, not read
        redone = next(b for b in after["batches"] if b["config_hash"] == done[0]["config_hash"])
        assert hashlib.sha256(victim.read_bytes()).hexdigest() == redone["sha256"] == done[0]["sha256"]


def test_the_minigrid_command_runs_as_written(tmp_path, monkeypatch, capsys):
    """Issue 25's command exactly as written: no --episodes (30 by default), no --out (the table is
    printed, nothing is written, one line says how to keep the runs), and Minigrid's timeout of 100
    steps replaced by the cap of envs without a limit, so that Dyna-Q with n = 50 needs fewer steps
    per episode than n = 0 over the last 10 episodes (Example 8.1; the seeds are fixed). As on a
    one-core machine (the runs in this process): a pool's start-up would dominate the test's time."""
    import re

    from dynaplan.experiments import backends

    monkeypatch.setattr(backends, "default_workers", lambda: 1)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "200")
    command = "dynaplan run --env MiniGrid-FourRooms-v0 --agent dyna-q --planning-steps 0,50 --runs 5"
    assert main(command.split()[1:]) == 0
    out = capsys.readouterr().out
    assert "30 episodes per run (the default" in out
    assert "cut off after 100,000 real steps (max_episode_steps)" in out
    steps = {int(n): float(mean) for n, mean in re.findall(r"│\s+(0|50) │\s+5 │\s+10 │\s+([\d.]+) │", out)}
    assert set(steps) == {0, 50}, out
    assert steps[50] < steps[0]
    assert "not kept: add --out DIR to keep the runs" in out
    assert list(tmp_path.iterdir()) == []
