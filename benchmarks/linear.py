"""Linear methods' speed: compiled kernels beside the reference Python code doing the same work.

    python benchmarks/linear.py                       # full: Figure 10.2 at 100 runs
    python benchmarks/linear.py --quick               # 20 runs
    python benchmarks/linear.py --reference DIR       # DIR/chapter10/mountain_car.py

Prints, each measured in this run (CPU time of this process, so that a loaded machine does not
inflate either side; the reproduce command's is wall time):
(1) tile-coded semi-gradient Sarsa on Mountain Car (8 tilings, alpha = 0.5/8, epsilon = 0, the
    same episodes from scratch): real steps per second of dynaplan's compiled loop beside
    ShangtongZhang's ``chapter10/mountain_car.py`` (the reference code for the book's figures;
    ``git clone https://github.com/ShangtongZhang/reinforcement-learning-an-introduction DIR``;
    default DIR: $RLAI_DIR or /tmp/rlai). Without it, a plain-Python transcription of the same
    algorithm (tiles3 port + numpy weights, below) stands in, and the line says so;
(2) the whole Figure 10.2 (3 step sizes x RUNS runs x 500 episodes) in compiled code on one
    core, and through ``dynaplan reproduce mountain-car --workers 2`` (wall time of the command);
(3) Mountain Car steps per second: a compiled loop of ``world_step`` beside a Gymnasium
    ``env.step`` loop (random actions, no time limit).

``--exact`` (with the reference found) runs the reference's own ``semi_gradient_n_step_sarsa``
with only its random source replaced: its ``np.random`` draws are taken from dynaplan's streams
(the start from the env's, ties from the agent's, as ``int(random() * k)``; none after the
goal), beside dynaplan's Sarsa on ``MountainCarWorld(float32_obs=False)``, and reports whether
the episodes are identical (they are: the reference's ``np.cos`` equals Gymnasium's ``math.cos``
on this machine, and its pairwise ``np.sum`` of 8 tile weights never changed a decision).

``--agreement-runs N`` (with the reference found) also checks Figure 10.2 against the reference:
N runs of its ``semi_gradient_n_step_sarsa`` for the first ``--agreement-episodes`` episodes
(NumPy's global seed 1000 + run) beside ``--ours-runs`` of dynaplan's (the spec's world:
float64 observations, cap 100,000), a two-sample z-test of the mean steps per block of 10
episodes per step size, and each run's mean over all episodes with 95% intervals
(``--reference-steps A.npy B.npy ...`` reuses saved reference steps, int[runs, 3, episodes],
concatenated over runs).
"""

from __future__ import annotations

import argparse
import math
import os
import subprocess
import sys
import tempfile
import time
import types
from math import floor
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from numba import njit

from dynaplan.agents.linear import Sarsa
from dynaplan.envs.continuous import MountainCarWorld, world_reset, world_step
from dynaplan.experiments.batch import linear_problem_of, run_linear_agent
from dynaplan.features import TileCoder
from dynaplan.rng import env_stream, rand, run_seeds


def load_reference(directory: str | None):  # type: ignore[no-untyped-def]
    """The reference module, or None."""
    base = Path(directory or os.environ.get("RLAI_DIR", "/tmp/rlai"))
    path = base / "chapter10" / "mountain_car.py"
    if not path.exists():
        return None
    if "tqdm" not in sys.modules:  # the reference imports tqdm for progress bars only
        stub = types.ModuleType("tqdm")
        stub.tqdm = lambda x, *a, **k: x  # type: ignore[attr-defined]
        sys.modules["tqdm"] = stub
    sys.path.insert(0, str(path.parent))
    import mountain_car  # type: ignore[import-not-found]

    return mountain_car


