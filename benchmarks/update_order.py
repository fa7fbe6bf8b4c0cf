"""Which updates, in what order (sections 8.5-8.7): speed of the kernels and of the figures.

    python benchmarks/update_order.py [--tasks 200]

Prints, measured in this run on this machine (one process, one core, compile excluded):
* trajectory sampling: one-step expected updates per second (uniform and on-policy, without
  evaluation) for each task setting of Figure 8.8, and the time of the whole figure at
  ``--tasks`` tasks with the exact greedy start value at 51 checkpoints per run;
* expected vs sample updates: sample updates per second (Figure 8.7's simulation);
* RTDP and Gauss-Seidel DP on the racetrack: expected updates per second.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from dynaplan.envs.racetrack import racetrack_model
from dynaplan.envs.random_mdp import random_mdp_model
from dynaplan.planning.expected_sample import sample_update_errors
from dynaplan.planning.rtdp import gauss_seidel_vi, reachable_states, rtdp
from dynaplan.planning.trajectory_sampling import on_policy_run, uniform_run
from dynaplan.rng import agent_stream, from_seed

SETTINGS = [(1000, 1, 20_000), (1000, 3, 20_000), (1000, 10, 20_000), (10_000, 1, 200_000)]


def warm_up() -> None:
    m = random_mdp_model(20, 2, 0)
    uniform_run(m, 1.0, 40, 20, 1e-10)
    on_policy_run(m, 1.0, 0.1, 40, 20, 1e-10, agent_stream(0))
    sample_update_errors(4, 8, 2, from_seed(0))
    rm = racetrack_model()
    rtdp(rm.model, agent_stream(0), max_episodes=2)
    gauss_seidel_vi(rm.model, reachable_states(rm.model), max_sweeps=1)


def update_rates(repeat: int = 5) -> None:
    print("Expected updates per second (Figure 8.8 tasks, no evaluation; best of runs):")
    for n, b, updates in SETTINGS:
        m = random_mdp_model(n, b, 1)
        big = 10 * updates
        best = {"uniform": np.inf, "on-policy": np.inf}
        for r in range(repeat):
            t0 = time.perf_counter()
            uniform_run(m, 1.0, big, big, 1e-10)
            best["uniform"] = min(best["uniform"], time.perf_counter() - t0)
            t0 = time.perf_counter()
            on_policy_run(m, 1.0, 0.1, big, big, 1e-10, agent_stream(r))
            best["on-policy"] = min(best["on-policy"], time.perf_counter() - t0)
        print(
            f"  {n:>6,} states, b = {b:>2}: uniform {big / best['uniform']:>12,.0f}/s"
            f"   on-policy {big / best['on-policy']:>12,.0f}/s"
        )


def whole_figure(tasks: int) -> None:
    print(f"Figure 8.8, {tasks} tasks x 4 settings x 2 methods, 51 exact evaluations per run:")
    total = 0.0
    evals = 0
    for n, b, updates in SETTINGS:
        t0 = time.perf_counter()
        for task in range(tasks):
            m = random_mdp_model(n, b, task)
            uniform_run(m, 1.0, updates, updates // 50, 1e-10)
            on_policy_run(m, 1.0, 0.1, updates, updates // 50, 1e-10, agent_stream(task))
        dt = time.perf_counter() - t0
        total += dt
        evals += 2 * tasks * 51
        print(f"  {n:>6,} states, b = {b:>2}: {dt:6.2f} s")
    per = 1e3 * total / evals
    print(f"  whole figure: {total:.2f} s ({evals:,} exact start values, {per:.3f} ms each incl. updates)")


def sample_rate() -> None:
    for b, runs in [(100, 100_000), (10_000, 5_000)]:
        t0 = time.perf_counter()
        sample_update_errors(b, 2 * b, runs, from_seed(0))
        dt = time.perf_counter() - t0
        print(f"Figure 8.7, b = {b:,}: {2 * b * runs / dt:,.0f} sample updates/s ({runs:,} runs, {dt:.2f} s,"
              f" incl. drawing {b * runs:,} successor values)")


def rtdp_rates() -> None:
    rm = racetrack_model()
    m = rm.model
    reach = reachable_states(m)
    t0 = time.perf_counter()
    res = rtdp(m, agent_stream(0))
    dt = time.perf_counter() - t0
    print(f"RTDP on the racetrack: {res.updates:,} updates in {res.episodes:,} episodes, {dt:.3f} s:"
          f" {res.updates / dt:,.0f} updates/s")
    t0 = time.perf_counter()
    dp = gauss_seidel_vi(m, reach, tol=1e-4)
    dt = time.perf_counter() - t0
    print(f"DP (Gauss-Seidel) on the racetrack: {dp.updates:,} updates in {dp.sweeps} sweeps, {dt:.3f} s:"
          f" {dp.updates / dt:,.0f} updates/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=200)
    args = parser.parse_args()
    warm_up()
    update_rates()
    whole_figure(args.tasks)
    sample_rate()
    rtdp_rates()


if __name__ == "__main__":
    main()
