"""The cost of the one agent protocol: tabular as a specialisation vs one-hot linear, and the
object API's input checks.

    python benchmarks/protocol.py [--runs 10] [--episodes 50]

(1) Q-learning on the Dyna maze, compiled runner: the tabular family (a state index per step)
beside the linear family's ``LinearQLearning`` on ``OneHot`` features, which computes the same
episodes bit for bit (``tests/test_linear.py``). Real steps per second of each, and the ratio:
why the tabular family stays a specialisation behind the protocol rather than one-hot features.
(2) Object API: ``observe`` calls per second (every input checked in ``core.agent.Agent``).
Run both on the same machine in the same process; on a shared machine, read the ratios.
"""

from __future__ import annotations

import argparse
import time

import gymnasium as gym
import numpy as np

import dynaplan  # noqa: F401  (registers the envs)
from dynaplan import LinearQLearning, QLearning, problem_of, run_agent


def steps_per_second(cls: type, runs: int, episodes: int) -> tuple[float, int]:
    problem = problem_of("dynaplan/DynaMaze-v0", agent=cls)
    run_agent(cls, {}, problem, 0, episodes=1)  # compile / load
    t0, steps = time.perf_counter(), 0
    for seed in range(runs):
        steps += run_agent(cls, {}, problem, seed, episodes=episodes).total_steps
    return steps / (time.perf_counter() - t0), steps


def observe_rate(n: int = 200_000) -> float:
    agent = QLearning(gym.make("dynaplan/DynaMaze-v0"), seed=0)
    agent.observe(0, 1, 0.0, 1, False, False)
    t0 = time.perf_counter()
    for i in range(n):
        agent.observe(i % 40, i % 4, 0.0, (i + 1) % 40, False, False)
    return n / (time.perf_counter() - t0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--episodes", type=int, default=50)
    args = parser.parse_args()
    tab, tab_steps = steps_per_second(QLearning, args.runs, args.episodes)
    lin, lin_steps = steps_per_second(LinearQLearning, args.runs, args.episodes)
    assert tab_steps == lin_steps, "one-hot linear Q-learning must take the same steps as tabular"
    print(f"compiled runner, Q-learning, Dyna maze, {args.runs} runs x {args.episodes} episodes ({tab_steps:,} steps):")
    print(f"  tabular family (state index): {tab:12,.0f} steps/s")
    print(f"  linear family, one-hot:       {lin:12,.0f} steps/s   tabular / one-hot = {tab / lin:.2f}x")
    print(f"object API: QLearning.observe, inputs checked: {observe_rate():,.0f} calls/s")
    print(f"(numpy {np.__version__}; a shared machine: compare the ratio)")


if __name__ == "__main__":
    main()
