"""MCTS (UCT) throughput: the compiled array searches beside plain-Python ones doing the same work.

Two searches, each compiled and in plain Python, measured in the same run:

* ``tree``: the book's tree of paths (``search.path_tree``, ``key="path"``): nodes in preallocated
  arrays against a plain-Python tree of node objects with a dict of children per node;
* ``state``: the state-keyed table (``search.state_table``, ``key="state"``) against a dict of nodes
  keyed by state.

Both do: untried actions first (at random), UCB1 with c = 1, one node added per simulation and
valued by a uniformly random rollout to the horizon, sampled outcomes, discounted mean backup.
Budgets are fixed in simulations per search (from the start state, empty tree each search);
simulations get longer as the tree grows, so both simulations/s and model steps/s (one per
outcome drawn, tree and rollout) are reported, on the deterministic Dyna maze and on the
slippery Dyna maze (each move slips with probability 0.2). One core: times are the process's
CPU time (``time.process_time``), so a machine shared with other work measures the same.
Usage: ``python benchmarks/mcts.py [--quick]``.
"""

from __future__ import annotations

import math
import random
import sys
import time

import gymnasium as gym
import numpy as np

import dynaplan
from dynaplan.rng import from_seed
from dynaplan.search.mcts import EVAL_ROLLOUT, KEY_STATE
from dynaplan.search.path_tree import new_path_tree, path_tree_reset, path_tree_run
from dynaplan.search.state_table import new_state_table, state_table_run

GAMMA, DEPTH, C = 0.95, 50, 1.0
# CPU time of this (single-threaded) process: the figure for one core even when other processes
# share the machine (wall time then overstates the time taken by a factor of the load)
CLOCK = time.process_time


def python_uct(P, n_actions: int, s0: int, simulations: int, rnd: random.Random) -> int:
    """Plain-Python UCT over Gymnasium's ``P`` lists; nodes in a dict keyed by state. Returns model steps."""
    nodes: dict[int, list] = {}  # state -> [visits, N list, W list]
    steps = 0

    def sample(s: int, a: int):
        outs = P[s][a]
        if len(outs) == 1:
            return outs[0]
        u, acc = rnd.random(), 0.0
        for o in outs:
            acc += o[0]
            if acc > u:
                return o
        return outs[0]

    for _ in range(simulations):
        s, h, path, leaf = s0, DEPTH, [], 0.0
        nodes.setdefault(s, [0.0, [0.0] * n_actions, [0.0] * n_actions])
        while True:
            node = nodes[s]
            untried = [a for a in range(n_actions) if node[1][a] == 0]
            if untried:
                a = untried[int(rnd.random() * len(untried))]
            else:
                bonus = C * math.sqrt(math.log(node[0]))
                a = max(range(n_actions), key=lambda b: node[2][b] / node[1][b] + bonus / math.sqrt(node[1][b]))
            _, s2, r, term = sample(s, a)
            steps += 1
            path.append((node, a, r))
            if term:
                break
            h -= 1
            s = s2
            if h == 0:
                break
            if s not in nodes:
                nodes[s] = [1.0, [0.0] * n_actions, [0.0] * n_actions]
                g, disc = 0.0, 1.0
                while h > 0:
                    _, s3, r3, t3 = sample(s, int(rnd.random() * n_actions))
                    steps += 1
                    g += disc * r3
                    if t3:
                        break
                    disc *= GAMMA
                    h -= 1
                    s = s3
                leaf = g
                break
        g = leaf
        for node, a, r in reversed(path):
            g = r + GAMMA * g
            node[0] += 1.0
            node[1][a] += 1.0
            node[2][a] += g
    return steps


def python_tree_uct(P, n_actions: int, s0: int, simulations: int, rnd: random.Random) -> int:
    """Plain-Python UCT on the book's tree: a node per path, children in a dict keyed by (action,
    next state). Node = [visits, N list, W list, children dict]. Returns model steps."""
    steps = 0

    def sample(s: int, a: int):
        outs = P[s][a]
        if len(outs) == 1:
            return outs[0]
        u, acc = rnd.random(), 0.0
        for o in outs:
            acc += o[0]
            if acc > u:
                return o
        return outs[0]

    root: list = [0.0, [0.0] * n_actions, [0.0] * n_actions, {}]
    for _ in range(simulations):
        node, s, h, path, leaf = root, s0, DEPTH, [], 0.0
        while True:
            untried = [a for a in range(n_actions) if node[1][a] == 0]
            if untried:
                a = untried[int(rnd.random() * len(untried))]
            else:
                bonus = C * math.sqrt(math.log(node[0]))
                a = max(range(n_actions), key=lambda b: node[2][b] / node[1][b] + bonus / math.sqrt(node[1][b]))
            _, s2, r, term = sample(s, a)
            steps += 1
            path.append((node, a, r))
            if term:
                break
            h -= 1
            s = s2
            if h == 0:
                break
            child = node[3].get((a, s))
            if child is None:
                node[3][(a, s)] = [1.0, [0.0] * n_actions, [0.0] * n_actions, {}]
                g, disc = 0.0, 1.0
                while h > 0:
                    _, s3, r3, t3 = sample(s, int(rnd.random() * n_actions))
                    steps += 1
                    g += disc * r3
                    if t3:
                        break
                    disc *= GAMMA
                    h -= 1
                    s = s3
                leaf = g
                break
            node = child
        g = leaf
        for nd, a, r in reversed(path):
            g = r + GAMMA * g
            nd[0] += 1.0
            nd[1][a] += 1.0
            nd[2][a] += g
    return steps


