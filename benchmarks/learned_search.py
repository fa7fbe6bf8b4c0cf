"""Search over a learned model: searches/s and simulations/s of the jitted mctx search (ours, with
room for reuse) at batch 1 and batched over seeds, beside ``mctx.muzero_policy`` itself at the same
shapes and a plain-Python MCTS over the same networks doing the same work.

All three run MuZero's search (PUCT with mctx's constants, min-max normalised Q from parent and
siblings, one node expanded per simulation, mean backup) over the same randomly initialised
networks of ``dynaplan.neural.learned_search`` on CartPole's 4-dimensional observations: a
dynamics network (4 + 2 -> 64 -> 64 -> 4) and a prediction network (4 -> 64 -> 64 -> 2 + 1),
32 simulations per search to depth 16. The plain-Python search evaluates the same networks with
NumPy, one expansion at a time, as a straightforward implementation would.

Wall time per search (median of repeats, after compilation); the machine may be shared, so the
ratios measured in the same run are the figure to read. Usage:
``python benchmarks/learned_search.py [--quick]``.
"""

from __future__ import annotations

import math
import sys
import time

import jax
import mctx
import numpy as np

from dynaplan.neural.learned_search import WORLDS, LearnedSearchConfig, _predict, _recurrent_fn, _stats, init_state
from dynaplan.neural.warm_search import muzero_decision

SIMS, DEPTH = 32, 16


def _median_time(fn, repeats: int) -> float:  # type: ignore[no-untyped-def]
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def python_mcts(pred, dyn, stats, obs: np.ndarray, gamma: float, rng: np.random.Generator) -> np.ndarray:  # type: ignore[no-untyped-def]
    """MuZero's search in plain Python + NumPy: a dict per node, the same PUCT and backup."""
    pred = [(np.asarray(l.w), np.asarray(l.b)) for l in pred]
    dyn = [(np.asarray(l.w), np.asarray(l.b)) for l in dyn]
    mean, std, dstd = (np.asarray(x) for x in stats)

    def mlp(params, x):  # type: ignore[no-untyped-def]
        for w, b in params[:-1]:
            x = np.maximum(x @ w + b, 0)
        return x @ params[-1][0] + params[-1][1]

    def evaluate(o):  # type: ignore[no-untyped-def]
        out = mlp(pred, o)
        return out[:2], float(out[2])

    def node(o):  # type: ignore[no-untyped-def]
        logits, v = evaluate(o)
        p = np.exp(logits - logits.max())
        return {"obs": o, "prior": p / p.sum(), "N": 1, "V": v, "children": {}, "R": {}, "D": {}}

    root = node(obs)
    lo, hi = math.inf, -math.inf
    for _ in range(SIMS):
        path, n, depth = [], root, 0
        while True:
            qs = [n["R"][a] + n["D"][a] * n["children"][a]["V"] if a in n["children"] else None for a in range(2)]
            seen = [q for q in qs if q is not None]
            if seen:
                lo, hi = min(lo, *seen), max(hi, *seen)
            scores = []
            for a in range(2):
                c = n["children"].get(a)
                visits = c["N"] if c else 0
                q = 0.0 if qs[a] is None or hi <= lo else (qs[a] - lo) / (hi - lo)
                u = 1.25 * n["prior"][a] * math.sqrt(n["N"]) / (1 + visits)
                scores.append(q + u + 1e-7 * rng.random())
            a = int(np.argmax(scores))
            path.append((n, a))
            depth += 1
            if a not in n["children"] or depth >= DEPTH:
                break
            n = n["children"][a]
        parent, a = path[-1]
        if a not in parent["children"]:
            x = np.concatenate([(parent["obs"] - mean) / std, np.eye(2)[a]])
            nxt = parent["obs"] + mlp(dyn, x) * dstd
            done = abs(nxt[0]) > 2.4 or abs(nxt[2]) > 0.2095
            child = node(nxt)
            if done:
                child["V"] = 0.0
            parent["children"][a], parent["R"][a], parent["D"][a] = child, 1.0, 0.0 if done else gamma
        value = parent["children"][a]["V"]
        for n, a in reversed(path):
            value = n["R"][a] + n["D"][a] * value
            n["V"] = (n["V"] * n["N"] + value) / (n["N"] + 1)
            n["N"] += 1
    return np.array([root["children"][a]["N"] if a in root["children"] else 0 for a in range(2)])


