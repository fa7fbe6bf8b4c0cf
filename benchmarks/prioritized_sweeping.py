"""Prioritized sweeping vs Dyna-Q: updates per second at each maze size, and the queue's cost.

    python benchmarks/prioritized_sweeping.py [--steps 100000]

1. The priority queue alone (``planning.pqueue``): a pop and a push at a steady queue length N,
   for N = 16 .. 65,536: ns per (pop + push) against log2 N. A binary heap should cost a + b log N.
2. Both agents in the scaled Dyna mazes of Example 8.4 (47 .. 6,016 open cells), n = 5,
   alpha = 0.5: a few untimed episodes (so values flow and the queue fills; compile time is
   excluded by a warm-up maze), then a fixed number of real steps timed in the compiled runner
   (``core.loop.run_loop``): Q updates per second, ns per update (acting and real steps
   included), updates per real step; then as many untimed steps recording prioritized
   sweeping's queue length after each (its mean is the column ``mean queue``). Dyna-Q's update
   is O(1); prioritized sweeping's adds a pop, the predecessors' priorities and their pushes,
   O(log queue length) each.
All figures are measured in the same run, on the same machine, one core.
"""

from __future__ import annotations

import argparse
import math
import time
from typing import Any

import numpy as np
from numba import njit

import dynaplan
from dynaplan.agents import DynaQ, PrioritizedSweeping
from dynaplan.core.kernels import act, observe
from dynaplan.core.loop import run_loop
from dynaplan.envs.scaled_maze import BOOK_SCALES, ScaledMaze
from dynaplan.envs.tabular import make_world, world_reset, world_step
from dynaplan.planning.pqueue import new_pair_queue, pq_pop, pq_push
from dynaplan.rng import agent_stream, env_stream, from_seed, rand, randint


@njit(cache=True)
def queue_churn(pq: Any, n_fill: int, n_ops: int, n_pairs: int, rng: np.ndarray) -> None:
    for i in range(n_fill):
        pq_push(pq, i, rand(rng))
    for _ in range(n_ops):
        pair, p = pq_pop(pq)
        # Re-queue some pair not in the queue (the popped one, or a fresh one) with a new priority.
        j = randint(rng, n_pairs)
        if pq.pos[j] >= 0:
            j = pair
        pq_push(pq, j, p * rand(rng) + rand(rng) * 0.5)


@njit(cache=True)
def steps_with_queue(world: Any, agent: Any, queue_size: np.ndarray, arng: np.ndarray, erng: np.ndarray,
                     s: int, t0: int, n_steps: int, until_episodes: int) -> tuple[int, int, float]:
    """Real steps from state ``s`` at time ``t0``: ``n_steps`` of them, or (if ``until_episodes``
    > 0) until that many episodes end. Returns (state, time, mean queue length after a step)."""
    total = 0.0
    episodes = 0
    t = t0
    while True:
        if until_episodes > 0 and episodes >= until_episodes:
            break
        if until_episodes <= 0 and t - t0 >= n_steps:
            break
        a = act(agent, s, arng)
        s2, r, done = world_step(world, t, s, a, erng)
        t += 1
        observe(agent, s, a, r, s2, done, False, arng)
        total += queue_size[0]
        if done:
            episodes += 1
            s = world_reset(world, t, erng)
        else:
            s = s2
    return s, t, total / max(t - t0, 1)


def clone(state: Any) -> Any:
    """A deep copy of a kernel state (NamedTuples of arrays and scalars)."""
    if isinstance(state, np.ndarray):
        return state.copy()
    if isinstance(state, tuple) and hasattr(state, "_fields"):
        return type(state)(*(clone(v) for v in state))
    return state


def bench_queue() -> None:
    print("1. Priority queue alone: one pop + one push at steady length N (best of 3)")
    print(f"{'N':>8} {'log2 N':>7} {'ns/(pop+push)':>14} {'ns / log2 N':>12}")
    rows = []
    queue_churn(new_pair_queue(64), 16, 100, 64, from_seed(0))  # compile
    for e in range(4, 17, 2):
        n = 2**e
        pairs = 4 * n
        ops = 2_000_000
        best = math.inf
        for rep in range(3):  # the best of 3: the machine is shared, the minimum is the cost
            pq = new_pair_queue(pairs)
            t0 = time.perf_counter()
            queue_churn(pq, n, ops, pairs, from_seed(e + 100 * rep))
            best = min(best, time.perf_counter() - t0)
        ns = best / ops * 1e9  # the initial fill (n pushes) is included; small next to 2M ops
        rows.append((e, ns))
        print(f"{n:>8} {e:>7} {ns:>14.1f} {ns / e:>12.2f}")
    x = np.array([r[0] for r in rows], float)
    y = np.array([r[1] for r in rows])
    b, a = np.polyfit(x, y, 1)
    resid = float(np.max(np.abs(a + b * x - y) / y))
    print(f"   fit: ns = {a:.1f} + {b:.2f} * log2 N   (max relative residual {resid:.1%})")


