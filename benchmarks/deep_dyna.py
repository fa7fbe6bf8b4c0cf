"""Speed of the deep Dyna agents' inner loops: SAC updates per second and MBPO model-rollout steps
per second, jitted JAX against an eager NumPy implementation of the same computation at the same
shapes (PyTorch is not a dependency; NumPy eager is the reference).

* SAC update: one critic step (twin critics, target networks, the soft target), one actor step
  (reparameterised tanh-squashed Gaussian, the log-prob correction) and one temperature step, each
  with Adam, on a batch from a replay buffer; obs 3, action 1 (Pendulum), 2 x 64 hidden, batch
  128. JAX: ``sac_updates`` (a ``lax.scan`` of 100 updates per call). NumPy: the same equations
  with hand-written backpropagation, one update per Python iteration.
* Model rollout: MBPO's branched rollout (100 start states, length 5): each step the policy's
  action, all 5 ensemble members evaluated (2 x 64 hidden, Gaussian outputs), one member's
  Gaussian sampled per row. JAX: ``branched_rollout`` through ``ensemble_model_step``. NumPy: the
  same forward passes.

Run: ``python benchmarks/deep_dyna.py [--repeats 3]``. Prints one line per measurement and the
ratio (JAX / NumPy); the machine may be shared, so compare ratios from the same run. NumPy runs
with one BLAS thread (set above; the environment's own setting wins).
"""

from __future__ import annotations

import argparse
import itertools
import os
import time

# Tiny matrix products: one BLAS thread (a threaded BLAS on a shared machine spins and makes the
# NumPy reference hundreds of times slower than it is).
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

OBS, ACT, HID, BATCH = 3, 1, 64, 128
MEMBERS, ROLLOUTS, K = 5, 100, 5
LOG_STD_MIN, LOG_STD_MAX = -5.0, 2.0


# -- NumPy eager reference -------------------------------------------------------------------

def np_mlp(rng: np.random.Generator, sizes: tuple[int, ...]) -> list[list[np.ndarray]]:
    out = []
    for a, b in itertools.pairwise(sizes):
        bound = 1 / np.sqrt(a)
        out.append([rng.uniform(-bound, bound, (a, b)).astype(np.float32),
                    rng.uniform(-bound, bound, b).astype(np.float32)])
    return out


