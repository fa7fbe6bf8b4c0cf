"""How far the kept subtree's root is from the real observation it stands for, with and without
replaying the kept subtree from the real observation (``revalue``), along one learning run of the
learned-model agent with reuse on CartPole-v1.

Per 1,000 real steps: quantiles of the largest error over the observation's coordinates between
the kept root and the observation reached, in units of each coordinate's typical one-step change
(``dstd``), over the decisions that had a kept tree; the returns of the episodes that ended.
Usage: ``python benchmarks/learned_search_kept_error.py SEED CHUNKS REVALUE`` (e.g. ``1005 6 0``).
"""

from __future__ import annotations

import sys

import jax
import jax.numpy as jnp
import numpy as np

from dynaplan.neural.learned_search import WORLDS, LearnedSearchConfig, _stats, init_state, step_agent


def main(seed: int, chunks: int, revalue: bool) -> None:
    world = WORLDS["CartPole-v1"]()
    cfg = LearnedSearchConfig(reuse=True, reuse_tolerance=1e9, revalue=revalue)

    def one(s, _):  # type: ignore[no-untyped-def]
        error = jnp.max(jnp.abs(s.kept.tree.embeddings[0, 0] - s.obs) / _stats(s.buffer)[2])
        used = s.kept.n_used[0]
        s, rec = step_agent(s, world, cfg)
        return s, (error, used, rec.episode_return)

    run = jax.jit(lambda s: jax.lax.scan(one, s, None, length=1000))
    state = init_state(jax.random.PRNGKey(seed), world, cfg)
    for chunk in range(chunks):
        state, (error, used, returns) = run(state)
        e = np.asarray(error)[np.asarray(used) > 0]
        r = np.asarray(returns)
        q = np.quantile(e, [0.5, 0.9, 0.99]) if e.size else [np.nan] * 3
        print(f"steps {(chunk + 1) * 1000}: kept-root error q50 {q[0]:.3f} q90 {q[1]:.3f} q99 {q[2]:.3f}; "
              f"mean return {np.nanmean(r) if np.isfinite(r).any() else float('nan'):.1f}", flush=True)


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]), bool(int(sys.argv[3])))
