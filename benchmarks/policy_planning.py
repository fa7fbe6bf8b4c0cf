"""Policy-planner speed: the compiled Dyna-AC planning kernel beside plain Python doing the same work.

    python benchmarks/policy_planning.py            # full sizes
    python benchmarks/policy_planning.py --quick    # smaller, for a smoke run

A Dyna-AC agent is trained for 5 episodes of the Dyna maze (n = 50) so that its sample model
holds real pairs; then (1) ``dyna_ac_planning`` makes planning updates (random observed pair,
actor step with a max-subtracted softmax, the expected critic update over tried actions,
``planning_actions = "tried"``) on a copy of that state, and (2) a plain-Python Dyna-AC written
the usual way (a dict model, ``random``; preferences either in lists with ``math.exp``, the
fastest plain Python we wrote, or in numpy rows with ``np.exp``) makes the same updates on the
same model. Both figures are measured in this run, one core, in CPU time of this process; the
Dyna-Q planning kernel's rate on the same model is printed beside them as the ceiling (it
makes a Q-learning update, no softmax). Also printed, for scale: imagined model
steps per second of the policy gradient in imagination and expected backups per second of a
certainty-equivalence solve.
"""

from __future__ import annotations

import argparse
import math
import random
import time

import numpy as np

import dynaplan  # noqa: F401  (registers envs)
from dynaplan import CertaintyEquivalence, DynaAC, ImaginedPolicyGradient, problem_of, run_agent
from dynaplan.planning.certainty_equivalence import ce_solve
from dynaplan.planning.dyna_ac import PLAN_TRIED, dyna_ac_planning
from dynaplan.planning.dyna_q import dyna_planning
from dynaplan.planning.imagined_pg import imagine
from dynaplan.rng import agent_stream


class PlainDynaACPlanner:
    """Dyna-AC planning as usually written in Python: dict model, lists of tried pairs, math.exp."""

    def __init__(self, h, v, model_dict, alpha_actor, alpha_critic, gamma, seed=0):
        self.h = [list(map(float, row)) for row in h]
        self.v = list(map(float, v))
        self.model = model_dict  # (s, a) -> (r, s2, terminated)
        self.tried: dict[int, list[int]] = {}
        for s, a in model_dict:
            self.tried.setdefault(s, []).append(a)
        self.states = list(self.tried)
        self.aa, self.ac, self.gamma = alpha_actor, alpha_critic, gamma
        self.random = random.Random(seed)

    def plan(self, n):
        h, v, rnd, gamma = self.h, self.v, self.random, self.gamma
        for _ in range(n):
            s = self.states[int(rnd.random() * len(self.states))]
            acts = self.tried[s]
            a = acts[int(rnd.random() * len(acts))]
            row = h[s]
            m = max(row)
            e = [math.exp(x - m) for x in row]
            total = sum(e)
            pi = [x / total for x in e]
            p_sum, expected, x_a = 0.0, 0.0, 0.0
            for b in acts:
                r, s2, term = self.model[(s, b)]
                x = r if term else r + gamma * v[s2]
                if b == a:
                    x_a = x
                p_sum += pi[b]
                expected += pi[b] * x
            step = self.aa * (x_a - v[s])
            v[s] += self.ac * (expected / p_sum - v[s])
            for b in range(len(row)):
                row[b] -= step * pi[b]
            row[a] += step


