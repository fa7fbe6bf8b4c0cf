"""Cost per simulated step: MCTS through a simulator's snapshot / restore (Python) against the
compiled state-keyed MCTS over the same model (Taxi-v4), and the restore cost of each adapter.

    python benchmarks/simulators.py [--simulations 2000]
"""

from __future__ import annotations

import argparse
import time

import gymnasium as gym

from dynaplan.envs.simulator import DeepcopySimulator, TableSimulator, ToyTextSimulator
from dynaplan.envs.tabular import model_of
from dynaplan.rng import from_seed
from dynaplan.search.mcts import mcts_search
from dynaplan.search.simulated import simulator_mcts


def per_step(seconds: float, steps: int) -> str:
    return f"{seconds / max(steps, 1) * 1e6:9.2f} us/step ({steps} steps in {seconds:.2f} s)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--simulations", type=int, default=2000)
    args = parser.parse_args()
    env = gym.make("Taxi-v4")
    s, _ = env.reset(seed=0)
    model = model_of(env)
    kw = {"simulations": args.simulations, "c": 1.0, "gamma": 0.95, "depth": 50}
    mcts_search(model, s, key="state", evaluation="rollout", seed=0, **kw)  # compile
    t = time.perf_counter()
    compiled = mcts_search(model, s, key="state", evaluation="rollout", seed=1, **kw)
    t_compiled = time.perf_counter() - t
    rows = [("compiled MCTS over the model (Numba)", t_compiled, compiled.model_steps)]
    for label, sim in (("Python MCTS, Taxi's own step, restore s", ToyTextSimulator(env)),
                       ("Python MCTS, TableSimulator over the model", TableSimulator(model, s, from_seed(3)))):
        t = time.perf_counter()
        res = simulator_mcts(sim, seed=1, **kw)
        rows.append((label, time.perf_counter() - t, res.model_steps))
    small = {**kw, "simulations": max(args.simulations // 20, 10)}
    sim = DeepcopySimulator(env, s)
    t = time.perf_counter()
    res = simulator_mcts(sim, seed=1, **small)
    rows.append(("Python MCTS, Taxi's own step, deepcopy restore", time.perf_counter() - t, res.model_steps))
    print(f"Taxi-v4, state {s}, state-keyed UCT with uniform rollouts, depth 50")
    for label, seconds, steps in rows:
        print(f"  {label:48s} {per_step(seconds, steps)}  x{seconds / steps / (t_compiled / rows[0][2]):8.0f}")
    snap = sim.snapshot()
    t = time.perf_counter()
    for _ in range(200):
        sim.restore(snap)
    print(f"  one deepcopy restore of Taxi-v4: {(time.perf_counter() - t) / 200 * 1e3:.2f} ms "
          f"(it copies the P table: {len(env.unwrapped.P)} states)")


if __name__ == "__main__":
    main()