def np_forward(p: list[list[np.ndarray]], x: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
    acts = [x]
    for i, (w, b) in enumerate(p):
        x = x @ w + b
        if i < len(p) - 1:
            x = np.maximum(x, 0)
        acts.append(x)
    return x, acts


def np_backward(p: list[list[np.ndarray]], acts: list[np.ndarray], g: np.ndarray) -> tuple[list, np.ndarray]:
    grads: list[list[np.ndarray]] = [[np.empty(0), np.empty(0)] for _ in p]
    for i in range(len(p) - 1, -1, -1):
        w, _ = p[i]
        grads[i] = [acts[i].T @ g, g.sum(0)]
        g = g @ w.T
        if i > 0:
            g = g * (acts[i] > 0)
    return grads, g


class Adam:
    def __init__(self, params: list, lr: float) -> None:
        self.lr, self.t = lr, 0
        self.m = [np.zeros_like(x) for x in params]
        self.v = [np.zeros_like(x) for x in params]

    def step(self, params: list, grads: list) -> None:
        self.t += 1
        for i, (x, g) in enumerate(zip(params, grads)):
            self.m[i] = 0.9 * self.m[i] + 0.1 * g
            self.v[i] = 0.999 * self.v[i] + 0.001 * g * g
            mh = self.m[i] / (1 - 0.9**self.t)
            vh = self.v[i] / (1 - 0.999**self.t)
            x -= self.lr * mh / (np.sqrt(vh) + 1e-8)


def flat(p: list[list[np.ndarray]]) -> list[np.ndarray]:
    return [x for layer in p for x in layer]


class NumpySAC:
    """The SAC update of ``dynaplan.neural.sac`` in eager NumPy (same equations and Adam)."""

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.actor = np_mlp(self.rng, (OBS, HID, HID, 2 * ACT))
        self.critics = [np_mlp(self.rng, (OBS + ACT, HID, HID, 1)) for _ in range(2)]
        self.targets = [[[w.copy(), b.copy()] for w, b in c] for c in self.critics]
        self.log_alpha = np.zeros(1, np.float32)
        self.opt_a = Adam(flat(self.actor), 3e-4)
        self.opt_c = [Adam(flat(c), 1e-3) for c in self.critics]
        self.opt_t = Adam([self.log_alpha], 1e-3)
        self.scale, self.gamma, self.tau = 2.0, 0.99, 0.005

    def sample(self, obs: np.ndarray) -> tuple:
        out, acts = np_forward(self.actor, obs)
        mu, pre = out[:, :ACT], out[:, ACT:]
        log_std = LOG_STD_MIN + 0.5 * (LOG_STD_MAX - LOG_STD_MIN) * (np.tanh(pre) + 1)
        eps = self.rng.standard_normal(mu.shape).astype(np.float32)
        u = mu + np.exp(log_std) * eps
        log_det = np.log(self.scale) + 2 * (np.log(2) - u - np.logaddexp(0, -2 * u))
        logp = np.sum(-0.5 * eps**2 - log_std - 0.5 * np.log(2 * np.pi) - log_det, -1)
        return self.scale * np.tanh(u), logp, (acts, pre, log_std, eps, u)

    def update(self, obs: np.ndarray, act: np.ndarray, rew: np.ndarray, nxt: np.ndarray, done: np.ndarray) -> None:
        alpha = float(np.exp(self.log_alpha[0]))
        a2, logp2, _ = self.sample(nxt)
        x2 = np.concatenate([nxt, a2], 1)
        q2 = np.minimum(*[np_forward(t, x2)[0][:, 0] for t in self.targets])
        y = rew + self.gamma * (1 - done) * (q2 - alpha * logp2)
        x = np.concatenate([obs, act], 1)
        for c, opt in zip(self.critics, self.opt_c):
            q, acts = np_forward(c, x)
            g, _ = np_backward(c, acts, (2 * (q[:, 0] - y) / len(y))[:, None])
            opt.step(flat(c), flat(g))
        for t, c in zip(self.targets, self.critics):
            for lt, lc in zip(t, c):
                for i in range(2):
                    lt[i] *= 1 - self.tau
                    lt[i] += self.tau * lc[i]
        a, logp, (acts, pre, log_std, eps, u) = self.sample(obs)
        xa = np.concatenate([obs, a], 1)
        outs = [np_forward(c, xa) for c in self.critics]
        which = (outs[1][0][:, 0] < outs[0][0][:, 0]).astype(int)
        n = len(obs)
        d_a = np.zeros_like(a)
        for k in range(2):
            mask = (which == k).astype(np.float32)[:, None]
            _, g_in = np_backward(self.critics[k], outs[k][1], -mask / n)
            d_a += g_in[:, OBS:]
        th = np.tanh(u)
        d_u = alpha / n * 2 * th + d_a * self.scale * (1 - th**2)
        d_log_std = d_u * np.exp(log_std) * eps - alpha / n
        d_pre = d_log_std * 0.5 * (LOG_STD_MAX - LOG_STD_MIN) * (1 - np.tanh(pre) ** 2)
        g, _ = np_backward(self.actor, acts, np.concatenate([d_u, d_pre], 1))
        self.opt_a.step(flat(self.actor), flat(g))
        self.opt_t.step([self.log_alpha], [np.array([-np.mean(logp - ACT)], np.float32)])


def numpy_rollout(rng: np.random.Generator, actor: list, members: list, start: np.ndarray) -> int:
    """MBPO's branched rollout in eager NumPy; returns the model steps made."""
    obs = start
    for _ in range(K):
        out, _ = np_forward(actor, obs)
        u = out[:, :ACT] + np.exp(np.clip(out[:, ACT:], -5, 2)) * rng.standard_normal((len(obs), ACT))
        a = 2 * np.tanh(u).astype(np.float32)
        x = np.concatenate([obs, a], 1)
        preds = np.stack([np_forward(m, x)[0] for m in members])  # [E, N, 2 (d + 1)]
        pick = preds[rng.integers(0, MEMBERS, len(obs)), np.arange(len(obs))]
        mean, logvar = pick[:, : OBS + 1], pick[:, OBS + 1 :]
        draw = mean + np.exp(0.5 * logvar) * rng.standard_normal(mean.shape)
        obs = (obs + draw[:, :OBS]).astype(np.float32)
    return K * len(start)


# -- the measurements ------------------------------------------------------------------------

def best_rate(fn, work: int, repeats: int) -> float:  # type: ignore[no-untyped-def]
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return work / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    import jax
    import jax.numpy as jnp

    from dynaplan.neural.ensemble import Ensemble, ensemble_init
    from dynaplan.neural.mbpo import branched_rollout, ensemble_model_step
    from dynaplan.neural.replay import replay_add_batch, replay_init
    from dynaplan.neural.sac import SACConfig, sac_init, sac_updates, squashed_sample

    rng = np.random.default_rng(0)
    data = [rng.standard_normal((5000, OBS)).astype(np.float32), rng.uniform(-2, 2, (5000, ACT)).astype(np.float32),
            rng.standard_normal(5000).astype(np.float32), rng.standard_normal((5000, OBS)).astype(np.float32),
            np.zeros(5000, bool)]

    # SAC updates
    cfg = SACConfig(obs_dim=OBS, act_dim=ACT, low=(-2.0,), high=(2.0,), hidden=(HID, HID), batch=BATCH)
    buf = replay_add_batch(replay_init(5000, OBS, ACT), *map(jnp.asarray, data))
    n = 100
    step = jax.jit(lambda s, k: sac_updates(s, cfg, buf, None, k, n))
    state = step(sac_init(jax.random.PRNGKey(0), cfg), jax.random.PRNGKey(1))
    jax.block_until_ready(state)

    def run_jax() -> None:
        nonlocal state
        state = step(state, jax.random.PRNGKey(2))
        jax.block_until_ready(state)

    ref = NumpySAC(0)

    def run_np() -> None:
        for _ in range(n):
            idx = rng.integers(0, 5000, BATCH)
            ref.update(*(x[idx] for x in data[:4]), data[4][idx].astype(np.float32))

    jax_rate = best_rate(run_jax, n, args.repeats)
    np_rate = best_rate(run_np, n, args.repeats)
    print(f"SAC updates/s (obs {OBS}, act {ACT}, 2 x {HID}, batch {BATCH}): JAX {jax_rate:,.0f}  "
          f"NumPy eager {np_rate:,.0f}  ratio {jax_rate / np_rate:.1f}x")

    # model rollouts
    model = Ensemble(OBS, ACT, members=MEMBERS, hidden=(HID, HID), probabilistic=True, learn_reward=True)
    params = ensemble_init(model, jax.random.PRNGKey(3))
    start = jnp.asarray(data[0][:ROLLOUTS])
    actor = state.actor

    @jax.jit
    def roll(key: jax.Array) -> jax.Array:
        ro = branched_rollout(ensemble_model_step(model, params), lambda k, o: squashed_sample(actor, cfg, o, k)[0],
                              key, start, K)
        return ro.next_obs

    jax.block_until_ready(roll(jax.random.PRNGKey(4)))
    reps = 20
    jr = best_rate(lambda: [jax.block_until_ready(roll(jax.random.PRNGKey(i))) for i in range(reps)],
                   reps * K * ROLLOUTS, args.repeats)
    np_actor = np_mlp(rng, (OBS, HID, HID, 2 * ACT))
    np_members = [np_mlp(rng, (OBS + ACT, HID, HID, 2 * (OBS + 1))) for _ in range(MEMBERS)]
    nr = best_rate(lambda: [numpy_rollout(rng, np_actor, np_members, data[0][:ROLLOUTS]) for _ in range(reps)],
                   reps * K * ROLLOUTS, args.repeats)
    print(f"model-rollout steps/s ({ROLLOUTS} rollouts x {K} steps, {MEMBERS} members of 2 x {HID}): "
          f"JAX {jr:,.0f}  NumPy eager {nr:,.0f}  ratio {jr / nr:.1f}x")


if __name__ == "__main__":
    main()