class NumpyDynaACPlanner(PlainDynaACPlanner):
    """The same planner with numpy rows for h and v and ``np.exp`` softmax (as ``benchmarks/dyna_q.py``'s
    plain Dyna-Q keeps a numpy Q table)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.h = np.array(self.h)
        self.v = np.array(self.v)

    def plan(self, n):
        h, v, rnd, gamma = self.h, self.v, self.random, self.gamma
        for _ in range(n):
            s = self.states[int(rnd.random() * len(self.states))]
            acts = self.tried[s]
            a = acts[int(rnd.random() * len(acts))]
            e = np.exp(h[s] - h[s].max())
            pi = e / e.sum()
            outcomes = [self.model[(s, b)] for b in acts]
            x = np.array([r if term else r + gamma * v[s2] for r, s2, term in outcomes])
            w = pi[acts]
            step = self.aa * (x[acts.index(a)] - v[s])
            v[s] += self.ac * (float(w @ x) / w.sum() - v[s])
            h[s] -= step * pi
            h[s, a] += step


def copy_state(state):
    return type(state)(*(copy_state(x) if isinstance(x, tuple) else (x.copy() if isinstance(x, np.ndarray) else x)
                         for x in state))


def best_of(fn, repeats=3):
    """Least CPU time of this process over ``repeats`` calls (one core; robust to a shared machine)."""
    times = []
    for _ in range(repeats):
        t = time.process_time()
        fn()
        times.append(time.process_time() - t)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    n_compiled = 3_000_000 if args.quick else 30_000_000
    n_plain = 50_000 if args.quick else 300_000

    problem = problem_of("dynaplan/DynaMaze-v0")
    trained = run_agent(DynaAC, {"planning_steps": 50}, problem, 0, episodes=5).agent
    model = trained.model
    pairs = {(int(s), int(a)): (float(model.reward[s, a]), int(model.next_state[s, a]), bool(model.terminated[s, a]))
             for s, a in zip(*np.nonzero(model.next_state >= 0), strict=True)}
    print(f"Dyna maze, Dyna-AC model after 5 episodes: {len(pairs)} tried pairs")

    st = copy_state(trained)
    rng = agent_stream(1)
    dyna_ac_planning(st.q, st.v, st.model, 1000, st.alpha_actor, st.alpha_critic, st.gamma, PLAN_TRIED, st.scratch, rng)
    t_c = best_of(lambda: dyna_ac_planning(st.q, st.v, st.model, n_compiled, st.alpha_actor, st.alpha_critic,
                                           st.gamma, PLAN_TRIED, st.scratch, rng))
    plain = PlainDynaACPlanner(trained.q, trained.v, pairs, trained.alpha_actor, trained.alpha_critic, trained.gamma)
    t_p = best_of(lambda: plain.plan(n_plain))
    numpy_plain = NumpyDynaACPlanner(trained.q, trained.v, pairs, trained.alpha_actor, trained.alpha_critic,
                                     trained.gamma)
    t_n = best_of(lambda: numpy_plain.plan(n_plain // 10))
    rate_c, rate_p, rate_n = n_compiled / t_c, n_plain / t_p, n_plain / 10 / t_n
    print(f"Dyna-AC planning updates/s, compiled kernel          : {rate_c:10.3e}  ({n_compiled:,} in {t_c:.3f} s)")
    print(f"Dyna-AC planning updates/s, plain Python, lists      : {rate_p:10.3e}  ({n_plain:,} in {t_p:.3f} s)")
    print(f"Dyna-AC planning updates/s, plain Python, numpy rows : {rate_n:10.3e}  ({n_plain // 10:,} in {t_n:.3f} s)")
    print(f"ratio compiled / plain Python: {rate_c / rate_p:.1f}x (lists), {rate_c / rate_n:.1f}x (numpy rows)")
    q = np.zeros_like(st.q)
    dyna_planning(q, st.model, 1000, 0.1, 0.95, rng)
    t_q = best_of(lambda: dyna_planning(q, st.model, n_compiled, 0.1, 0.95, rng))
    print(f"Dyna-Q planning updates/s, same model (ceiling)      : {n_compiled / t_q:10.3e}")

    pg = copy_state(run_agent(ImaginedPolicyGradient, {"rollouts": 10, "horizon": 5}, problem, 0, episodes=5).agent)
    n_roll = 200_000 if args.quick else 2_000_000
    before = int(pg.model_steps[0])
    t = best_of(lambda: imagine(pg, n_roll, rng), repeats=1)
    steps = int(pg.model_steps[0]) - before
    print(f"imagined policy gradient: {steps / t:12.3e} model steps (= actor-critic updates)/s, horizon 5")

    ce = copy_state(run_agent(CertaintyEquivalence, {}, problem, 0, episodes=5).agent)
    solves = 200 if args.quick else 2000
    ce.v[:] = 0.0
    before = int(ce.backups[0])

    def solve_many():
        for _ in range(solves):
            ce.v[:] = 0.0
            ce_solve(ce)

    t = best_of(solve_many, repeats=1)
    print(f"certainty equivalence: {(int(ce.backups[0]) - before) / t:12.3e} expected state backups/s "
          f"({solves} solves from v = 0 of the learned Dyna-maze model)")


if __name__ == "__main__":
    main()
