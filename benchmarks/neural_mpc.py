"""One PETS decision (CEM on a probabilistic ensemble), beside its limits, in the same run.

    python benchmarks/neural_mpc.py                 # the deep-mpc default sizes
    python benchmarks/neural_mpc.py --seeds 1 4 16  # seeds/s batched vs separate processes
    python benchmarks/neural_mpc.py --breakdown     # where a decision's time goes, model by model

Prints (1) the time of one decision (ensemble of 5 x (2 x 64) swish networks, CEM 200 sequences
x 25 steps x 3 iterations, 5 particles TS-infinity on Pendulum's 3 + 1 inputs) after a warm-up
call, as model samples per second (one sample = one member's network on one particle and step)
and as achieved GFLOP/s (2 flops per multiply-add of the networks' matrix products; the
activations, sampling and rewards are not counted); (2) the limit: XLA's and NumPy's float32
matmul at the same shapes (the three layers' ``[E, P*K/E, in] @ [E, in, out]`` products), in
GFLOP/s; (3) the
same CEM decision written eagerly in NumPy (same shapes and steps), and the ratio; (2b) the same against one large
matmul of the hidden width (what BLAS reaches when shapes are large); (4) with
``--seeds``: seeds per second of 20 decisions of an episode for S seeds batched in one program
(``vmap``) against S separate processes (spawn, ``--workers`` at a time) each running one seed,
both warm (compiled) and, for the processes, in wall time with start-up and compile; the batched
program's CPU seconds per wall second show how many cores it keeps busy; (5) with
``--breakdown`` only: the CPU time of one decision of 5 seeds batched on Pendulum for the
probabilistic ensemble (PETS), the same with the learned terminal value, the deterministic
ensemble, expectation propagation, CEM with 100 sequences, and the true model, in CPU ms
(``time.process_time``: less distorted by other processes than wall time).

The machine may be shared: every ratio is measured in the same run, read ratios rather than
absolute numbers.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import time

import numpy as np

E, HID, POP, H, ITERS, K, ELITES = 5, 64, 200, 25, 3, 5, 20
OBS, ACT = 3, 1


def flops_per_sample() -> int:
    """Multiply-adds of one member's network on one row, times 2."""
    return 2 * ((OBS + ACT) * HID + HID * HID + HID * 2 * OBS)


def _timeit(fn, repeat: int) -> float:
    fn()
    t = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - t) / repeat


def jax_decision(repeat: int) -> tuple[float, int]:
    import jax
    import jax.numpy as jnp

    from dynaplan.neural.pets import decide, init_params, make_config, start_decision
    from dynaplan.neural.worlds import PENDULUM

    cfg = make_config(PENDULUM, "pets", members=E, hidden=(HID, HID), population=POP, horizon=H, iterations=ITERS,
                      elites=ELITES, particles=K)
    params = init_params(cfg, 0)
    carry = start_decision(cfg)
    f = jax.jit(lambda p, k, o, c: decide(cfg, p, k, o, c, False)[0])
    obs = jnp.array([1.0, 0.0, 0.0])
    key = jax.random.PRNGKey(0)
    return _timeit(lambda: f(params, key, obs, carry).block_until_ready(), repeat), cfg.planner.samples_per_decision(E)


def numpy_matmul_peak(repeat: int) -> float:
    rows = POP * K // E
    rng = np.random.default_rng(0)
    shapes = [(OBS + ACT, HID), (HID, HID), (HID, 2 * OBS)]
    xs = [rng.normal(size=(E, rows, i)).astype(np.float32) for i, _ in shapes]
    ws = [rng.normal(size=(E, i, o)).astype(np.float32) for i, o in shapes]
    n = H * ITERS

    def run() -> None:
        for _ in range(n):
            for x, w in zip(xs, ws):
                np.matmul(x, w)

    dt = _timeit(run, repeat)
    return n * E * rows * flops_per_sample() / dt / 1e9


def jax_matmul_peak(repeat: int) -> float:
    """XLA's own float32 matmul at the decision's shapes (the three layers' batched products, H x
    iterations times, each depending on the last so none is hoisted): the limit of the decision's
    compiled products on this machine, in GFLOP/s."""
    import jax
    import jax.numpy as jnp

    rows = POP * K // E
    shapes = [(OBS + ACT, HID), (HID, HID), (HID, 2 * OBS)]
    key = jax.random.PRNGKey(0)
    ws = [jax.random.normal(jax.random.fold_in(key, i), (E, a, b)) for i, (a, b) in enumerate(shapes)]
    x0 = jax.random.normal(key, (E, rows, OBS + ACT))

    @jax.jit
    def run(x: jax.Array) -> jax.Array:
        def body(x: jax.Array, _: None) -> tuple[jax.Array, None]:
            h = x
            for w in ws:
                h = jnp.einsum("enk,eko->eno", h, w)
            return x + 1e-9 * h[..., : OBS + ACT], None

        return jax.lax.scan(body, x, None, length=H * ITERS)[0]

    dt = _timeit(lambda: run(x0).block_until_ready(), repeat)
    return H * ITERS * E * rows * flops_per_sample() / dt / 1e9


