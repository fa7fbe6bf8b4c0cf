"""Sweep throughput: 3 agents x 4 step sizes x 100 seeds on the Dyna maze.

Runs per second of the same sweep
  * with 1 local worker and with 2 local workers (``run_spec``, through the result store; the
    best of ``--repeat`` timings, the machine being shared),
  * on a local Ray instance (``--backend ray``, 2 CPUs),
  * in a plain Python loop: dict model, NumPy Q table, the Gymnasium env stepped one step at a
    time (run on a few seeds per cell: runs/s is the figure compared),
and the scaling efficiency ``rate(k workers) / (k * rate(1 worker))``, also relative to the
parallel capacity the (possibly shared) machine offers at that moment: the work two busy
processes get done, in cores.

Agents: Q-learning, Dyna-Q and Dyna-Q+ (both ``planning_steps`` = 10, Dyna-Q+ kappa = 1e-3),
alpha in {0.05, 0.1, 0.2, 0.4}, epsilon 0.1, gamma 0.95, 50 episodes per run (as Figure 8.2). Kernels are
loaded (compiled if needed) before any timing, on Ray too.

    python benchmarks/sweep.py [--seeds 100] [--episodes 50] [--python-seeds 4] [--repeat 3] [--no-ray]
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

import dynaplan  # noqa: F401  (registers the envs)
from dynaplan.experiments.runner import run_spec, total_runs
from dynaplan.experiments.spec import Spec, validate_spec

ALPHAS = [0.05, 0.1, 0.2, 0.4]
AGENTS: list[dict[str, Any]] = [
    {"agent": "q-learning"},
    {"agent": "dyna-q", "planning_steps": 10},
    {"agent": "dyna-q-plus", "planning_steps": 10, "kappa": 1e-3},
]


def sweep(seeds: int, episodes: int, batch: int) -> Spec:
    return validate_spec(Spec(
        name="bench-sweep", kind="episodes", seeds=seeds, root_seed=0, batch=batch,
        params={"env": "dynaplan/DynaMaze-v0", "episodes": episodes, "epsilon": 0.1, "gamma": 0.95},
        grid={"alpha": ALPHAS}, cells=tuple(AGENTS), source="benchmarks/sweep.py",
    ))


def timed(spec: Spec, **kwargs: Any) -> tuple[float, Any]:
    out = Path(tempfile.mkdtemp(prefix="dynaplan-bench-"))
    try:
        t0 = time.perf_counter()
        result = run_spec(spec, out, **kwargs)
        return time.perf_counter() - t0, result.table
    finally:
        shutil.rmtree(out, ignore_errors=True)


def best_of(repeat: int, spec: Spec, **kwargs: Any) -> tuple[float, Any]:
    """The shortest of ``repeat`` timings (the machine may be shared) and the table."""
    runs = [timed(spec, **kwargs) for _ in range(max(1, repeat))]
    return min(r[0] for r in runs), runs[0][1]


# -- the plain Python loop ----------------------------------------------------------------------
def python_run(cell: dict[str, Any], seed: int, episodes: int) -> list[int]:
    """One run of Q-learning / Dyna-Q / Dyna-Q+ in plain Python: steps per episode."""
    env = gym.make("dynaplan/DynaMaze-v0").unwrapped
    n_s, n_a = int(env.observation_space.n), int(env.action_space.n)  # type: ignore[attr-defined]
    rng = np.random.default_rng(seed)
    q = np.zeros((n_s, n_a))
    model: dict[tuple[int, int], tuple[float, int, bool]] = {}
    last_tried: dict[tuple[int, int], int] = {}
    visited: list[int] = []
    seen: set[int] = set()
    alpha, eps, gamma = float(cell["alpha"]), 0.1, 0.95
    n = int(cell.get("planning_steps", 0))
    kappa = float(cell.get("kappa", 0.0))
    plus = cell["agent"] == "dyna-q-plus"
    t = 0
    steps_per_episode = []
    s, _ = env.reset(seed=seed)
    for _ in range(episodes):
        steps = 0
        while True:
            if rng.random() < eps:
                a = int(rng.integers(n_a))
            else:
                row = q[s]
                a = int(rng.choice(np.flatnonzero(row == row.max())))
            s2, r, term, trunc, _ = env.step(a)
            t += 1
            steps += 1
            q[s, a] += alpha * (r + (0.0 if term else gamma * q[s2].max()) - q[s, a])
            model[(s, a)] = (float(r), int(s2), bool(term))
            last_tried[(s, a)] = t
            if s not in seen:
                seen.add(s)
                visited.append(s)
            keys = list(model) if n and not plus else None
            for _ in range(n):
                if plus:  # a visited state, any action; untried = self-loop, reward 0
                    ps = visited[int(rng.integers(len(visited)))]
                    pa = int(rng.integers(n_a))
                    pr, ps2, pterm = model.get((ps, pa), (0.0, ps, False))
                    pr += kappa * math.sqrt(t - last_tried.get((ps, pa), 0))
                else:
                    assert keys is not None
                    ps, pa = keys[int(rng.integers(len(keys)))]
                    pr, ps2, pterm = model[(ps, pa)]
                q[ps, pa] += alpha * (pr + (0.0 if pterm else gamma * q[ps2].max()) - q[ps, pa])
            s = s2
            if term or trunc:
                s, _ = env.reset()
                break
        steps_per_episode.append(steps)
    return steps_per_episode


def _spin(seconds: float) -> int:
    end, n = time.perf_counter() + seconds, 0
    while time.perf_counter() < end:
        n += 1
    return n


def parallel_capacity(seconds: float = 0.5) -> float:
    """How many cores' worth of work 2 processes get done right now (2.0 on an idle machine)."""
    import multiprocessing as mp

    one = _spin(seconds)
    with mp.get_context("fork").Pool(2) as pool:
        two = sum(pool.map(_spin, [seconds, seconds]))
    return two / one


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, default=100)
    ap.add_argument("--episodes", type=int, default=50)
    ap.add_argument("--batch", type=int, default=10, help="seeds per task")
    ap.add_argument("--python-seeds", type=int, default=4, help="seeds per cell for the plain Python loop")
    ap.add_argument("--repeat", type=int, default=3, help="time each backend this many times, keep the best")
    ap.add_argument("--no-ray", action="store_true")
    args = ap.parse_args()

    spec = sweep(args.seeds, args.episodes, args.batch)
    n_runs = total_runs(spec)
    print(f"sweep: 3 agents x {len(ALPHAS)} alphas x {args.seeds} seeds = {n_runs} runs of {args.episodes} episodes "
          f"(batches of {args.batch} seeds); load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    run_spec(sweep(2, args.episodes, 1), None, workers=1)  # load (or compile) every kernel
    before = parallel_capacity()

    rates: dict[str, float] = {}
    reference = None
    for label, kwargs in (("1 worker", {"workers": 1}), ("2 workers", {"workers": 2})):
        seconds, table = best_of(args.repeat, spec, **kwargs)
        rates[label] = n_runs / seconds
        if reference is None:
            reference = table
        assert table.equals(reference), f"{label}: a different table"
        print(f"  {label:<12} {seconds:7.2f} s  {rates[label]:8.1f} runs/s")
    if not args.no_ray:
        import ray

        t0 = time.perf_counter()
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
        start = time.perf_counter() - t0
        try:
            run_spec(sweep(4, args.episodes, 1), None, backend="ray")  # workers load the kernels
            seconds, table = best_of(args.repeat, spec, backend="ray")
        finally:
            ray.shutdown()
        rates["ray (2 CPUs)"] = n_runs / seconds
        assert table.equals(reference), "ray: a different table"
        print(f"  {'ray (2 CPUs)':<12} {seconds:7.2f} s  {rates['ray (2 CPUs)']:8.1f} runs/s"
              f"   (ray.init {start:.1f} s, not counted)")

    cells = spec.expand()
    t0 = time.perf_counter()
    py_runs = 0
    for cell in cells:
        for seed in spec.run_seeds()[: args.python_seeds]:
            python_run(cell, seed, args.episodes)
            py_runs += 1
    py_seconds = time.perf_counter() - t0
    rates["python loop"] = py_runs / py_seconds
    print(f"  {'python loop':<12} {py_seconds:7.2f} s  {rates['python loop']:8.1f} runs/s   ({py_runs} runs: "
          f"{args.python_seeds} seeds per cell; the whole sweep would take {n_runs / rates['python loop']:.0f} s)")

    one = rates["1 worker"]
    print(f"speed-up over the plain Python loop: 1 worker {one / rates['python loop']:.0f}x, "
          f"2 workers {rates['2 workers'] / rates['python loop']:.0f}x")
    print(f"scaling efficiency: 2 workers {rates['2 workers'] / (2 * one):.0%}", end="")
    if "ray (2 CPUs)" in rates:
        print(f", ray on 2 CPUs {rates['ray (2 CPUs)'] / (2 * one):.0%}")
    else:
        print()
    after = parallel_capacity()
    print(f"the machine's parallel capacity (2 busy processes, in cores' worth of work): {before:.2f} before, "
          f"{after:.2f} after the timings (load average {os.getloadavg()[0]:.1f}; 2.00 on an idle machine)")


if __name__ == "__main__":
    main()
