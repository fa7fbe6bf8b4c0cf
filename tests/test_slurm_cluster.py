"""``--backend slurm`` against a real SLURM: a one-node cluster (slurmctld, slurmd, munge from
Debian's slurm-wlm and munge) started on localhost for this module by ``.ci/slurm-up.sh`` and
stopped after. Skipped, with the reason, where the daemons are not installed or not root.
Jobs are real ``sbatch`` job arrays; ``scancel`` is SLURM's."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from dynaplan.experiments.runner import run_spec
from dynaplan.experiments.spec import parse_spec

ROOT = Path(__file__).resolve().parent.parent


def _skip_reason() -> str:
    missing = [b for b in ("slurmctld", "slurmd", "munged", "sbatch", "scancel", "squeue") if shutil.which(b) is None]
    if missing:
        return f"no SLURM here ({', '.join(missing)} not found): apt-get install slurm-wlm munge"
    if os.geteuid() != 0:
        return "the test cluster's daemons run as root"
    return ""


@pytest.fixture
def cluster() -> Iterator[dict[str, str]]:
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    up = subprocess.run(["bash", str(ROOT / ".ci" / "slurm-up.sh")], capture_output=True, text=True, timeout=120)
    if up.returncode != 0:
        pytest.fail(f"the test cluster did not start: {up.stderr.strip()}")
    folder = up.stdout.strip().splitlines()[-1]
    env = {"SLURM_CONF": f"{folder}/slurm.conf", "PATH": f"{folder}/bin:{os.environ['PATH']}"}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        yield env
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        subprocess.run(["bash", str(ROOT / ".ci" / "slurm-down.sh"), folder], timeout=60)


def test_real_slurm_jobs(cluster: Any, tmp_path: Path) -> None:
    """One test, so that one cluster serves it whatever the test distribution: real job arrays of
    Dyna-Q runs give the local pool's table; a sweep cancelled with scancel fails in one line and
    ``--resume`` finishes it to the same table; a job that dies is resubmitted. (``result_wait``:
    the result file of a job SLURM reports ended is on this node's disk at once, not on a shared
    file system, so the cancelled and the dead job are counted as failed after 1 s, not 15 s.)"""
    # a sweep of 8 tasks in 2 jobs, one of which sleeps: cancelled with scancel once it sleeps
    # and the other job's runs are in the store
    marker = tmp_path / "slept"
    text = f'''name = "cancel"
kind = "test-sleep-once"
module = "slurm_helpers"
seeds = 4
batch = 1
[params]
sleep = 120
env = "dynaplan/DynaMaze-v0"
agent = "dyna-q"
planning_steps = 5
episodes = 3
[grid]
marker = ["", "{marker}"]
'''
    (tmp_path / "cancel.toml").write_text(text)
    # the local pool's table first (its compiled kernels are then in the cache the jobs load)
    expected = run_spec(parse_spec(text.replace("sleep = 120", "sleep = 0")), None, workers=2).table
    marker.unlink()
    assert expected.steps.min() >= 14  # ground truth: the Dyna maze's shortest path is 14 steps
    store = tmp_path / "store"
    cmd = [sys.executable, "-c", "import sys; from dynaplan.cli import main; sys.exit(main())", "run",
           str(tmp_path / "cancel.toml"), "--out", str(store), "--backend", "slurm", "--max-retries", "0",
           "--slurm", f"folder={tmp_path / 'jobs2' / '%j'}", "--slurm", "max_jobs=2", "--slurm", "result_wait=1"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "tests"), *sys.path])}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 90
    stored = store / "runs"
    while not (marker.exists() and list(stored.glob("*.parquet"))) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert marker.exists(), "the sleeping job never started"
    assert list(stored.glob("*.parquet")), "the other job's runs never reached the store"
    jobs = subprocess.run(["squeue", "-h", "-t", "RUNNING,PENDING", "-o", "%A"], capture_output=True, text=True)
    subprocess.run(["scancel", *jobs.stdout.split()], check=True)
    _, err = proc.communicate(timeout=90)
    assert proc.returncode == 2 and err.strip().splitlines()[-1].startswith("error: slurm job"), err
    resumed = subprocess.run([*cmd[:4], "--resume", "--out", str(store), "--backend", "slurm",
                              "--slurm", f"folder={tmp_path / 'jobs3' / '%j'}", "--slurm", "max_jobs=1"],
                             env=env, capture_output=True, text=True, timeout=120)
    assert resumed.returncode == 0, resumed.stderr
    assert "runs were already done" in resumed.stdout  # the runs finished before scancel were kept
    got = pd.read_parquet(store / "results.parquet")
    pd.testing.assert_frame_equal(got.reset_index(drop=True), expected.reset_index(drop=True), check_exact=True)

    # a job whose process dies (as on a node failure) is resubmitted; its rows are not lost
    import test_runner_helpers  # noqa: F401  (the kind test-die-once, importable by the jobs)

    spec = parse_spec(f"""
name = "die"
kind = "test-die-once"
module = "test_runner_helpers"
seeds = 2
batch = 2
[params]
marker = "{tmp_path / 'die'}"
""")
    (tmp_path / "die").mkdir()
    options = {"folder": str(tmp_path / "logs" / "%j"), "max_jobs": 1, "result_wait": 1}
    table = run_spec(spec, None, backend="slurm", backend_options=options, max_retries=1).table
    seeds = [int(s) for s in spec.run_seeds()]
    assert table.seed.tolist() == seeds and table.value.tolist() == [s % 7 for s in seeds]
    assert len([p for p in (tmp_path / "logs").iterdir() if p.name.isdigit()]) == 2  # died, resubmitted


def test_without_sbatch_the_slurm_backend_refuses(tmp_path: Path) -> None:
    """No silent local run and no ./dynaplan-slurm left behind: one line, exit 2."""
    from dynaplan.experiments.backends import check_backend

    for options, message in (({"timeout_min": -5}, "slurm option timeout_min must be an integer >= 1, got -5"),
                             ({"mem_gb": 0}, "slurm option mem_gb must be a positive number, got 0"),
                             ({"cluster": "local", "cpus_per_task": 1.5}, "cpus_per_task must be an integer"),
                             ({"cluster": "local", "result_wait": -1}, "result_wait must be an integer >= 0, got -1")):
        with pytest.raises(ValueError, match=message):
            check_backend("slurm", options=options)
    env = {**os.environ, "PATH": str(tmp_path / "empty"), "PYTHONPATH": os.pathsep.join(sys.path)}
    args = [sys.executable, "-c", "import sys; from dynaplan.cli import main; sys.exit(main())", "run",
            "--env", "FrozenLake-v1", "--agent", "dyna-q", "--episodes", "2", "--runs", "2",
            "--out", str(tmp_path / "out"), "--backend", "slurm"]
    result = subprocess.run([*args, "--slurm", "partition=cpu"], env=env, cwd=tmp_path, capture_output=True,
                            text=True, timeout=120)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and lines == [
        "error: the slurm backend needs SLURM's sbatch, which is not on PATH "
        "(--slurm cluster=local runs the jobs as local processes instead)"]
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # no store, no job folder
