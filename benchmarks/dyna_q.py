"""Dyna-Q speed: compiled kernels beside a plain-Python Dyna-Q doing the same work.

    python benchmarks/dyna_q.py            # full: 30 runs x 50 episodes x n = 0, 5, 50
    python benchmarks/dyna_q.py --quick    # smaller, for a smoke run

Prints (1) planning updates per second of the Dyna-Q planning kernel on the Dyna maze, (2) the
compute time of the Figure 8.2 reproduction (30 runs), each beside plain Python written the
usual way (a dict model, one step at a time, a numpy Q table), and (3) the wall time of the
whole `dynaplan reproduce dyna-maze` command from a cold process (compile cache warm).
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import tempfile
import time

import gymnasium as gym
import numpy as np

import dynaplan
from dynaplan import DynaQ, problem_of, run_agent, run_batch, run_seeds
from dynaplan.planning.dyna_q import dyna_planning
from dynaplan.rng import agent_stream


class PlainDynaQ:
    """Dyna-Q as it is usually written: dict model, Python random, numpy Q table."""

    def __init__(self, n_states, n_actions, planning_steps, alpha=0.1, epsilon=0.1, gamma=0.95, seed=0):
        self.q = np.zeros((n_states, n_actions))
        self.model: dict[tuple[int, int], tuple[float, int, bool]] = {}
        self.n, self.alpha, self.epsilon, self.gamma = planning_steps, alpha, epsilon, gamma
        self.n_actions = n_actions
        self.random = random.Random(seed)

    def act(self, s):
        if self.random.random() < self.epsilon:
            return self.random.randrange(self.n_actions)
        row = self.q[s]
        best = row.max()
        return self.random.choice(np.flatnonzero(row == best).tolist())

    def update(self, s, a, r, s2, done):
        target = r if done else r + self.gamma * self.q[s2].max()
        self.q[s, a] += self.alpha * (target - self.q[s, a])

    def plan(self, n):
        keys = list(self.model)
        for _ in range(n):
            s, a = self.random.choice(keys)
            r, s2, done = self.model[(s, a)]
            self.update(s, a, r, s2, done)

    def observe(self, s, a, r, s2, done):
        self.update(s, a, r, s2, done)
        self.model[(s, a)] = (r, s2, done)
        self.plan(self.n)


def plain_run(planning_steps, seed, episodes):
    env = gym.make("dynaplan/DynaMaze-v0")
    agent = PlainDynaQ(env.observation_space.n, env.action_space.n, planning_steps, seed=seed)
    steps = []
    obs, _ = env.reset(seed=seed)
    for _ in range(episodes):
        n = 0
        while True:
            a = agent.act(obs)
            obs2, r, term, trunc, _ = env.step(a)
            agent.observe(obs, a, r, obs2, term)
            obs, n = obs2, n + 1
            if term or trunc:
                break
        steps.append(n)
        obs, _ = env.reset()
    return steps


def planning_rate(updates: int) -> tuple[float, float]:
    problem = problem_of("dynaplan/DynaMaze-v0")
    trained = run_agent(DynaQ, {"planning_steps": 5}, problem, 0, episodes=30).agent
    q, model = trained.q.copy(), trained.model
    rng = agent_stream(1)
    dyna_planning(q, model, 1000, 0.1, 0.95, rng)  # compile / load
    t = time.perf_counter()
    dyna_planning(q, model, updates, 0.1, 0.95, rng)
    compiled = updates / (time.perf_counter() - t)

    plain = PlainDynaQ(54, 4, 0, seed=1)
    for s in range(54):
        for a in range(4):
            if model.next_state[s, a] >= 0:
                plain.model[(s, a)] = (model.reward[s, a], int(model.next_state[s, a]), bool(model.terminated[s, a]))
    n_plain = max(updates // 500, 50_000)
    t = time.perf_counter()
    plain.plan(n_plain)
    python = n_plain / (time.perf_counter() - t)
    return compiled, python


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smaller sizes (smoke run)")
    args = parser.parse_args()
    runs = 5 if args.quick else 30
    episodes = 50

    compiled, python = planning_rate(10_000_000 if args.quick else 100_000_000)
    print(f"planning updates/s (Dyna maze, one core): compiled {compiled:,.0f}  plain Python {python:,.0f}"
          f"  ratio {compiled / python:,.0f}x")

    problem = problem_of("dynaplan/DynaMaze-v0")
    seeds = run_seeds(0, runs)
    run_batch(DynaQ, {"planning_steps": 5}, problem, seeds[:1], episodes=2)  # compile / load
    t = time.perf_counter()
    for n in (0, 5, 50):
        run_batch(DynaQ, {"planning_steps": n}, problem, seeds, episodes=episodes)
    fast = time.perf_counter() - t
    t = time.perf_counter()
    for n in (0, 5, 50):
        for seed in seeds:
            plain_run(n, int(seed), episodes)
    slow = time.perf_counter() - t
    print(f"Figure 8.2 compute ({runs} runs x {episodes} episodes x n=0,5,50): compiled {fast:.3f} s"
          f"  plain Python {slow:.1f} s  ratio {slow / fast:,.0f}x")

    with tempfile.TemporaryDirectory() as tmp:
        def command(i: int) -> list[str]:
            """A fresh --out each time: into the same store, a timing would measure the resume path."""
            return [sys.executable, "-m", "dynaplan.cli", "reproduce", "dyna-maze", "--out", f"{tmp}/run-{i}"]

        subprocess.run(command(0), check=True, capture_output=True)  # warm the compile cache
        times = []
        for i in range(1, 4):
            t = time.perf_counter()
            proc = subprocess.run(command(i), check=True, capture_output=True, text=True)
            times.append(time.perf_counter() - t)
            assert "already done" not in proc.stdout, "a timing measured the resume path"
    print(f"`dynaplan reproduce dyna-maze` (30 runs, cold process, warm cache): best of 3 {min(times):.2f} s")
    print(f"dynaplan {dynaplan.__version__}, numpy {np.__version__}")


if __name__ == "__main__":
    main()
