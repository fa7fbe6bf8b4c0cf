"""Every backend gives the identical table for the same seeds, with a user's own agent.

The agent lives in a module of the user's (written here into a temporary directory): a task
replayed in a fresh process (spawn start method, a Ray worker, a SLURM job through submitit's
local executor) must import it, as the forked local pool inherits it. Its table must equal
the one of the serial run and, as the agent is Dyna-Q with 10 planning steps by default, the
table of Dyna-Q with ``planning_steps = 10``. Ray is started once for the module.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from dynaplan.experiments.runner import run_spec
from dynaplan.experiments.spec import parse_spec
from dynaplan.experiments.store import read_manifest

MODULE = "dynaplan_test_user_agents"
AGENT_SOURCE = '''
from dynaplan.agents import DynaQ, register_agent


@register_agent
class DynaQTen(DynaQ):
    """Dyna-Q with 10 planning steps unless told otherwise."""

    name = "user-dyna-q-ten"

    @classmethod
    def check_params(cls, params):
        return super().check_params({"planning_steps": 10, **params})
'''
SPEC = f"""
name = "backends"
kind = "episodes"
module = "{MODULE}"
seeds = 6
root_seed = 21
batch = 2
[params]
env = "dynaplan/DynaMaze-v0"
agent = "user-dyna-q-ten"
episodes = 4
[grid]
alpha = [0.1, 0.5]
"""
SRC = str(Path(__file__).resolve().parents[1] / "src")


@pytest.fixture(scope="module")
def user_dir(tmp_path_factory: Any) -> Iterator[Path]:
    d = tmp_path_factory.mktemp("user")
    (d / f"{MODULE}.py").write_text(AGENT_SOURCE)
    sys.path.insert(0, str(d))
    yield d
    sys.path.remove(str(d))


@pytest.fixture(scope="module")
def spec(user_dir: Path) -> Any:
    return parse_spec(SPEC, source="backends.toml")


@pytest.fixture(scope="module")
def serial(spec: Any) -> pd.DataFrame:
    return run_spec(spec, None, workers=1).table


def cli_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    env["PYTHONPATH"] = SRC + os.pathsep + env.get("PYTHONPATH", "")
    return env


def test_ray_with_no_cluster_is_one_line_and_leaves_the_store_alone(tmp_path: Path) -> None:
    """``--address auto`` with no cluster running: one line, exit 2, the store untouched.

    (Ray's own lookup runs; only its scan for clusters of other users of this machine is
    emptied, so that the test means the same on a shared machine as in CI.)"""
    spec_file = tmp_path / "s.toml"
    spec_file.write_text(SPEC.replace(f'module = "{MODULE}"', "").replace("user-dyna-q-ten", "dyna-q"))
    out = tmp_path / "out"
    code = (
        "import functools, sys, ray._private.services as s;"
        "s.find_gcs_addresses = functools.cache(lambda: []); s.find_bootstrap_address = lambda temp_dir: None;"
        "from dynaplan.cli import main;"
        "sys.exit(main(sys.argv[1:]))"
    )
    run_spec(parse_spec(spec_file.read_text()), out, workers=1)
    before = (out / "manifest.json").read_text()
    args = ["run", str(spec_file), "--out", str(out), "--backend", "ray", "--address", "auto", "--set", "seeds=8"]
    proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=cli_env(),
                          timeout=300)
    assert proc.returncode == 2
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "no Ray cluster was found at address 'auto'" in lines[0], proc.stderr
    assert (out / "manifest.json").read_text() == before  # not "failed": not touched at all


def test_ray_address_with_nothing_listening_is_one_line_in_seconds(tmp_path: Path) -> None:
    """``--address host:port`` where nothing listens (a port bound, then closed): one line naming
    the address, exit 2, well before Ray's own retries would give up (minutes), the store as it
    was. No Ray is started: the connection is refused before Ray is imported."""
    import socket
    import time

    spec_file = tmp_path / "s.toml"
    spec_file.write_text(SPEC.replace(f'module = "{MODULE}"', "").replace("user-dyna-q-ten", "dyna-q"))
    out = tmp_path / "out"
    run_spec(parse_spec(spec_file.read_text()), out, workers=1)
    before = (out / "manifest.json").read_text()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    code = ("import sys; from dynaplan.cli import main; rc = main(sys.argv[1:]); print('ray' in sys.modules);"
            "sys.exit(rc)")
    args = ["run", str(spec_file), "--out", str(out), "--backend", "ray", "--address", f"127.0.0.1:{port}",
            "--set", "seeds=8"]
    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=cli_env(),
                          timeout=120)
    elapsed = time.monotonic() - t0
    assert proc.returncode == 2, proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and f"no Ray cluster was found at address '127.0.0.1:{port}'" in lines[0], proc.stderr
    assert "connection refused" in lines[0]
    assert proc.stdout.split()[-1] == "False"  # Ray was never imported, so never started
    assert elapsed < 30, elapsed  # the interpreter's start-up and imports; Ray alone waits minutes
    assert (out / "manifest.json").read_text() == before


def test_ray_address_probe_names_the_address_from_the_environment(monkeypatch: Any) -> None:
    """With no ``--address``, the ``RAY_ADDRESS`` Ray would join is probed and named as such;
    ``auto`` and Ray Client addresses are recognised."""
    import socket

    from dynaplan.experiments.backends import BackendError, probe_ray_address

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("RAY_ADDRESS", f"127.0.0.1:{port}")
    with pytest.raises(BackendError, match=rf"address '127.0.0.1:{port}' \(from RAY_ADDRESS\)"):
        probe_ray_address(None)
    with pytest.raises(BackendError, match=rf"address 'ray://127.0.0.1:{port}' \(connection refused"):
        probe_ray_address(f"ray://127.0.0.1:{port}")
    probe_ray_address("auto")  # Ray's own lookup: not a host:port
    with socket.socket() as listening:  # something listening: the probe lets Ray go on
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        probe_ray_address(f"127.0.0.1:{listening.getsockname()[1]}")


def test_user_agent_is_the_agent_it_says(spec: Any, serial: pd.DataFrame) -> None:
    text = SPEC.replace(f'module = "{MODULE}"', "").replace('"user-dyna-q-ten"', '"dyna-q"\nplanning_steps = 10')
    expected = run_spec(parse_spec(text), None, workers=1).table
    cols = ["alpha", "seed", "episode", "steps"]
    pd.testing.assert_frame_equal(serial[cols], expected[cols], check_exact=True)


def test_two_forked_workers(spec: Any, serial: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(run_spec(spec, None, workers=2).table, serial, check_exact=True)


def test_spawned_workers_import_the_user_module(spec: Any, serial: pd.DataFrame, monkeypatch: Any) -> None:
    monkeypatch.setenv("DYNAPLAN_START_METHOD", "spawn")
    pd.testing.assert_frame_equal(run_spec(spec, None, workers=2).table, serial, check_exact=True)


def test_submitit_local_executor_with_store_and_resume(spec: Any, serial: pd.DataFrame, tmp_path: Path) -> None:
    """SLURM's code path in submitit, jobs as local processes: 6 tasks in 2 jobs (a job array),
    into a store; then a larger spec resumes from it, running only the new seeds."""
    options = {"cluster": "local", "folder": str(tmp_path / "logs" / "%j"), "max_jobs": 2, "timeout_min": 5}
    out = run_spec(spec, tmp_path / "store", backend="slurm", backend_options=options)
    pd.testing.assert_frame_equal(out.table, serial, check_exact=True)
    assert (out.runs_done, out.runs_reused) == (12, 0)
    jobs = [p for p in (tmp_path / "logs").iterdir() if p.name.isdigit()]
    assert len(jobs) == 2  # batches of seeds per job, not a job per run
    bigger = spec.with_overrides({"seeds": 8})
    again = run_spec(bigger, tmp_path / "store", backend="slurm", backend_options={**options, "max_jobs": 1})
    assert (again.runs_done, again.runs_reused) == (4, 12)
    pd.testing.assert_frame_equal(again.table, run_spec(bigger, None, workers=1).table, check_exact=True)
    assert (read_manifest(tmp_path / "store") or {}).get("status") == "done"


def test_a_failed_slurm_job_is_resubmitted(tmp_path: Path) -> None:
    """A job whose process dies (as on a node failure) is resubmitted; its rows are not lost.
    (submitit waits ``result_wait`` seconds, 15 by default, for the result file of a job that
    ended, for slow shared file systems; local processes write to this disk: 1 s.)"""
    import test_runner_helpers  # noqa: F401  (the kind test-die-once, importable by the jobs)

    spec = parse_spec(f"""