def compiled_tree(model, s0: int, simulations: int, repeats: int) -> tuple[float, float]:
    tree = new_path_tree(simulations + 1, model.n_actions)
    q = np.zeros((model.n_states, model.n_actions))
    path, rews = np.zeros((2, DEPTH), dtype=np.int64), np.zeros(DEPTH)
    rng = from_seed(0)
    path_tree_reset(tree, s0)
    path_tree_run(model, tree, q, 10, 0, C, GAMMA, DEPTH, EVAL_ROLLOUT, path, rews, rng)  # compile
    steps, t0 = 0, CLOCK()
    for _ in range(repeats):
        path_tree_reset(tree, s0)
        steps += path_tree_run(model, tree, q, simulations, 0, C, GAMMA, DEPTH, EVAL_ROLLOUT, path, rews, rng)
    dt = CLOCK() - t0
    return repeats * simulations / dt, steps / dt


def compiled(model, s0: int, simulations: int, repeats: int) -> tuple[float, float]:
    tree = new_state_table(model.n_states, model.n_actions, DEPTH)
    q = np.zeros((model.n_states, model.n_actions))
    path, rews = np.zeros((2, DEPTH), dtype=np.int64), np.zeros(DEPTH)
    rng = from_seed(0)
    state_table_run(model, tree, q, s0, 10, C, GAMMA, DEPTH, EVAL_ROLLOUT, KEY_STATE, path, rews, rng)  # compile
    dynaplan.search.clear_tree(tree)
    steps, t0 = 0, CLOCK()
    for _ in range(repeats):
        dynaplan.search.clear_table(tree)
        steps += state_table_run(
            model, tree, q, s0, simulations, C, GAMMA, DEPTH, EVAL_ROLLOUT, KEY_STATE, path, rews, rng
        )
    dt = CLOCK() - t0
    return repeats * simulations / dt, steps / dt


def pure_python(env, s0: int, simulations: int, repeats: int, search=python_uct) -> tuple[float, float]:
    P, n_actions = env.unwrapped.P, env.action_space.n
    rnd = random.Random(0)
    steps, t0 = 0, CLOCK()
    for _ in range(repeats):
        steps += search(P, n_actions, s0, simulations, rnd)
    dt = CLOCK() - t0
    return repeats * simulations / dt, steps / dt


def main() -> None:
    quick = "--quick" in sys.argv
    print(f"UCT, c={C}, gamma={GAMMA}, horizon {DEPTH}, random rollouts; one core")
    print(f"{'env':22s} {'search':>6s} {'sims':>7s} {'impl':>9s} {'sims/s':>10s} {'model steps/s':>14s} {'ratio':>7s}")
    for env_id in ("dynaplan/DynaMaze-v0", "dynaplan/SlipperyDynaMaze-v0"):
        env = gym.make(env_id)
        model = dynaplan.model_of(env)
        s0 = int(np.argmax(model.start))
        short = env_id.split("/")[-1]
        for kind, fast, slow in (("tree", compiled_tree, python_tree_uct), ("state", compiled, python_uct)):
            for sims in (100, 1_000, 10_000):
                total = 20_000 if quick else 200_000
                c_sims, c_steps = fast(model, s0, sims, max(1, total // sims))
                p_total = 2_000 if quick else 10_000
                p_sims, p_steps = pure_python(env, s0, sims, max(1, p_total // sims), slow)
                print(f"{short:22s} {kind:>6s} {sims:>7,d} {'compiled':>9s} {c_sims:>10.3g} {c_steps:>14.3g}")
                ratio = c_steps / p_steps
                line = f"{short:22s} {kind:>6s} {sims:>7,d} {'python':>9s} {p_sims:>10.3g} {p_steps:>14.3g}"
                print(f"{line} {ratio:>6.1f}x")


if __name__ == "__main__":
    main()
