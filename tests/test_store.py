"""The result store: finished runs are skipped, corrupt or partial ones are redone and never read,
nothing is pickled."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from dynaplan.experiments.runner import run_spec
from dynaplan.experiments.spec import parse_spec
from dynaplan.experiments.store import MANIFEST, read_manifest

SPEC = """
name = "store"
kind = "episodes"
seeds = 4
root_seed = 11
batch = 2
[params]
env = "dynaplan/DynaMaze-v0"
agent = "dyna-q"
episodes = 3
[grid]
planning_steps = [0, 5]
"""


@pytest.fixture(scope="module")
def spec() -> Any:
    return parse_spec(SPEC, source="store.toml")


@pytest.fixture(scope="module")
def reference(spec: Any) -> pd.DataFrame:
    return run_spec(spec, None, workers=1).table


def run_files(d: Path) -> list[Path]:
    return sorted((d / "runs").glob("*.parquet"))


def test_store_layout_and_rerun_skips_everything(spec: Any, reference: pd.DataFrame, tmp_path: Path) -> None:
    first = run_spec(spec, tmp_path, workers=1)
    pd.testing.assert_frame_equal(first.table, reference, check_exact=True)
    assert (first.runs_total, first.runs_reused, first.runs_done) == (8, 0, 8)
    manifest = read_manifest(tmp_path)
    assert manifest is not None and manifest["status"] == "done" and manifest["runs_done"] == 8
    assert {"dynaplan", "numpy", "numba", "pandas", "python"} <= set(manifest["versions"])
    assert len(manifest["batches"]) == 4 and all(b["status"] == "done" for b in manifest["batches"])
    assert all(b["duration"] >= 0 and len(b["sha256"]) == 64 for b in manifest["batches"])
    assert len(run_files(tmp_path)) == 4
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "results.parquet"), reference, check_exact=True)
    csv = pd.read_csv(tmp_path / "results.csv")
    assert csv.steps.tolist() == reference.steps.tolist()
    assert parse_spec((tmp_path / "spec.toml").read_text()).config_hash() == spec.config_hash()
    # nothing but TOML, JSON, Parquet and CSV: reading results never executes code
    files = [p for p in tmp_path.rglob("*") if p.is_file() and p.name != ".lock"]
    assert {p.suffix for p in files} <= {".toml", ".json", ".parquet", ".csv"}

    again = run_spec(spec, tmp_path, workers=1)
    assert (again.runs_reused, again.runs_done) == (8, 0)
    pd.testing.assert_frame_equal(again.table, reference, check_exact=True)


@pytest.mark.parametrize("damage", ["truncate", "flip", "delete", "garbage"])
def test_damaged_run_file_is_redone_not_read(spec: Any, reference: pd.DataFrame, tmp_path: Path, damage: str) -> None:
    run_spec(spec, tmp_path, workers=1)
    victim = run_files(tmp_path)[1]
    data = victim.read_bytes()
    if damage == "truncate":
        victim.write_bytes(data[: len(data) // 2])
    elif damage == "flip":  # still a readable Parquet file? the checksum catches it anyway
        i = len(data) // 3
        victim.write_bytes(data[:i] + bytes([data[i] ^ 1]) + data[i + 1 :])
    elif damage == "delete":
        victim.unlink()
    else:
        victim.write_bytes(b"not parquet")
    again = run_spec(spec, tmp_path, workers=1)
    assert (again.runs_reused, again.runs_done) == (6, 2)
    pd.testing.assert_frame_equal(again.table, reference, check_exact=True)


@pytest.mark.parametrize("damage", ["garbage", "chmod", "other-format"])
def test_unreadable_manifest_warns_and_keeps_the_runs_that_verify(
    spec: Any, reference: pd.DataFrame, tmp_path: Path, damage: str, capsys: Any, monkeypatch: Any
) -> None:
    run_spec(spec, tmp_path, workers=1)
    manifest = tmp_path / MANIFEST
    if damage == "garbage":
        manifest.write_text("{ half a manif")
    elif damage == "chmod":  # unreadable even as root: reading it fails as it would for another user
        real_read_text = Path.read_text
        monkeypatch.setattr(Path, "read_text", lambda self, *a, **k: (_ for _ in ()).throw(
            PermissionError(13, "Permission denied")) if self.name == MANIFEST else real_read_text(self, *a, **k))
    else:
        manifest.write_text(json.dumps({"format": 99, "batches": []}))
    victim = run_files(tmp_path)[2]
    victim.write_bytes(victim.read_bytes()[:-7])  # one damaged file among them: it is redone
    (tmp_path / "runs" / ".x.parquet.123.tmp").write_bytes(b"partial")
    capsys.readouterr()
    again = run_spec(spec, tmp_path, workers=1)
    monkeypatch.undo()
    assert (again.runs_reused, again.runs_done) == (6, 2)
    pd.testing.assert_frame_equal(again.table, reference, check_exact=True)
    assert not list(tmp_path.rglob("*.tmp"))
    lines = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
    assert len(lines) == 1 and "manifest.json: unreadable" in lines[0] and "kept the 6 runs" in lines[0]
    # and the manifest is whole again: the next run reuses everything without a word
    assert (read_manifest(tmp_path) or {}).get("status") == "done"
    assert run_spec(spec, tmp_path, workers=1).runs_reused == 8
    assert capsys.readouterr().err == ""


def test_a_batch_saved_but_not_yet_in_the_manifest_is_kept(spec: Any, reference: pd.DataFrame, tmp_path: Path) -> None:
    """A process killed between writing a run file and flushing the manifest loses nothing."""
    run_spec(spec, tmp_path, workers=1)
    data = json.loads((tmp_path / MANIFEST).read_text())
    for b in data["batches"][1:]:
        b.update(status="pending", sha256=None, file=None)
    (tmp_path / MANIFEST).write_text(json.dumps(data))
    again = run_spec(spec, tmp_path, workers=1)
    assert (again.runs_reused, again.runs_done) == (8, 0)
    pd.testing.assert_frame_equal(again.table, reference, check_exact=True)


def test_a_larger_spec_reuses_the_runs_it_shares(spec: Any, tmp_path: Path) -> None:
    run_spec(spec, tmp_path, workers=1)
    bigger = spec.with_overrides({"seeds": 6})
    out = run_spec(bigger, tmp_path, workers=1)
    assert (out.runs_total, out.runs_reused, out.runs_done) == (12, 8, 4)
    pd.testing.assert_frame_equal(out.table, run_spec(bigger, None, workers=1).table, check_exact=True)
    assert len(run_files(tmp_path)) == 6
    manifest = json.loads((tmp_path / MANIFEST).read_text())
    assert manifest["seeds"] == 6 and manifest["runs_total"] == 12


def test_two_runs_cannot_share_a_directory(spec: Any, tmp_path: Path) -> None:
    from dynaplan.experiments.store import Store, StoreError

    holder = Store(tmp_path)
    holder.begin("", {"spec_hash": "x"}, [])
    try:
        with pytest.raises(StoreError, match="another dynaplan run is using this directory"):
            run_spec(spec.with_overrides({"seeds": 6}), tmp_path, workers=1)  # the experiment stored there
    finally:
        holder.close()
    assert run_spec(spec, tmp_path, workers=1).runs_done == 8  # free again


@pytest.mark.parametrize("umask", [0o022, 0o027])
def test_files_are_created_with_the_umask(spec: Any, tmp_path: Path, umask: int) -> None:
    import os
    import stat

    old = os.umask(umask)
    try:
        run_spec(spec, tmp_path / "out", workers=1)
    finally:
        os.umask(old)
    files = [p for p in (tmp_path / "out").rglob("*") if p.is_file()]
    assert {p.name for p in files} >= {"manifest.json", "spec.toml", "results.parquet", "results.csv", ".lock"}
    assert {stat.S_IMODE(p.stat().st_mode) for p in files} == {0o666 & ~umask}


def cli_main(args: list[str]) -> int:
    from dynaplan.cli import main

    return main(args)


def test_unwritable_out_is_one_line_exit_2(spec: Any, tmp_path: Path, capsys: Any, monkeypatch: Any) -> None:
    spec_file = tmp_path / "s.toml"
    spec_file.write_text(SPEC)
    (tmp_path / "a-file").write_text("x")
    capsys.readouterr()
    assert cli_main(["run", str(spec_file), "--out", str(tmp_path / "a-file" / "out"), "--workers", "1"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1 and "cannot write" in err

    # a read-only store (as another user's, or a read-only mount: root ignores permission bits,
    # so the refusal is simulated where the store creates its files)
    out = tmp_path / "out"
    run_spec(spec, out, workers=1)
    import tempfile

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise PermissionError(13, "Permission denied", str(out))

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    assert cli_main(["run", str(spec_file), "--out", str(out), "--workers", "1", "--set", "seeds=6"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert "cannot write" in err and "Permission denied" in err


def test_a_lock_left_by_an_ended_process_is_taken_over(spec: Any, tmp_path: Path, capsys: Any) -> None:
    import socket
    import subprocess
    import sys

    from dynaplan.experiments.store import StoreError

    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead = int(ended.stdout)
    host = socket.gethostname()
    # 1. killed (SIGKILL): the flock went with it, its pid is left in the file
    tmp_path.mkdir(exist_ok=True)
    (tmp_path / ".lock").write_text(f"{dead} {host}\n")
    capsys.readouterr()
    assert run_spec(spec, tmp_path, workers=1).runs_done == 8
    assert f"process {dead} ended without releasing" in capsys.readouterr().err
    # 2. its lock still held by a process it started (a worker that inherited the open file)
    (tmp_path / ".lock").write_text(f"{dead} {host}\n")
    holder = subprocess.Popen([sys.executable, "-c", (
        "import fcntl, sys, time; f = open(sys.argv[1], 'a+'); fcntl.flock(f, fcntl.LOCK_EX);"
        "print('held', flush=True); time.sleep(60)"), str(tmp_path / ".lock")], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        again = run_spec(spec.with_overrides({"seeds": 6}), tmp_path, workers=1)
        assert (again.runs_reused, again.runs_done) == (8, 4)
        assert f"the lock of process {dead}, which has ended, is still held" in capsys.readouterr().err
    finally:
        holder.kill()
        holder.wait()
    # 3. a holder that is alive is never taken over
    live = subprocess.Popen([sys.executable, "-c", (
        "import fcntl, os, socket, sys, time; f = open(sys.argv[1], 'a+'); fcntl.flock(f, fcntl.LOCK_EX);"
        "f.truncate(0); f.write(f'{os.getpid()} {socket.gethostname()}'); f.flush(); print('held', flush=True);"
        "time.sleep(60)"), str(tmp_path / ".lock")], stdout=subprocess.PIPE, text=True)
    try:
        assert live.stdout is not None and live.stdout.readline().strip() == "held"
        with pytest.raises(StoreError, match="another dynaplan run is using this directory"):
            run_spec(spec.with_overrides({"seeds": 6}), tmp_path, workers=1)  # the experiment stored there
    finally:
        live.kill()
        live.wait()


def _files(d: Path) -> dict[str, bytes]:
    return {str(p.relative_to(d)): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file() and p.name != ".lock"}


def test_run_spec_never_discards_a_finished_run_without_overwrite(spec: Any, reference: pd.DataFrame,
                                                                    tmp_path: Path) -> None:
    """The Python API keeps the CLI's rule: a store holding another experiment is refused
    (``StoreError``, a ``ValueError``, before anything is written) unless ``overwrite=True``;
    ``resume=True`` needs the stored experiment itself; the same experiment is reused."""
    from dynaplan.experiments.store import StoreError

    run_spec(spec, tmp_path, workers=1)
    finished = _files(tmp_path)
    other = parse_spec(SPEC.replace("episodes = 3", "episodes = 3\nalpha = 0.5"), source="other.toml")
    with pytest.raises(StoreError, match=r"holds another experiment \(8 finished runs; .*alpha.*overwrite=True"):
        run_spec(other, tmp_path, workers=1)
    with pytest.raises(StoreError, match=r"resume: not the stored experiment \(.*alpha"):
        run_spec(other, tmp_path, workers=1, resume=True)
    with pytest.raises(StoreError, match="nothing to resume"):
        run_spec(spec, tmp_path / "new", workers=1, resume=True)
    assert _files(tmp_path) == finished  # every file as it was, bytes and all
    assert not (tmp_path / "new").exists()

    again = run_spec(spec, tmp_path, workers=1, resume=True)  # the stored experiment: all reused
    assert (again.runs_reused, again.runs_done) == (8, 0)
    pd.testing.assert_frame_equal(again.table, reference, check_exact=True)

    replaced = run_spec(other, tmp_path, workers=1, overwrite=True)
    assert (replaced.runs_reused, replaced.runs_done) == (0, 8)
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "results.parquet"),
                                  run_spec(other, None, workers=1).table, check_exact=True)

