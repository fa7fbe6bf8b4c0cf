"""Blocking and shortcut maze reproductions: compiled kernels beside plain Python, same run.

    python benchmarks/changing_mazes.py            # 30 runs per agent (the reproductions' size)
    python benchmarks/changing_mazes.py --runs 60

Prints, per maze, (1) the compute time of the whole reproduction (Dyna-Q, Dyna-Q+, action-bonus
variant; ``--runs`` runs each; alpha 1, n 10, kappa 5e-4) through the kind the CLI runs, after
one warm-up call so compilation is not counted (compile time printed apart), (2) the same
work in plain Python written the usual way (dict model, ``random``, numpy Q table, the
Gymnasium env), timed on a few runs and scaled to ``--runs`` (printed as measured and scaled),
and their ratio; then (3) the wall time of ``dynaplan reproduce NAME`` as a fresh process.
"""

from __future__ import annotations

import argparse
import math
import random
import subprocess
import sys
import tempfile
import time

import gymnasium as gym
import numpy as np

import dynaplan  # noqa: F401  (registers the envs)
from dynaplan.experiments.reproductions import changing_mazes as cm
from dynaplan.rng import run_seeds

PARAMS = {"alpha": 1.0, "epsilon": 0.1, "gamma": 0.95, "planning_steps": 10, "kappa": 5e-4, "kappa_action": 5e-4}
MAZES = {"blocking-maze": ("dynaplan/BlockingMaze-v0", 3000), "shortcut-maze": ("dynaplan/ShortcutMaze-v0", 6000)}
VARIANTS = (
    {"agent": "dyna-q"},
    {"agent": "dyna-q-plus", "bonus": "planning"},
    {"agent": "dyna-q-plus", "bonus": "action"},
)


class PlainDynaQPlus:
    """Dyna-Q / Dyna-Q+ / action-bonus variant as usually written in Python."""

    def __init__(self, n_actions, variant, seed, alpha, epsilon, gamma, planning_steps, kappa):
        self.q: dict[int, np.ndarray] = {}
        self.model: dict[tuple[int, int], tuple[float, int, bool]] = {}
        self.last: dict[tuple[int, int], int] = {}
        self.states: dict[int, list[int]] = {}
        self.variant, self.n_actions = variant, n_actions
        self.alpha, self.epsilon, self.gamma, self.n, self.kappa = alpha, epsilon, gamma, planning_steps, kappa
        self.t = 0
        self.random = random.Random(seed)

    def row(self, s):
        if s not in self.q:
            self.q[s] = np.zeros(self.n_actions)
        return self.q[s]

    def tau(self, s, a):
        return self.t - 1 - self.last[(s, a)] if (s, a) in self.last else self.t

    def act(self, s):
        if self.random.random() < self.epsilon:
            return self.random.randrange(self.n_actions)
        values = self.row(s)
        if self.variant == "action":
            values = values + self.kappa * np.sqrt([self.tau(s, a) for a in range(self.n_actions)])
        best = values.max()
        return self.random.choice(np.flatnonzero(values == best).tolist())

    def update(self, s, a, r, s2, done):
        target = r if done else r + self.gamma * self.row(s2).max()
        q = self.row(s)
        q[a] += self.alpha * (target - q[a])

    def observe(self, s, a, r, s2, done):
        self.update(s, a, r, s2, done)
        self.model[(s, a)] = (r, s2, done)
        self.last[(s, a)] = self.t
        self.states.setdefault(s, [])
        if a not in self.states[s]:
            self.states[s].append(a)
        self.t += 1
        keys = list(self.states)
        for _ in range(self.n):
            s_ = self.random.choice(keys)
            if self.variant == "planning":
                a_ = self.random.randrange(self.n_actions)
                r_, s2_, d_ = self.model.get((s_, a_), (0.0, s_, False))
                self.update(s_, a_, r_ + self.kappa * math.sqrt(self.tau(s_, a_)), s2_, d_)
            else:
                a_ = self.random.choice(self.states[s_])
                r_, s2_, d_ = self.model[(s_, a_)]
                self.update(s_, a_, r_, s2_, d_)


def plain_run(env_id, steps, variant, seed):
    env = gym.make(env_id)
    agent = PlainDynaQPlus(4, variant, seed, PARAMS["alpha"], PARAMS["epsilon"], PARAMS["gamma"],
                           PARAMS["planning_steps"], PARAMS["kappa"])
    obs, _ = env.reset(seed=seed)
    total = 0.0
    for _ in range(steps):
        a = agent.act(obs)
        obs2, r, term, trunc, _ = env.step(a)
        agent.observe(obs, a, r, obs2, term)
        total += r
        obs = obs2
        if term or trunc:
            obs, _ = env.reset()
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--plain-runs", type=int, default=2, help="plain-Python runs per agent actually timed")
    args = parser.parse_args()
    seeds = [int(s) for s in run_seeds(0, args.runs)]
    print(f"{args.runs} runs per agent x 3 agents (Dyna-Q, Dyna-Q+, action bonus); alpha 1, n 10, kappa 5e-4")
    for name, (env_id, steps) in MAZES.items():
        cells = [{"env": env_id, "steps": steps, "record_every": 10, **PARAMS, **v} for v in VARIANTS]
        t0 = time.perf_counter()
        for cell in cells:
            cm.run_cumulative_reward(cell, seeds[:1])
        warm = time.perf_counter() - t0
        t0 = time.perf_counter()
        tables = [cm.run_cumulative_reward(cell, seeds) for cell in cells]
        compiled = time.perf_counter() - t0
        updates = 3 * args.runs * steps * (PARAMS["planning_steps"] + 1)
        t0 = time.perf_counter()
        for v in VARIANTS:
            for seed in seeds[: args.plain_runs]:
                plain_run(env_id, steps, v.get("bonus", "none"), seed)
        plain_measured = time.perf_counter() - t0
        plain_scaled = plain_measured * args.runs / args.plain_runs
        rows = sum(len(t) for t in tables)
        print(f"\n{name}: {steps} steps per run, {rows} table rows, {updates:,} value updates")
        print(f"  compiled kernels : {compiled:7.3f} s  ({updates / compiled / 1e6:6.1f} M updates/s)"
              f"  [first call incl. compile/cache load: {warm:.2f} s]")
        print(f"  plain Python     : {plain_scaled:7.1f} s  (measured {plain_measured:.2f} s on {args.plain_runs} runs"
              f" per agent, scaled to {args.runs})")
        print(f"  speed-up         : {plain_scaled / compiled:7.0f} x")
    for name in MAZES:
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            proc = subprocess.run([sys.executable, "-m", "dynaplan.cli", "reproduce", name, "--runs", str(args.runs),
                                   "--out", tmp], capture_output=True, text=True)
            wall = time.perf_counter() - t0
        status = "ok" if proc.returncode == 0 else f"FAILED ({proc.returncode}): {proc.stderr.strip()[-300:]}"
        print(f"\n`dynaplan reproduce {name} --runs {args.runs}` as a fresh process: {wall:.2f} s wall, {status}")


if __name__ == "__main__":
    main()