def numpy_matmul_large(repeat: int) -> float:
    """NumPy float32 matmul on one large product of the hidden layer's width (the BLAS limit)."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(E * POP * K, HID)).astype(np.float32)
    w = rng.normal(size=(HID, HID)).astype(np.float32)
    dt = _timeit(lambda: x @ w, repeat)
    return 2 * x.shape[0] * HID * HID / dt / 1e9


def numpy_decision(repeat: int) -> float:
    """The same CEM decision, eager NumPy (float32), on random ensemble weights."""
    rng = np.random.default_rng(0)
    sizes = [(OBS + ACT, HID), (HID, HID), (HID, 2 * OBS)]
    ws = [rng.uniform(-0.3, 0.3, (E, i, o)).astype(np.float32) for i, o in sizes]
    bs = [np.zeros((E, 1, o), np.float32) for _, o in sizes]

    def silu(x: np.ndarray) -> np.ndarray:
        return x / (1 + np.exp(-np.clip(x, -60, 60)))

    def returns(seqs: np.ndarray) -> np.ndarray:
        o = np.tile(np.array([1.0, 0.0, 0.0], np.float32), (POP, K, 1))
        total = np.zeros((POP, K), np.float32)
        for t in range(H):
            a = np.broadcast_to(seqs[:, None, t], (POP, K, ACT))
            x = np.concatenate([o, a], -1).reshape(POP, K // E, E, -1).transpose(2, 0, 1, 3).reshape(E, -1, OBS + ACT)
            for i, (w, b) in enumerate(zip(ws, bs)):
                x = x @ w + b
                if i < 2:
                    x = silu(x)
            mean, logvar = x[..., :OBS], np.clip(x[..., OBS:], -10, 0.5)
            nxt = mean + np.exp(0.5 * logvar) * rng.normal(size=mean.shape).astype(np.float32)
            nxt = nxt.reshape(E, POP, K // E, OBS).transpose(1, 2, 0, 3).reshape(POP, K, OBS)
            th = np.arctan2(o[..., 1], o[..., 0])
            total += -(th**2 + 0.1 * o[..., 2] ** 2 + 0.001 * a[..., 0] ** 2)
            o = o + nxt
        return total.mean(1)

    def decision() -> None:
        mean, std = np.zeros((H, ACT), np.float32), np.full((H, ACT), 1.0, np.float32)
        for _ in range(ITERS):
            seqs = np.clip(mean + std * rng.normal(size=(POP, H, ACT)).astype(np.float32), -2, 2)
            r = returns(seqs)
            elite = seqs[np.argsort(-r)[:ELITES]]
            mean, std = 0.1 * mean + 0.9 * elite.mean(0), 0.1 * std + 0.9 * elite.std(0)

    return _timeit(decision, repeat)


def _episode_prefix(seeds: list[int], decisions: int) -> float:
    """Seconds for ``decisions`` steps of a planning episode for ``seeds`` batched (warm)."""
    import jax
    import jax.numpy as jnp

    from dynaplan.neural.pets import decide, init_params, make_config, start_decision
    from dynaplan.neural.worlds import PENDULUM, env_key, world_step

    cfg = make_config(PENDULUM, "pets", members=E, hidden=(HID, HID), population=POP, horizon=H, iterations=ITERS,
                      elites=ELITES, particles=K)

    @jax.jit
    def run(seeds: jax.Array) -> jax.Array:
        def one(seed: jax.Array) -> jax.Array:
            params = init_params(cfg, seed)

            def step(carry: tuple, t: jax.Array) -> tuple[tuple, None]:
                state, dec, total = carry
                key = jax.random.fold_in(jax.random.PRNGKey(seed), t)
                a, dec = decide(cfg, params, key, PENDULUM.observe(state), dec, False)
                state, _, r, _ = world_step(PENDULUM, state, a)
                return (state, dec, total + r), None

            init = (PENDULUM.reset(env_key(seed, 0)), start_decision(cfg), jnp.float32(0))
            (_, _, total), _ = jax.lax.scan(step, init, jnp.arange(decisions))
            return total

        return jax.vmap(one)(seeds)

    s = jnp.asarray(seeds, jnp.int32)
    run(s).block_until_ready()
    t, c = time.perf_counter(), time.process_time()
    run(s).block_until_ready()
    wall = time.perf_counter() - t
    _CPU[len(seeds)] = (time.process_time() - c) / wall
    return wall


#: Batch size -> CPU seconds per wall second of its warm call (1.0: one core busy; 2.0: two).
_CPU: dict[int, float] = {}


def breakdown(repeat: int) -> None:
    """CPU ms of one decision of 5 seeds batched, per model and propagation (module docstring, 5)."""
    import jax
    import jax.numpy as jnp

    from dynaplan.agents.pets import config_of
    from dynaplan.neural.pets import decide, init_params, init_value, start_decision
    from dynaplan.neural.worlds import PENDULUM

    S = 5
    rows = {"PETS (probabilistic, CEM 200 x 25 x 3, 5 particles TS-infinity)": {},
            "PETS with the terminal value": {"terminal_value": True},
            "deterministic ensemble": {"model": "de"},
            "expectation propagation": {"propagation": "expectation", "particles": 1},
            "PETS with CEM 100 x 25 x 3": {"population": 100, "elites": 10},
            "the true model": {"model": "true"}}
    seeds = jnp.arange(S)
    obs = jnp.tile(jnp.array([-1.0, 0.0, 0.3]), (S, 1))
    keys = jax.random.split(jax.random.PRNGKey(0), S)
    for label, extra in rows.items():
        cfg = config_of(PENDULUM, extra, episodes=15, replay_size=0)
        p = jax.vmap(lambda s, cfg=cfg: init_params(cfg, s))(seeds) if cfg.ensemble is not None else ()
        v = jax.vmap(lambda s, cfg=cfg: init_value(cfg, s))(seeds) if cfg.value is not None else ()
        f = jax.jit(jax.vmap(lambda p, v, k, o, c, cfg=cfg: decide(cfg, p, k, o, c, False, v)))
        carry = jax.vmap(lambda _, cfg=cfg: start_decision(cfg))(seeds)
        a, carry = f(p, v, keys, obs, carry)
        a.block_until_ready()
        t = time.process_time()
        for _ in range(repeat):
            a, carry = f(p, v, keys, obs, carry)
        a.block_until_ready()
        cpu = (time.process_time() - t) / repeat
        print(f"{label}: {cpu * 1e3:.0f} CPU ms per decision of {S} seeds; a 15-episode run's 3,000 decisions "
              f"{cpu * 3000 / 60:.1f} CPU-min")


def _worker(args: tuple[int, int]) -> float:
    return _episode_prefix([args[0]], args[1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=10)
    ap.add_argument("--seeds", type=int, nargs="*", default=[])
    ap.add_argument("--decisions", type=int, default=20)
    ap.add_argument("--workers", type=int, default=2, help="processes for the separate-process runs")
    ap.add_argument("--breakdown", action="store_true", help="only the CPU time of a decision per model")
    args = ap.parse_args()
    if args.breakdown:
        breakdown(args.repeat)
        return
    dt, samples = jax_decision(args.repeat)
    gflops = samples * flops_per_sample() / dt / 1e9
    peak_xla = jax_matmul_peak(args.repeat)
    peak = numpy_matmul_peak(args.repeat)
    large = numpy_matmul_large(args.repeat)
    dt_np = numpy_decision(max(1, args.repeat // 5))
    print(f"one decision (JAX, jitted): {dt * 1e3:.1f} ms, {samples:,} model samples, {samples / dt:.3g} samples/s, "
          f"{gflops:.2f} GFLOP/s")
    print(f"XLA float32 matmul at the same shapes (the products alone, jitted): {peak_xla:.2f} GFLOP/s -> the "
          f"decision achieves {gflops / peak_xla:.0%}")
    print(f"NumPy float32 matmul at the same shapes: {peak:.2f} GFLOP/s -> the decision achieves {gflops / peak:.0%}")
    print(f"NumPy float32 matmul, one large [{E * POP * K}, {HID}] @ [{HID}, {HID}] product: {large:.2f} GFLOP/s "
          f"-> the decision achieves {gflops / large:.0%}")
    print(f"the same CEM decision in eager NumPy: {dt_np * 1e3:.1f} ms -> JAX is {dt_np / dt:.1f}x faster")
    for n in args.seeds:
        batched = _episode_prefix(list(range(n)), args.decisions)
        ctx = mp.get_context("spawn")
        workers = min(n, args.workers)
        t = time.perf_counter()
        with ctx.Pool(workers) as pool:
            warm = pool.map(_worker, [(s, args.decisions) for s in range(n)])
        separate = time.perf_counter() - t
        print(f"{n:>2} seeds x {args.decisions} decisions: batched in one process {n / batched:.3g} seeds/s (warm; "
              f"{_CPU[n]:.2f} CPU s per wall s); {n} separate processes on {workers} workers "
              f"{n * workers / sum(warm):.3g} seeds/s warm, {n / separate:.3g} seeds/s wall incl. start-up and compile")


if __name__ == "__main__":
    main()