def bench_agents(n_steps: int, warm_episodes: int) -> None:
    print(f"\n2. Agents in scaled Dyna mazes, n = 5, alpha = 0.5, theta = 1e-8 (seed 0): after {warm_episodes} "
          f"episodes (untimed), {n_steps:,} timed real steps")
    print(f"{'states':>7} {'DynaQ upd/s':>12} {'ns/upd':>7} {'PS upd/s':>11} {'ns/upd':>7} "
          f"{'PS upd/step':>11} {'mean queue':>10} {'log2 q':>6} {'PS/DQ ns':>8}")
    results = []
    for warm, scale in [(True, (1, 1)), *[(False, k) for k in BOOK_SCALES]]:
        env = ScaledMaze(scale=scale)
        world = make_world([env.model])
        states = env.layout.n_open
        out: dict[str, tuple[float, float, float, float]] = {}
        for cls, params in ((DynaQ, {"planning_steps": 5, "alpha": 0.5}),
                            (PrioritizedSweeping, {"planning_steps": 5, "alpha": 0.5, "theta": 1e-8})):
            checked = cls.check_params(params)
            st = cls.build_state(env.model.n_states, env.model.n_actions, None, checked)
            arng, erng = agent_stream(0), env_stream(0)
            empty_i, empty_f = np.zeros(0, dtype=np.int64), np.zeros(0)
            # untimed: the first episodes (values flow back from the goal, the queue fills)
            run_loop(world, st, arng, erng, 1 if warm else warm_episodes, 0, 0, empty_i, empty_f, empty_f)
            before = int(st.updates[0]) if hasattr(st, "updates") else 0
            steps = 1000 if warm else n_steps
            replay = (clone(st), arng.copy(), erng.copy())
            t0 = time.perf_counter()
            run_loop(world, st, arng, erng, 0, steps, 0, empty_i, empty_f, empty_f)  # the compiled runner
            dt = time.perf_counter() - t0
            updates = int(st.updates[0]) - before if hasattr(st, "updates") else steps * 6
            # untimed: replay the same steps from a copy, recording the queue length after each
            st2, arng2, erng2 = replay
            qsize2 = st2.queue.size if hasattr(st2, "queue") else np.zeros(1, dtype=np.int64)
            s0 = world_reset(world, 0, erng2)
            _, _, mean_q = steps_with_queue(world, st2, qsize2, arng2, erng2, s0, 0, steps, 0)
            if hasattr(st2, "updates"):
                assert int(st2.updates[0]) == int(st.updates[0]), "replay diverged"
            out[cls.name] = (updates / dt, dt / max(updates, 1) * 1e9, mean_q, updates / steps)
        if warm:
            continue
        dq, ps = out["dyna-q"], out["prioritized-sweeping"]
        results.append((states, dq, ps))
        lq = math.log2(max(ps[2], 1.0))
        print(f"{states:>7} {dq[0]:>12.3g} {dq[1]:>7.1f} {ps[0]:>11.3g} {ps[1]:>7.1f} "
              f"{ps[3]:>11.2f} {ps[2]:>10.1f} {lq:>6.2f} {ps[1] / dq[1]:>8.2f}")
    # Where the queue never runs dry (5 updates per real step) the real-step cost is spread the
    # same way for every size, and ns/update can be compared with log2(mean queue length).
    full = [r for r in results if r[2][3] >= 4.99]
    x = np.array([math.log2(max(r[2][2], 1.0)) for r in full])
    y = np.array([r[2][1] for r in full])
    if len(full) >= 2 and np.ptp(x) > 0:
        b, a = np.polyfit(x, y, 1)
        print(f"   PS at 5 updates/step ({len(full)} sizes): ns/update = {a:.1f} + {b:.2f} * log2(mean queue); "
              f"correlation {np.corrcoef(x, y)[0, 1]:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100_000, help="timed real steps per agent and maze size")
    parser.add_argument("--warm-episodes", type=int, default=5, help="untimed episodes before timing")
    args = parser.parse_args()
    print(f"dynaplan {dynaplan.__version__}")
    bench_queue()
    bench_agents(args.steps, args.warm_episodes)


if __name__ == "__main__":
    main()
