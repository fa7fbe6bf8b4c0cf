"""``--overwrite`` never deletes a file the store did not write: a directory that is not a store is
refused whatever the flags, a replaced store loses only what its manifest lists, and a replacement
that fails or is interrupted leaves the previous experiment whole."""

from __future__ import annotations

from pathlib import Path

import pytest

from dynaplan.cli import main

SMALL = """
name = "small"
kind = "episodes"
seeds = 2
batch = 1
[params]
env = "dynaplan/DynaMaze-v0"
agent = "dyna-q"
episodes = 3
[grid]
planning_steps = [0, 5]
"""
OTHER = ["--set", "planning_steps=[0, 50]"]
USER_FILES = {"notes.txt": b"my notes\n", "data.parquet": b"PAR1 my data", "figure_final.png": b"\x89PNG mine",
              "runs/mine/keep.txt": b"a folder of mine in runs/", "runs/data.parquet": b"PAR1 mine too"}


def put_user_files(d: Path, names: tuple[str, ...] = tuple(USER_FILES)) -> None:
    for name in names:
        (d / name).parent.mkdir(parents=True, exist_ok=True)
        (d / name).write_bytes(USER_FILES[name])


def assert_user_files(d: Path, names: tuple[str, ...] = tuple(USER_FILES)) -> None:
    for name in names:
        assert (d / name).read_bytes() == USER_FILES[name], name


def snapshot(d: Path) -> dict[str, bytes]:
    return {str(p.relative_to(d)): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file() and p.name != ".lock"}


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    rc = main(list(args))
    out, err = capsys.readouterr()
    return rc, out, err


@pytest.mark.parametrize("overwrite", [[], ["--overwrite"], ["--overwrite", "--resume"]])
def test_a_directory_that_is_not_a_store_is_refused_even_with_overwrite(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], overwrite: list[str]) -> None:
    spec = tmp_path / "small.toml"
    spec.write_text(SMALL)
    out = tmp_path / "mine"
    out.mkdir()
    put_user_files(out, ("notes.txt", "data.parquet", "figure_final.png"))
    before = snapshot(out)
    for command in (["run", str(spec)], ["reproduce", "dyna-maze", "--runs", "2", "--episodes", "2"]):
        rc, _, err = cli(capsys, *command, "--out", str(out), *overwrite)
        lines = [ln for ln in err.splitlines() if ln.strip()]
        assert rc == 2 and len(lines) == 1 and "Traceback" not in err, err
        assert "not a dynaplan result store" in lines[0] or "nothing to resume" in lines[0]
        assert snapshot(out) == before  # not one file added, changed or removed


def test_overwrite_removes_only_what_the_manifest_lists(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "small.toml"
    spec.write_text(SMALL)
    out = tmp_path / "out"
    assert cli(capsys, "run", str(spec), "--out", str(out), "--workers", "1")[0] == 0
    assert cli(capsys, "plot", str(out))[0] == 0
    assert (out / "plot-steps.png").is_file()
    put_user_files(out)  # the user's files beside the store's, in runs/ too
    rc, _, err = cli(capsys, "run", str(spec), *OTHER, "--out", str(out), "--overwrite", "--workers", "1")
    assert rc == 0, err
    assert_user_files(out)
    assert not (out / "plot-steps.png").exists()  # the old experiment's figure: listed, so removed
    assert not (out / "manifest.next.json").exists() and not (out / "spec.next.toml").exists()
    import pandas as pd

    assert set(pd.read_parquet(out / "results.parquet").planning_steps) == {0, 50}
    store_runs = [p for p in (out / "runs").iterdir() if p.name not in ("mine", "data.parquet")]
    assert len(store_runs) == 4  # the two cells x two seeds of the new experiment, nothing of the old n = 5


def test_a_failed_replacement_leaves_the_previous_store_intact(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from dynaplan.experiments import runner

    spec = tmp_path / "small.toml"
    spec.write_text(SMALL)
    out = tmp_path / "out"
    assert cli(capsys, "run", str(spec), "--out", str(out), "--workers", "1")[0] == 0
    assert cli(capsys, "plot", str(out))[0] == 0
    put_user_files(out)
    before = snapshot(out)
    real = runner.execute_task
    calls = []

    def failing(task: runner.Task) -> runner.TaskOutput:
        calls.append(task)
        if len(calls) == 2:
            raise RuntimeError("the machine fell over")
        return real(task)

    monkeypatch.setattr(runner, "execute_task", failing)
    with pytest.raises(RuntimeError, match="fell over"):
        main(["run", str(spec), *OTHER, "--out", str(out), "--overwrite", "--workers", "1"])
    monkeypatch.setattr(runner, "execute_task", real)
    after = snapshot(out)
    # every file of the previous experiment and of the user, byte for byte; only the new one's progress beside it
    assert {k: v for k, v in after.items() if k in before} == before
    assert set(after) - set(before) <= {"manifest.next.json", "spec.next.toml"} | {
        k for k in after if k.startswith("runs/") and k.endswith(".parquet")}
    rc, text, _ = cli(capsys, "summarize", str(out))
    assert rc == 0 and "done, 4/4 runs" in text  # the previous experiment, readable as it was

    rc, text, err = cli(capsys, "run", str(spec), *OTHER, "--out", str(out), "--overwrite", "--workers", "1")
    assert rc == 0, err
    assert "runs were already done" in text  # the batch saved before the failure is kept
    assert_user_files(out)