name = "die"
kind = "test-die-once"
module = "test_runner_helpers"
seeds = 2
batch = 2
[params]
marker = "{tmp_path}"
""")
    options = {"cluster": "local", "folder": str(tmp_path / "logs" / "%j"), "max_jobs": 1, "result_wait": 1}
    table = run_spec(spec, None, backend="slurm", backend_options=options, max_retries=1).table
    seeds = [int(s) for s in spec.run_seeds()]
    assert table.seed.tolist() == seeds and table.value.tolist() == [s % 7 for s in seeds]
    assert len([p for p in (tmp_path / "logs").iterdir() if p.name.isdigit()]) == 2  # died, resubmitted


def test_slurm_options_are_checked(spec: Any) -> None:
    with pytest.raises(ValueError, match=r"^slurm options: .*bogus"):
        run_spec(spec, None, backend="slurm", backend_options={"cluster": "local", "bogus_thing": 1})
    with pytest.raises(ValueError, match="slurm options are for the slurm backend"):
        run_spec(spec, None, backend_options={"partition": "x"})


@pytest.fixture(scope="module")
def ray_instance(user_dir: Path) -> Iterator[Any]:
    import logging

    import ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR)
    yield ray
    ray.shutdown()


# Ray starts its processes with subprocess (fork then exec at once) and a preexec_fn, which runs
# JAX's before-fork warning when this test process has imported JAX; nothing forks with JAX running.
@pytest.mark.filterwarnings("ignore:os.fork\\(\\) was called:RuntimeWarning")
def test_ray_workers_import_the_user_module(spec: Any, serial: pd.DataFrame, ray_instance: Any) -> None:
    pd.testing.assert_frame_equal(run_spec(spec, None, backend="ray").table, serial, check_exact=True)


def test_one_cell_form_with_module(user_dir: Path, tmp_path: Path) -> None:
    """``dynaplan run --module M --agent NAME ...``: the user's agent from the current directory."""
    args = ["--module", MODULE, "--agent", "user-dyna-q-ten", "--env", "dynaplan/DynaMaze-v0", "--episodes", "3",
            "--runs", "4", "--workers", "2", "--out", str(tmp_path / "out")]
    code = "import sys; from dynaplan.cli import main; sys.exit(main(sys.argv[1:]))"
    proc = subprocess.run([sys.executable, "-c", code, "run", *args], capture_output=True, text=True,
                          env={**cli_env(), "DYNAPLAN_START_METHOD": "spawn"}, cwd=user_dir, timeout=300)
    assert proc.returncode == 0, proc.stderr
    table = pd.read_parquet(tmp_path / "out" / "results.parquet")
    from dynaplan.experiments.spec import Spec

    plain = Spec(name="x", kind="episodes", seeds=4, params={"env": "dynaplan/DynaMaze-v0", "agent": "dyna-q",
                                                             "planning_steps": 10, "episodes": 3})
    expected = run_spec(plain, None, workers=1).table
    assert table.steps.tolist() == expected.steps.tolist()