class PlainSarsa:
    """Semi-gradient Sarsa on Mountain Car as the reference writes it (tiles3 IHT, numpy weights)."""

    def __init__(self, alpha: float, tilings: int = 8, size: int = 2048) -> None:
        self.d: dict[tuple[int, ...], int] = {}
        self.size, self.tilings = size, tilings
        self.step_size = alpha / tilings
        self.w = np.zeros(size)
        self.ps, self.vs = tilings / 1.7, tilings / 0.14

    def tiles(self, x: float, v: float, a: int) -> list[int]:
        q = [floor(x * self.ps * self.tilings), floor(v * self.vs * self.tilings)]
        out = []
        for t in range(self.tilings):
            key = (t, (q[0] + t) // self.tilings, (q[1] + 3 * t) // self.tilings, a)
            if key not in self.d:
                self.d[key] = len(self.d) if len(self.d) < self.size else hash(key) % self.size
            out.append(self.d[key])
        return out

    def value(self, x: float, v: float, a: int) -> float:
        return 0.0 if x == 0.5 else float(np.sum(self.w[self.tiles(x, v, a)]))

    def act(self, x: float, v: float) -> int:
        vals = [self.value(x, v, a) for a in (-1, 0, 1)]
        return int(np.random.choice([i for i, q in enumerate(vals) if q == max(vals)])) - 1

    def episode(self) -> int:
        x, v = np.random.uniform(-0.6, -0.4), 0.0
        a = self.act(x, v)
        steps = 0
        while True:
            v2 = min(max(-0.07, v + 0.001 * a - 0.0025 * np.cos(3 * x)), 0.07)
            x2 = min(max(-1.2, x + v2), 0.5)
            if x2 == -1.2:
                v2 = 0.0
            steps += 1
            a2 = self.act(x2, v2)
            target = -1.0 + self.value(x2, v2, a2)
            t = self.tiles(x, v, a)
            self.w[t] += self.step_size * (target - np.sum(self.w[t]))
            if x2 == 0.5:
                return steps
            x, v, a = x2, v2, a2


@njit(cache=True)
def compiled_steps(world: MountainCarWorld, n: int, env_rng: np.ndarray, act_rng: np.ndarray) -> float:
    state = np.zeros(2)
    obs = np.zeros(2)
    world_reset(world, 0, state, obs, env_rng)
    total = 0.0
    for t in range(n):
        a = int(rand(act_rng) * 3)
        _, term = world_step(world, t, state, a, obs, env_rng)
        total += obs[0]
        if term:
            world_reset(world, t, state, obs, env_rng)
    return total


def reference_steps(ref, runs: int, episodes: int) -> np.ndarray:  # type: ignore[no-untyped-def]
    """int64[runs, 3, episodes]: steps per episode of the reference Sarsa, alpha = 0.1, 0.2, 0.5 (/8)."""
    out = np.zeros((runs, 3, episodes), dtype=np.int64)
    for run in range(runs):
        np.random.seed(1000 + run)
        for i, alpha in enumerate((0.1, 0.2, 0.5)):
            vf = ref.ValueFunction(alpha, 8)
            for e in range(episodes):
                out[run, i, e] = ref.semi_gradient_n_step_sarsa(vf)
    return out


class _Draws:
    """``np.random`` for the reference module, drawing as dynaplan's Sarsa does for ``seed``."""

    def __init__(self, seed: int) -> None:
        self.env = np.random.default_rng(seed)  # env.reset(seed=seed)'s stream
        self.agent = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(0,)))  # rng.agent_stream

    def uniform(self, low: float, high: float) -> float:
        return low + (high - low) * float(self.env.random())

    def binomial(self, n: int, p: float) -> int:
        assert p == 0.0, "the reference's Figure 10.2 uses epsilon = 0"
        return 0

    def choice(self, items: list[int]) -> int:
        return items[0] if len(items) == 1 else items[int(self.agent.random() * len(items))]