def _measure(batch: int, repeats: int, world, cfg, rec) -> dict[str, float]:  # type: ignore[no-untyped-def]
    """Seconds per search call of each jitted search at ``batch`` roots."""
    states = jax.vmap(lambda k: init_state(k, world, cfg))(jax.random.split(jax.random.PRNGKey(0), batch))
    obs = jax.vmap(world.reset)(jax.random.split(jax.random.PRNGKey(1), batch))

    def one(state, o, key):  # type: ignore[no-untyped-def]
        logits, value = _predict(state.pred, o[None], 2)
        root = mctx.RootFnOutput(prior_logits=logits, value=value, embedding=o[None])
        return muzero_decision((state.pred, state.dyn, _stats(state.buffer)), key, root, rec, SIMS,
                               max_depth=DEPTH, capacity=2 * SIMS + 1).action

    per_seed = jax.jit(jax.vmap(one))
    keys = jax.random.split(jax.random.PRNGKey(2), batch)
    shared = jax.tree.map(lambda x: x[0], states)
    params = (shared.pred, shared.dyn, _stats(shared.buffer))
    logits, value = _predict(shared.pred, obs, 2)
    root = mctx.RootFnOutput(prior_logits=logits, value=value, embedding=obs)
    ref = jax.jit(lambda k: mctx.muzero_policy(params, k, root, rec, SIMS, max_depth=DEPTH).action)
    ours = jax.jit(lambda k: muzero_decision(params, k, root, rec, SIMS, max_depth=DEPTH, capacity=2 * SIMS + 1).action)
    key = jax.random.PRNGKey(3)
    return {
        "ours, one network per seed (vmap)": _median_time(lambda: per_seed(states, obs, keys).block_until_ready(),
                                                          repeats),
        "mctx.muzero_policy, shared network": _median_time(lambda: ref(key).block_until_ready(), repeats),
        "ours, shared network": _median_time(lambda: ours(key).block_until_ready(), repeats),
    }


def main(quick: bool = False) -> None:
    repeats = 5 if quick else 20
    world = WORLDS["CartPole-v1"]()
    cfg = LearnedSearchConfig(simulations=SIMS, max_depth=DEPTH)
    rec = _recurrent_fn(world, cfg)
    print(f"search over a learned model: {SIMS} simulations to depth {DEPTH}, networks 2 x 64; wall time, median "
          f"of {repeats}; JAX on {jax.devices()[0].platform}")
    print(f"{'search':<44} {'batch':>5} {'searches/s':>11} {'simulations/s':>14} {'vs plain Python':>16}")
    rows = {(name, batch): t for batch in ((1, 16) if quick else (1, 16, 256))
            for name, t in _measure(batch, repeats, world, cfg, rec).items()}
    state0 = jax.tree.map(lambda x: x[0], jax.vmap(lambda k: init_state(k, world, cfg))(jax.random.PRNGKey(0)[None]))
    rng = np.random.default_rng(0)
    o = np.asarray(world.reset(jax.random.PRNGKey(1)))
    st = _stats(state0.buffer)
    py = _median_time(lambda: python_mcts(state0.pred, state0.dyn, st, o, cfg.gamma, rng), max(3, repeats // 4))
    for (name, batch), t in rows.items():
        print(f"{name:<44} {batch:>5} {batch / t:>11,.0f} {batch * SIMS / t:>14,.0f} {py * batch / t:>15.1f}x")
    print(f"{'plain Python + NumPy (one search at a time)':<44} {1:>5} {1 / py:>11,.0f} {SIMS / py:>14,.0f} "
          f"{1:>15.1f}x")


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
