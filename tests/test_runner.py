"""The runner: one spec gives identical tables with 1 worker, 2 workers and on Ray; each run is a
pure function of (cell, seed), equal to running that seed alone; a dying worker is survived."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import test_runner_helpers  # noqa: F401  (registers the kind test-die-once)
from dynaplan.agents import AGENTS
from dynaplan.experiments.batch import problem_of, run_agent
from dynaplan.experiments.runner import run_cells, run_spec
from dynaplan.experiments.spec import parse_spec
from dynaplan.rng import run_seeds

SPEC = """
name = "small"
kind = "episodes"
seeds = 6
root_seed = 3
batch = 2
[params]
env = "dynaplan/DynaMaze-v0"
episodes = 3
[grid]
planning_steps = [0, 5]
[[cells]]
agent = "dyna-q"
alpha = 0.5
[[cells]]
agent = "q-planning"
alpha = 0.5
"""


@pytest.fixture(scope="module")
def spec() -> Any:
    return parse_spec(SPEC, source="small.toml")


@pytest.fixture(scope="module")
def serial(spec: Any) -> pd.DataFrame:
    return run_spec(spec, None, workers=1).table


def test_rows_are_the_runs_of_each_seed_alone(spec: Any, serial: pd.DataFrame) -> None:
    seeds = [int(s) for s in run_seeds(3, 6)]
    problem = problem_of("dynaplan/DynaMaze-v0")
    assert len(serial) == 4 * 6 * 3
    for cell in spec.expand():
        mine = serial[(serial.agent == cell["agent"]) & (serial.planning_steps == cell["planning_steps"])]
        assert list(dict.fromkeys(mine.seed)) == seeds  # plan order: seeds in order
        params = {"alpha": 0.5, "planning_steps": cell["planning_steps"]}
        for seed in (seeds[0], seeds[-1]):
            alone = run_agent(AGENTS[cell["agent"]], params, problem, seed, episodes=3)
            assert mine[mine.seed == seed].steps.tolist() == alone.episode_steps.tolist()
    # ground truth: no episode is shorter than the maze's shortest path (14 steps)
    assert serial.steps.min() >= 14


def test_two_workers_give_the_identical_table(spec: Any, serial: pd.DataFrame) -> None:
    pooled = run_spec(spec, None, workers=2).table
    pd.testing.assert_frame_equal(pooled, serial, check_exact=True)


# Ray starts its processes with subprocess (fork then exec at once) and a preexec_fn, which runs
# JAX's before-fork warning when this test process has imported JAX; nothing forks with JAX running.
@pytest.mark.filterwarnings("ignore:os.fork\\(\\) was called:RuntimeWarning")
def test_ray_gives_the_identical_table_and_retries_dead_workers(spec: Any, serial: pd.DataFrame,
                                                                tmp_path: Path) -> None:
    import ray

    here = str(Path(__file__).parent)  # workers import test_runner_helpers (the dying kind) from here
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"PYTHONPATH": os.pathsep.join([here, os.environ.get("PYTHONPATH", "")])}})
    try:
        on_ray = run_spec(spec, None, backend="ray").table
        dying = run_cells("test-die-once", [{"marker": str(tmp_path)}], list(range(4)), batch_size=2, backend="ray")
    finally:
        ray.shutdown()
    pd.testing.assert_frame_equal(on_ray, serial, check_exact=True)
    assert dying.seed.tolist() == [0, 1, 2, 3] and dying.value.tolist() == [0, 1, 2, 3]
    assert len(list(tmp_path.iterdir())) == 2  # both tasks' workers died once; Ray re-ran them


def test_batch_size_does_not_change_the_table(spec: Any, serial: pd.DataFrame) -> None:
    other = run_spec(spec.with_overrides({"batch": 5}), None, workers=1).table
    pd.testing.assert_frame_equal(other, serial, check_exact=True)


# -- a worker that dies ----------------------------------------------------------------------
def test_local_pool_survives_a_dying_worker(tmp_path: Path) -> None:
    seeds = list(range(4))
    table = run_cells("test-die-once", [{"marker": str(tmp_path)}], seeds, batch_size=2, workers=2)
    assert table.seed.tolist() == seeds and table.value.tolist() == [s % 7 for s in seeds]
    assert len(list(tmp_path.iterdir())) == 2  # every batch died once and was re-run


def test_grid_keys_become_columns() -> None:
    spec = parse_spec(
        'name = "g"\nkind = "episodes"\nseeds = 2\n[params]\nenv = "dynaplan/DynaMaze-v0"\nagent = "q-learning"\n'
        'episodes = 2\n[grid]\nalpha = [0.5, 0.25]\nq_init = [0, 1]\n'
    )
    table = run_spec(spec, None, workers=1).table
    assert list(table.columns[:2]) == ["alpha", "q_init"]
    assert table.groupby(["alpha", "q_init"]).size().to_dict() == {(0.25, 0): 4, (0.25, 1): 4, (0.5, 0): 4, (0.5, 1): 4}
    assert table.alpha.dtype == np.float64 and table.q_init.dtype == np.int64