def exact_check(ref, seeds: list[int], episodes: int) -> list[tuple[float, int, bool, int]]:  # type: ignore[no-untyped-def]
    """Per (alpha, seed): the reference's episodes with dynaplan's draws against dynaplan's Sarsa on
    the float64-observed world: (alpha, seed, identical, first differing episode or 0)."""

    shim = types.SimpleNamespace(**{k: getattr(np, k) for k in ("zeros", "max", "sum", "cos", "random")})
    real_np, real_get_action = ref.np, ref.get_action

    def get_action(position: float, velocity: float, vf: Any) -> int:
        # after the goal the reference draws an action it never takes; dynaplan draws none
        return 0 if position == ref.POSITION_MAX else real_get_action(position, velocity, vf)

    feats = TileCoder([-1.2, -0.07], [0.5, 0.07], tilings=8, tiles_per_dim=8, size=1024)
    problem = linear_problem_of("MountainCar-v0", feats, max_episode_steps=0)
    problem = problem._replace(world=problem.world._replace(float32_obs=False))
    out = []
    ref.np, ref.get_action = shim, get_action
    try:
        for alpha in (0.1, 0.2, 0.5):
            for seed in seeds:
                ours = run_linear_agent(Sarsa, dict(alpha=alpha / 8, epsilon=0.0), problem, seed,
                                        episodes=episodes).episode_steps
                shim.random = _Draws(seed)
                vf = ref.ValueFunction(alpha, 8)
                theirs = np.array([ref.semi_gradient_n_step_sarsa(vf) for _ in range(episodes)])
                same = bool(np.array_equal(ours, theirs))
                out.append((alpha, seed, same, 0 if same else int(np.argmax(ours != theirs)) + 1))
    finally:
        ref.np, ref.get_action = real_np, real_get_action
    return out


Interval = tuple[float, float]


def per_run_means(ref: np.ndarray, ours: np.ndarray, first: int = 0) -> list[tuple[str, Interval, Interval, Interval]]:
    """Per alpha: (label, reference, ours, ours - reference), each (mean, 95% half-width) of
    each run's mean steps per episode over episodes ``first+1 ..``; runs are the unit."""

    def ci(x: np.ndarray) -> Interval:
        return float(x.mean()), 1.96 * float(x.std(ddof=1)) / math.sqrt(len(x))

    rows = []
    for i, label in enumerate(("0.1/8", "0.2/8", "0.5/8")):
        r, o = ref[:, i, first:].mean(axis=1), ours[:, i, first:].mean(axis=1)
        rm, rh = ci(r)
        om, oh = ci(o)
        rows.append((label, (rm, rh), (om, oh), (om - rm, math.hypot(rh, oh))))
    return rows


