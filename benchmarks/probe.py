"""The planning probe costs nothing when it is off: Dyna-Q's compiled episode loop three ways.

    python benchmarks/probe.py            # 30 episodes of the Dyna maze, n = 50, 7 rounds
    python benchmarks/probe.py --quick    # smaller, for a smoke run

* ``off``: ``DynaQ``'s kernel state as shipped, ``probe=None`` (the probe compiled away);
* ``before``: the Dyna-Q kernel as it was before the probe, rebuilt here: a ``max_q: int64[1]``
  counter in its state, incremented by every update whose transition does not end the episode;
* ``on``: the shipped kernel with a ``PlanningProbe`` of ``n`` pairs (never taken, so it records
  the first ``n`` pairs and counts the rest).

All three run the same seeds through the same generic episode loop (``core.loop.run_loop``)
and must end with the same Q table (checked; the probe's max-Q count must equal the old
counter's). Rounds alternate the three; each variant's time is its median over rounds, and the
ratios to ``before`` are printed (one process, so the machine's load is shared alike).
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any, NamedTuple

import numpy as np

from dynaplan import DynaQ, problem_of
from dynaplan._jit import kernel
from dynaplan.core.egreedy import epsilon_greedy
from dynaplan.core.kernels import register_kernels
from dynaplan.core.loop import run_loop
from dynaplan.models.protocol import model_draw_known, model_n_known, model_planning_target
from dynaplan.models.sample import SampleModel, sample_model_update
from dynaplan.planning.probe import with_probe
from dynaplan.planning.q_learning import q_update
from dynaplan.rng import agent_stream, env_stream


class BeforeDynaQState(NamedTuple):
    """``planning.dyna_q.DynaQState`` as it was before the probe (a max-Q counter always on)."""

    q: np.ndarray
    model: SampleModel
    t: np.ndarray
    alpha: float
    gamma: float
    epsilon: float
    planning_steps: int
    max_q: np.ndarray


@kernel
def before_planning(q: np.ndarray, model: Any, n_updates: int, alpha: float, gamma: float, rng: np.ndarray,
                    max_q: np.ndarray) -> None:
    if model_n_known(model) == 0:
        return
    for _ in range(n_updates):
        s, a = model_draw_known(model, rng)
        q[s, a] += alpha * (model_planning_target(model, q, s, a, gamma, rng) - q[s, a])
        if not model.terminated[s, a]:
            max_q[0] += 1


@kernel(inline=True)
def before_act(agent: BeforeDynaQState, s: int, rng: np.ndarray) -> int:
    return epsilon_greedy(agent.q[s], agent.epsilon, rng)


@kernel(inline=True)
def before_observe(agent: BeforeDynaQState, s: int, a: int, r: float, s2: int, terminated: bool, truncated: bool,
                   rng: np.ndarray) -> None:
    q_update(agent.q, s, a, r, s2, terminated, agent.alpha, agent.gamma)
    if not terminated:
        agent.max_q[0] += 1
    sample_model_update(agent.model, s, a, r, s2, terminated, agent.t[0])
    agent.t[0] += 1
    before_planning(agent.q, agent.model, agent.planning_steps, agent.alpha, agent.gamma, rng, agent.max_q)


register_kernels(BeforeDynaQState, act=before_act, observe=before_observe)


def states(problem: Any, n: int) -> dict[str, Any]:
    params = DynaQ.check_params({"planning_steps": n})
    off = DynaQ.build_state(problem.n_states, problem.n_actions, None, params)
    fields = {k: v for k, v in off._asdict().items() if k != "probe"}
    before = BeforeDynaQState(**fields, max_q=np.zeros(1, dtype=np.int64))
    return {"before": before, "off": off, "on": with_probe(off, n)}


def run(problem: Any, state: Any, seed: int, episodes: int) -> float:
    steps, returns = np.zeros(episodes, dtype=np.int64), np.zeros(episodes)
    t = time.perf_counter()
    run_loop(problem.world, state, agent_stream(seed), env_stream(seed), episodes, 0, 0, steps, returns, np.zeros(0))
    return time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smaller sizes (smoke run)")
    args = parser.parse_args()
    episodes, rounds, n = (10, 3, 50) if args.quick else (30, 7, 50)
    problem = problem_of("dynaplan/DynaMaze-v0")
    for st in states(problem, n).values():  # compile / load each variant
        run(problem, st, 0, 1)
    times: dict[str, list[float]] = {"before": [], "off": [], "on": []}
    first: dict[str, Any] = {}
    for r in range(rounds):
        order = ["before", "off", "on"][r % 3:] + ["before", "off", "on"][: r % 3]
        for name in order:
            st = states(problem, n)[name]
            times[name].append(run(problem, st, r, episodes))
            first.setdefault(name, st)
    assert np.array_equal(first["off"].q, first["before"].q) and np.array_equal(first["on"].q, first["before"].q)
    assert first["on"].probe.maxima[0] == first["before"].max_q[0]  # the probe counts what the counter did
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"Dyna-Q, Dyna maze, n = {n}, {episodes} episodes per run, median of {rounds} rounds (same Q tables):")
    for name in ("before", "off", "on"):
        print(f"  {name:6s} {1e3 * med[name]:8.1f} ms   ratio to before {med[name] / med['before']:.3f}")


if __name__ == "__main__":
    main()
