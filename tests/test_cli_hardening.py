"""The command line at its edges: usage errors, results that are never replaced silently,
resuming with the options first given, size guards, messages shown whole, summaries and titles
of the runs actually made, and the README a new user follows."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pandas as pd
import pytest

from dynaplan.cli import main

ROOT = Path(__file__).resolve().parents[1]

SMALL = """
name = "small"
kind = "episodes"
seeds = 2
[params]
env = "dynaplan/DynaMaze-v0"
agent = "dyna-q"
episodes = 3
[grid]
planning_steps = [0, 5]
"""

TINY_REPRO = ["reproduce", "dyna-maze", "--runs", "2", "--episodes", "3", "--workers", "1"]


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    rc = main(list(args))
    out, err = capsys.readouterr()
    return rc, out, err


def one_error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


# -- 1. usage errors ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--bogus"], "No such option: --bogus"),
        (["frob"], "No such command 'frob'"),
        (["run", "--runs"], "'--runs' requires an argument"),
        (["run", "--runs", "abc"], "'--runs'"),
        (["run", "--runs", "1e3"], "'--runs'"),
        (["reproduce", "dyna-maze", "--nope"], "No such option: --nope"),
    ],
)
def test_usage_errors_are_one_line_and_exit_2(capsys: pytest.CaptureFixture[str], args: list[str],
                                              fragment: str) -> None:
    rc, _, err = run(capsys, *args)
    assert rc == 2
    assert fragment in one_error_line(err)


def test_version_and_bare_command(capsys: pytest.CaptureFixture[str]) -> None:
    import dynaplan

    rc, out, err = run(capsys, "--version")
    assert rc == 0 and out.strip() == f"dynaplan {dynaplan.__version__}" and not err
    rc, out, err = run(capsys)
    assert rc in (0, 2) and "Traceback" not in err
    assert "reproduce" in out + err and "Usage" in out + err


# -- 3. finished runs are never replaced silently ------------------------------------------------
def test_another_experiment_is_refused_and_overwrite_replaces_it(tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "small.toml"
    spec.write_text(SMALL.replace("seeds = 2", "seeds = 2\nbatch = 1"))
    out = tmp_path / "out"
    assert run(capsys, "run", str(spec), "--out", str(out), "--workers", "1")[0] == 0
    assert run(capsys, "plot", str(out))[0] == 0  # a figure of the first experiment, listed in its manifest
    before = (out / "results.parquet").read_bytes()
    manifest = (out / "manifest.json").read_text()

    other = ["--set", "planning_steps=[0, 50]"]  # another experiment: the n = 5 runs would be lost
    rc, _, err = run(capsys, "run", str(spec), *other, "--out", str(out))
    line = one_error_line(err)
    assert rc == 2 and "--overwrite" in line and "--out" in line
    assert "grid.planning_steps: [0, 50] here, [0, 5] in the store" in line
    assert (out / "results.parquet").read_bytes() == before and (out / "manifest.json").read_text() == manifest

    rc, text, _ = run(capsys, "run", str(spec), "--out", str(out))  # the same one: already done
    assert rc == 0 and "4 of 4 runs were already done" in text
    assert (out / "results.parquet").read_bytes() == before

    rc, text, _ = run(capsys, "run", str(spec), "--runs", "3", "--out", str(out))  # more seeds: nothing is lost
    assert rc == 0 and "extending the experiment there" in text and "4 of 6 runs were already done" in text
    assert not (out / "plot-steps.png").exists()  # no figure of other runs beside the new table

    assert run(capsys, "plot", str(out))[0] == 0
    rc, text, _ = run(capsys, "run", str(spec), "--runs", "3", *other, "--out", str(out), "--overwrite")
    assert rc == 0 and "3 of 6 runs were already done" in text  # the runs both share (n = 0) are kept
    assert not (out / "plot-steps.png").exists()
    assert set(pd.read_parquet(out / "results.parquet").planning_steps) == {0, 50}


def test_a_directory_that_is_not_a_store_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "small.toml"
    spec.write_text(SMALL)
    out = tmp_path / "mine"
    out.mkdir()
    (out / "results.csv").write_text("my own table\n")
    rc, _, err = run(capsys, "run", str(spec), "--out", str(out))
    assert rc == 2 and "not a dynaplan result store" in one_error_line(err)
    assert (out / "results.csv").read_text() == "my own table\n"


def test_readme_workflow_does_not_write_beside_the_reproduction(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    assert run(capsys, *TINY_REPRO)[0] == 0
    store = Path("results/dyna-maze")
    figure, table = (store / "figure.png").read_bytes(), (store / "results.parquet").read_bytes()
    rc, shown, _ = run(capsys, "reproduce", "--show", "dyna-maze")
    Path("my.toml").write_text(shown.replace("seeds = 30", "seeds = 2").replace("episodes = 50", "episodes = 4"))
    rc, _, err = run(capsys, "run", "my.toml")  # default --out: results/dyna-maze
    assert rc == 2 and "results/dyna-maze holds another experiment" in one_error_line(err)
    assert (store / "figure.png").read_bytes() == figure and (store / "results.parquet").read_bytes() == table


# -- 4. resuming with the options first given ---------------------------------------------------
def test_resume_accepts_matching_options_and_names_a_real_difference(tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    out = str(tmp_path / "X")
    assert run(capsys, *TINY_REPRO, "--out", out)[0] == 0
    rc, text, _ = run(capsys, *TINY_REPRO, "--out", out, "--resume")
    assert rc == 0 and "6 of 6 runs were already done" in text
    rc, _, err = run(capsys, "reproduce", "dyna-maze", "--runs", "3", "--episodes", "3", "--out", out, "--resume")
    assert rc == 2 and "seeds: 3 here, 2 in the store" in one_error_line(err)
    rc, _, err = run(capsys, *TINY_REPRO, "--set", "alpha=0.5", "--out", out, "--resume")
    assert rc == 2 and "params.alpha: 0.5 here, 0.1 in the store" in one_error_line(err)
    rc, _, err = run(capsys, "reproduce", "blocking-maze", "--out", out, "--resume")
    assert rc == 2 and "holds the reproduction 'dyna-maze', not 'blocking-maze'" in one_error_line(err)


# -- 6. size guards ---------------------------------------------------------------------------------
def test_workers_are_capped_at_the_usable_cores(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import os

    spec = tmp_path / "small.toml"
    spec.write_text(SMALL)
    rc, _, err = run(capsys, "run", str(spec), "--out", str(tmp_path / "o"), "--workers", "1000")
    assert rc == 0 and f"--workers 1000: capped at the {len(os.sched_getaffinity(0))} usable cores" in err


@pytest.mark.parametrize(
    ("args", "spec_edit", "fragment"),
    [
        ([], ("episodes = 3", "episodes = 1000000000000"), "params.episodes:"),
        ([], ("seeds = 2", "seeds = 1000000000000"), "seeds:"),
        (["--runs", "100000000"], None, "seeds:"),
        (["--set", "planning_steps=99999999999999999999"], None, "--set planning_steps: integers must fit in 64 bits"),
        (["--episodes", "99999999999999999999"], None, "--episodes must be an integer in [1, 9223372036854775807]"),
        ([], ("planning_steps = [0, 5]", "planning_steps = [0, 99999999999999999999]"), "grid.planning_steps:"),
    ],
)
def test_sizes_beyond_the_kernels_or_the_machine_are_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], spec_edit: tuple[str, str] | None,
    fragment: str,
) -> None:
    spec = tmp_path / "big.toml"
    spec.write_text(SMALL.replace(*spec_edit) if spec_edit else SMALL)
    t0 = time.monotonic()
    rc, _, err = run(capsys, "run", str(spec), "--out", str(tmp_path / "o"), *args)
    assert rc == 2 and fragment in one_error_line(err)
    assert time.monotonic() - t0 < 10  # refused up front, not after filling the memory
    assert not (tmp_path / "o").exists()


def test_a_run_without_a_terminal_is_never_silent(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    import dynaplan.cli

    monkeypatch.setattr(dynaplan.cli, "PROGRESS_EVERY", 0.0)
    spec = tmp_path / "small.toml"
    spec.write_text(SMALL.replace("seeds = 2", "seeds = 2\nbatch = 1"))
    rc, out, err = run(capsys, "run", str(spec), "--out", str(tmp_path / "o"), "--workers", "1")
    assert rc == 0
    assert "small: 2 cells x 2 runs: at most 12 rows" in out  # the estimate, before anything runs
    assert "small: 4/4 runs done" in err  # progress lines where there is no progress bar
    assert "small: episodes are cut off after 100,000 real steps (the default)" in out  # the step limit, stated


def test_size_estimate_counts_rows_and_refuses_what_cannot_fit() -> None:
    from dynaplan.experiments.sizes import check_fits, estimate
    from dynaplan.experiments.spec import SpecError, parse_spec

    spec = parse_spec(SMALL, validate=False)
    est = estimate(spec)
    assert (est.cells, est.runs, est.rows_per_run, est.rows) == (2, 4, 3, 12)
    assert est.per_run_key == "params.episodes"
    check_fits(spec, available=est.memory)
    with pytest.raises(SpecError, match=r"seeds: .*lower seeds"):
        check_fits(spec, available=est.memory - 1)


# -- 10. messages shown whole ---------------------------------------------------------------------
@pytest.mark.parametrize(
    ("edit", "args", "fragment"),
    [
        (("[grid]", "[grid]\nalpha = [0.1]"), [], None),
        (("planning_steps = [0, 5]", "planning_steps = [0, 5]\nalpha = [\"0.1'\"]"), [],
         "grid.alpha: alpha must be a number in (0, 1], got \"0.1'\""),
        (None, ["--set", "planning_steps=[5, 50"], "got '[5, 50'"),
        (("episodes = 3", "episodes = 3\nis_slippery = false"), [], "env_kwargs = {is_slippery = false}"),
    ],
)
def test_messages_keep_the_users_text(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                      edit: tuple[str, str] | None, args: list[str], fragment: str | None) -> None:
    spec = tmp_path / "m.toml"
    text = SMALL.replace(*edit) if edit else SMALL
    if edit and "alpha = [0.1]" in edit[1]:
        text = text.replace('episodes = 3', 'episodes = 3\nalpha = 0.1')
        fragment = "grid.alpha: also in [params]; a key may be in only one of params, grid, cells"
    spec.write_text(text)
    rc, _, err = run(capsys, "run", str(spec), "--out", str(tmp_path / "o"), *args)
    assert rc == 2 and fragment is not None and fragment in one_error_line(err)


def test_set_values_are_kept_whole() -> None:
    from dynaplan.experiments.spec import parse_set

    assert parse_set("title=Dyna-Q, n = 0, 5") == ("title", "Dyna-Q, n = 0, 5")
    assert parse_set("planning_steps=[5, 50") == ("planning_steps", "[5, 50")  # shown whole in the error
    assert parse_set("alpha=0.1,0.2") == ("alpha", [0.1, 0.2])


def test_help_keeps_brackets_and_usage(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "250")
    monkeypatch.setenv("TERMINAL_WIDTH", "250")
    rc, out, _ = run(capsys, "run", "--help")
    assert rc == 0
    assert "[agent default 0.1]" in out and "[[SPEC]]" not in out and "[SPEC]" in out
    assert "one-cell run: none" in out  # a one-cell run keeps nothing without --out
    from dynaplan.agents import AGENTS

    assert all(cls.defaults().get("alpha", 0.1) == 0.1 for cls in AGENTS.values())  # what that help says


# -- 11. summaries and titles of the runs made ------------------------------------------------------
def test_run_summary_is_grouped_by_every_varied_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "s.toml"
    spec.write_text(SMALL.replace("planning_steps = [0, 5]", "planning_steps = [0, 5]\nalpha = [0.1, 0.5]"))
    rc, out, _ = run(capsys, "run", str(spec), "--out", str(tmp_path / "o"), "--workers", "1")
    assert rc == 0
    rows = [line for line in out.splitlines() if re.match(r"^[│|]\s+\d", line)]
    assert len(rows) == 4  # (alpha, planning_steps) = 2 x 2 groups, not one pooled number
    assert "last episodes" in out and "last 10" not in out
    table = pd.read_parquet(tmp_path / "o" / "results.parquet")
    first = table[(table.alpha == 0.1) & (table.planning_steps == 0)]
    per_run = first.groupby("seed").steps.mean()  # the run is the unit; 3 episodes ran
    assert f"{per_run.mean():.2f}" in rows[0]


def test_reproduction_titles_and_summaries_follow_the_spec_run(tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = run(capsys, *TINY_REPRO, "--planning-steps", "0,5,50,100", "--out", str(tmp_path / "a"))
    assert rc == 0
    assert "n = 0, 5, 50 " not in out and "planning_steps = 0, 5, 50, 100" in out
    assert "last_3" in out and "last_10" not in out  # 3 episodes ran
    rc, out, _ = run(capsys, *TINY_REPRO, "--set", "agent=q-planning", "--set", "alpha=0.1,0.5",
                     "--out", str(tmp_path / "b"))
    assert rc == 0 and "Dyna-Q" not in out and "agent = q-planning" in out
    stored = json.loads((tmp_path / "b" / "manifest.json").read_text())
    assert stored["runs_total"] == 2 * 3 * 2
    table = pd.read_parquet(tmp_path / "b" / "results.parquet")
    assert set(table.alpha) == {0.1, 0.5}  # the new axis is a column of the table
    summary_rows = [line for line in out.splitlines() if re.match(r"^[│|]\s+0\.[15]0\s", line)]
    assert len(summary_rows) == 6  # per (alpha, n), not averaged over alpha


def test_a_changed_reproduction_figure_says_what_changed(tmp_path: Path) -> None:
    from dynaplan.plot.curves import _pyplot, figure_note, save_figure

    plt = _pyplot()
    fig, _ = plt.subplots()
    with figure_note("dyna-maze, changed: agent = mcts"):
        save_figure(fig, tmp_path / "f.png")
    assert fig._suptitle is not None and fig._suptitle.get_text() == "dyna-maze, changed: agent = mcts"
    plain, _ = plt.subplots()
    save_figure(plain, tmp_path / "g.png")
    assert plain._suptitle is None  # outside the note, figures are as their functions draw them


def test_summaries_never_claim_more_episodes_than_ran() -> None:
    from dynaplan.experiments.summaries import episodes_summary

    table = pd.DataFrame({"seed": [1, 1, 1, 2, 2, 2], "episode": [1, 2, 3] * 2, "steps": [9, 5, 3, 7, 5, 1]})
    s = episodes_summary(table, [], last=10)
    assert s["last episodes"].tolist() == [3] and s["mean steps"].tolist() == [5.0]
    s = episodes_summary(table, [], last=2)  # the mean of each run's last two episodes, then over runs
    assert s["mean steps"].tolist() == [(4.0 + 3.0) / 2]


# -- 14. the README a new user follows ----------------------------------------------------------------
def test_readme_setup_and_examples_work_for_a_new_user() -> None:
    readme = (ROOT / "README.md").read_text()
    setup = readme.split("## Set up on a fresh machine", 1)[1].split("\n## ", 1)[0]
    starts = ("python", "pip", ". ", "source", "bash")
    first, second = [line for line in setup.splitlines() if line.startswith(starts)][:2]
    assert "python -m venv .venv" in first and first.index("venv") < first.index("pip install -e .")
    ci = (ROOT / ".ci" / "run").read_text()
    assert second.split("#")[0].strip() == "bash .ci/run"  # the README's test command is CI's, exactly
    assert "apt-get install" in ci and "chromium" in ci and "slurm-wlm" in ci  # what a fresh machine lacks
    last = ci.strip().splitlines()[-1]
    assert last.startswith('pip install -q -e ".[dev]" && ruff check . && mypy && python -m pytest')
    assert ".venv/" in (ROOT / ".gitignore").read_text().split()
    # the user guide (the documentation site's pages) continues where the README stops
    docs = readme + "".join(page.read_text() for page in sorted((ROOT / "docs").rglob("*.md")))
    assert "Taxi-v3" not in docs and "CliffWalking-v0" not in docs
    assert "CliffWalking-v1" in docs and "Taxi-v4" in docs
    ray_lines = [line for line in docs.splitlines() if "--backend ray" in line and line.startswith("dynaplan")]
    assert ray_lines and all("--out" in line for line in ray_lines)
    sweeps = (ROOT / "docs" / "guide" / "experiments.md").read_text()
    assert "alpha = [0.05, 0.1, 0.2, 0.4]" not in sweeps and "planning_steps = [" in sweeps