# -- the compile cache and a user's kernels ------------------------------------------------------
HELPER = """
from numba import njit


@njit(cache=True)
def pick():
    return 1
"""
KERNELS = """
from typing import NamedTuple

import numpy as np
from numba import njit{extra_import}

from dynaplan import TabularAgent, register_kernels


class ConstState(NamedTuple):
    q: np.ndarray


@njit{cache}
def const_act(agent, s, rng):
    return {pick}


@njit{cache}
def const_observe(agent, s, a, r, s2, terminated, truncated, rng):
    agent.q[s, a] += r


register_kernels(ConstState, act=const_act, observe=const_observe)


class Const(TabularAgent):
    name = "const"

    @classmethod
    def check_params(cls, params):
        return {{}}

    @classmethod
    def build_state(cls, n_states, n_actions, model, params):
        return ConstState(np.zeros((n_states, n_actions)))
"""
USE = """
import gymnasium as gym
from dynaplan import problem_of, run_agent

agent = Const(gym.make("FrozenLake-v1"), seed=0)
res = run_agent(Const, {}, problem_of("FrozenLake-v1"), 0, episodes=1)
print(agent.act(0), set(res.agent.q.nonzero()[1].tolist()) <= {agent.act(0)})
"""


def run_python(code: str, cwd: Path, *args: str, stdin: str | None = None) -> str:
    env = {**cli_env(), "NUMBA_CACHE_DIR": str(cwd / "numba-cache")}
    env["PYTHONPATH"] = str(cwd) + os.pathsep + env["PYTHONPATH"]
    proc = subprocess.run([sys.executable, *args, code] if stdin is None else [sys.executable, "-"], input=stdin,
                          capture_output=True, text=True, env=env, cwd=cwd, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout.split()[-2] + " " + proc.stdout.split()[-1]


def test_editing_a_helper_of_a_user_kernel_recompiles(tmp_path: Path) -> None:
    """The user's kernel calls ``helper_mod.pick()``; editing only the helper's file must change
    what both the object API and the compiled runner do in the next process."""
    (tmp_path / "helper_mod.py").write_text(HELPER)
    (tmp_path / "user_kernels.py").write_text(KERNELS.format(extra_import="\n\nimport helper_mod", cache="(cache=True)",
                                                             pick="helper_mod.pick()"))
    code = "from user_kernels import Const" + USE
    assert run_python(code, tmp_path, "-c") == "1 True"
    (tmp_path / "helper_mod.py").write_text(HELPER.replace("return 1", "return 3"))
    assert run_python(code, tmp_path, "-c") == "3 True"


@pytest.mark.parametrize("where", ["-c", "stdin"])
def test_kernels_without_a_source_file_run_uncached(tmp_path: Path, where: str) -> None:
    code = KERNELS.format(extra_import="", cache="", pick="2") + USE
    out = run_python(code, tmp_path, "-c") if where == "-c" else run_python("", tmp_path, stdin=code)
    assert out == "2 True"


# -- wrappers: the compiled runner steps the unwrapped model, so it must refuse what it cannot apply --
def test_wrappers_that_change_the_problem_are_refused_by_name() -> None:
    import gymnasium as gym
    from gymnasium.wrappers import RecordEpisodeStatistics, TransformReward

    from dynaplan import problem_of

    with pytest.raises(ValueError, match="wrapped in TransformReward"):
        problem_of(TransformReward(gym.make("FrozenLake-v1"), lambda r: 10.0 * r))

    class Mine(gym.Wrapper):  # a user's wrapper may change anything
        pass

    with pytest.raises(ValueError, match="wrapped in Mine"):
        problem_of(Mine(gym.make("FrozenLake-v1")))
    assert problem_of(RecordEpisodeStatistics(gym.make("FrozenLake-v1"))).max_episode_steps == 100


def test_time_limit_carries_into_the_runner() -> None:
    """The runner truncates where Gymnasium's TimeLimit does: the object API through the wrapper
    and ``run_agent`` on ``problem_of`` of the same wrapped env agree step for step."""
    import gymnasium as gym
    from gymnasium.wrappers import TimeLimit

    from dynaplan import DynaQ, problem_of, run_agent

    env = TimeLimit(gym.make("FrozenLake-v1"), 7)
    assert problem_of(env).max_episode_steps == 7
    assert problem_of(TimeLimit(gym.make("FrozenLake-v1"), 500)).max_episode_steps == 100  # the inner one ends first
    agent = DynaQ(env, planning_steps=3, seed=11)
    steps = [agent.run_episode(env, seed=11)[0]] + [agent.run_episode(env)[0] for _ in range(29)]
    res = run_agent(DynaQ, {"planning_steps": 3}, problem_of(env), 11, episodes=30)
    assert max(steps) == 7 and res.episode_steps.tolist() == steps



def test_workers_get_the_users_paths_absolute(monkeypatch: Any, tmp_path: Path) -> None:
    """A Ray worker or a SLURM job may start in another directory: the paths it is given are the
    submitting process's own (not site-packages), absolute, ``""`` (the directory the user ran in,
    as ``python -c`` and ``python -m`` put it) made the current directory, each once."""
    from dynaplan.experiments.backends import _user_paths

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", ["", "mine", "/usr/lib/python3/dist-packages", "/x/site-packages/y",
                                      str(tmp_path), "/opt/lib"])
    assert _user_paths() == [str(tmp_path), str(tmp_path / "mine"), "/opt/lib"]