def agreement(ref: np.ndarray, ours: np.ndarray, block: int = 10) -> list[tuple[str, int, float, float, float]]:
    """Per (alpha, block of episodes): (alpha, first episode, reference mean, our mean, z).

    A run's block mean is the unit; z = (ours - ref) / sqrt(var_ours / n_ours + var_ref / n_ref).
    """
    rows = []
    episodes = min(ref.shape[2], ours.shape[2])
    for i, label in enumerate(("0.1/8", "0.2/8", "0.5/8")):
        for start in range(0, episodes, block):
            r = ref[:, i, start:start + block].mean(axis=1)
            o = ours[:, i, start:start + block].mean(axis=1)
            se = np.sqrt(r.var(ddof=1) / len(r) + o.var(ddof=1) / len(o))
            rows.append((label, start + 1, float(r.mean()), float(o.mean()), float((o.mean() - r.mean()) / se)))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="20 runs instead of 100")
    parser.add_argument(
        "--reference", default=None, help="checkout of ShangtongZhang/reinforcement-learning-an-introduction"
    )
    parser.add_argument("--ref-episodes", type=int, default=30, help="episodes of the reference Sarsa to time")
    parser.add_argument("--no-cli", action="store_true", help="skip timing the reproduce command")
    parser.add_argument("--agreement-runs", type=int, default=0, help="reference runs for the z-test (0: skip)")
    parser.add_argument("--agreement-episodes", type=int, default=100, help="episodes of the z-test")
    parser.add_argument("--reference-steps", nargs="*", default=None,
                        help="saved reference steps (.npy files, int[runs, 3, episodes]) for the z-test")
    parser.add_argument("--ours-runs", type=int, default=100, help="dynaplan runs for the z-test")
    parser.add_argument("--exact", type=int, default=0, metavar="EPISODES",
                        help="run the reference with dynaplan's draws for EPISODES episodes, seeds 0-2")
    parser.add_argument("--only-reference-checks", action="store_true", help="skip the timings (1)-(3)")
    args = parser.parse_args()
    runs = 20 if args.quick else 100
    feats = TileCoder([-1.2, -0.07], [0.5, 0.07], tilings=8, tiles_per_dim=8, size=1024)
    problem = linear_problem_of("MountainCar-v0", feats, max_episode_steps=0)
    params = dict(alpha=0.5 / 8, epsilon=0.0, gamma=1.0)
    run_linear_agent(Sarsa, params, problem, 0, steps=10)  # load the compiled kernels

    ref = load_reference(args.reference)
    if not args.only_reference_checks:
        # (1) the same algorithm, the same number of episodes from scratch
        n_ep = args.ref_episodes
        np.random.seed(0)
        t = time.process_time()
        ref_steps = 0
        if ref is not None:
            vf = ref.ValueFunction(0.5, 8)
            for _ in range(n_ep):
                ref_steps += ref.semi_gradient_n_step_sarsa(vf)
            label = "reference chapter10/mountain_car.py"
        else:
            plain = PlainSarsa(0.5)
            for _ in range(n_ep):
                ref_steps += plain.episode()
            label = "plain-Python transcription (reference not found)"
        ref_time = time.process_time() - t
        t = time.process_time()
        comp_steps = 0
        seeds = run_seeds(1, 20)
        for seed in seeds:
            comp_steps += run_linear_agent(Sarsa, params, problem, int(seed), episodes=n_ep).total_steps
        comp_time = time.process_time() - t
        ref_rate, comp_rate = ref_steps / ref_time, comp_steps / comp_time
        print(f"(1) Sarsa, 8 tilings, first {n_ep} episodes: {label}: {ref_rate:,.0f} steps/s "
              f"({ref_steps} steps, {ref_time:.1f} s); dynaplan: {comp_rate:,.0f} steps/s "
              f"({len(seeds)} runs, {comp_steps} steps, {comp_time:.2f} s); ratio {comp_rate / ref_rate:,.0f}x")

        # (2) Figure 10.2, in process on one core, then the reproduce command on 2 workers
        t = time.process_time()
        total = 0
        for alpha in (0.1, 0.2, 0.5):
            for seed in run_seeds(0, runs):
                run = run_linear_agent(Sarsa, dict(params, alpha=alpha / 8), problem, int(seed), episodes=500)
                total += run.total_steps
        fig_cpu = time.process_time() - t
        est_ref = total / ref_rate
        print(f"(2) Figure 10.2, {runs} runs x 500 episodes x 3 alphas: {total:,} real steps in {fig_cpu:.1f} s CPU "
              f"(one core); the same steps at the reference's rate would take {est_ref / 3600:.1f} h")
        if not args.no_cli:
            with tempfile.TemporaryDirectory() as out:
                t = time.perf_counter()
                proc = subprocess.run(
                    [sys.executable, "-m", "dynaplan.cli", "reproduce", "mountain-car", "--runs", str(runs),
                     "--workers", "2", "--out", out], capture_output=True, text=True,
                )
                wall = time.perf_counter() - t
            status = "ok" if proc.returncode == 0 else f"failed: {proc.stderr.strip().splitlines()[-1:]}"
            print(f"    dynaplan reproduce mountain-car --runs {runs} --workers 2: {wall:.1f} s wall ({status})")

        # (3) environment steps alone
        n = 200_000
        world = MountainCarWorld()
        compiled_steps(world, 10, env_stream(0), env_stream(1))
        t = time.process_time()
        compiled_steps(world, 10 * n, env_stream(0), env_stream(1))
        c_rate = 10 * n / (time.process_time() - t)
        env = gym.make("MountainCar-v0").unwrapped
        env.reset(seed=0)
        acts = np.random.default_rng(1).integers(0, 3, n).tolist()
        t = time.process_time()
        for a in acts:
            _, _, term, _, _ = env.step(a)
            if term:
                env.reset()
        g_rate = n / (time.process_time() - t)
        print(f"(3) Mountain Car steps: compiled world_step {c_rate:,.0f}/s, gymnasium env.step {g_rate:,.0f}/s; "
              f"ratio {c_rate / g_rate:,.0f}x")

    if args.exact > 0:
        if ref is None:
            print("--exact needs the reference code (--reference DIR)")
            return 2
        print(f"(4) the reference's episodes with dynaplan's draws, first {args.exact} episodes:")
        for alpha, seed, same, first in exact_check(ref, [0, 1, 2], args.exact):
            what = "identical" if same else f"differ from episode {first}"
            print(f"    alpha = {alpha}/8, seed {seed}: {what}")
    if args.reference_steps or (args.agreement_runs > 0 and ref is not None):
        ref_arr = (np.concatenate([np.load(f) for f in args.reference_steps]) if args.reference_steps
                   else reference_steps(ref, args.agreement_runs, args.agreement_episodes))
        episodes = ref_arr.shape[2]
        book = problem._replace(world=problem.world._replace(float32_obs=False), max_episode_steps=100_000)
        n_ours = args.ours_runs
        ours = np.zeros((n_ours, 3, episodes), dtype=np.int64)
        for i, alpha in enumerate((0.1, 0.2, 0.5)):
            for j, seed in enumerate(run_seeds(0, n_ours)):
                ours[j, i] = run_linear_agent(Sarsa, dict(params, alpha=alpha / 8), book, int(seed),
                                              episodes=episodes).episode_steps
        capped = (ours >= 100_000).any(axis=2)
        print(f"(5) Figure 10.2 vs the reference: {ref_arr.shape[0]} reference runs, {n_ours} dynaplan runs "
              f"(float64 observations, cap 100,000), episodes 1-{episodes}, blocks of 10 episodes")
        for i, label in enumerate(("0.1/8", "0.2/8", "0.5/8")):
            if capped[:, i].any():
                print(f"    alpha = {label}: {int(capped[:, i].sum())} of our runs have an episode at the cap "
                      "(the reference, uncapped, would not end such a run); they are left out below")
        keep = ~capped.any(axis=1)
        ours = ours[keep]
        rows = agreement(ref_arr, ours)
        print("    alpha   episodes   reference   dynaplan       z")
        for label, first, rm, om, z in rows:
            print(f"    {label}   {first:4d}-{first + 9:<4d} {rm:10.1f} {om:10.1f} {z:7.2f}")
        zs = np.array([r[4] for r in rows])
        n_out = int((np.abs(zs) > 1.96).sum())
        print(f"    |z| > 1.96 in {n_out} of {len(zs)} blocks; largest |z| {np.abs(zs).max():.2f}")
        for first, what in ((0, f"episodes 1-{episodes}"), (max(0, episodes - 50), "the last 50 episodes")):
            print(f"    each run's mean steps per episode over {what} (mean ± 95% interval over runs):")
            for label, (rm, rh), (om, oh), (dm, dh) in per_run_means(ref_arr, ours, first):
                print(f"      alpha = {label}: reference {rm:.1f} ± {rh:.1f}, dynaplan {om:.1f} ± {oh:.1f}, "
                      f"difference {dm:+.1f} ± {dh:.1f} ({100 * dm / rm:+.2f}%)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
