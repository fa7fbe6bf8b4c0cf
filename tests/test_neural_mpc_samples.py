"""``mpc.plan_samples``: the decision ``mpc.plan`` makes, with what each iteration sampled.

Checked against ground truth: the decision equals ``plan``'s bit for bit; each recorded
trajectory steps as the model does (a deterministic ensemble's members evaluated here, the
world's own dynamics for the true model); the recorded returns are the sums of the world's
rewards along the recorded trajectories; the elites are the top k by those returns, and the
next iteration's plan is CEM's refit to exactly those (MPPI's weighted mean of every sequence).
"""

import numpy as np
import pytest

jax = pytest.importorskip("jax")
import jax.numpy as jnp  # noqa: E402

from dynaplan.neural.ensemble import Ensemble, ensemble_init, ensemble_predict_all  # noqa: E402
from dynaplan.neural.mpc import Planner, initial_plan, plan, plan_samples  # noqa: E402
from dynaplan.neural.propagation import TrueModel, sequence_returns, sequence_rollouts  # noqa: E402
from dynaplan.neural.worlds import PENDULUM  # noqa: E402

W = PENDULUM
OBS = jnp.array([np.cos(2.5), np.sin(2.5), 0.7], jnp.float32)
SIZES = dict(horizon=4, population=8, iterations=2, elites=2, particles=2)


@pytest.fixture(scope="module")
def de():
    """A deterministic ensemble of two members (random weights: the checks are about the planner's records)."""
    model = Ensemble(W.obs_dim, W.act_dim, members=2, hidden=(8,), probabilistic=False, reward_fn=W.reward)
    return model, ensemble_init(model, jax.random.PRNGKey(3), one_draw=True)


def _members(model, params, obs, action):
    """Every member's next observation from ``obs[N, d]`` under ``action[N, a]``: ``[E, N, d]``."""
    mu, _ = jax.jit(ensemble_predict_all, static_argnums=0)(model, params, jnp.asarray(obs), jnp.asarray(action))
    return np.asarray(mu[..., : W.obs_dim])


_rewards = jax.jit(jax.vmap(W.reward))
_steps = jax.jit(jax.vmap(W.obs_dynamics))


def _reward_sums(states, seqs):
    """Sum over the horizon of the world's reward along ``states[P, K, H + 1, d]`` under ``seqs[P, H, a]``,
    averaged over particles (Pendulum never terminates)."""
    P, K, T, _ = states.shape
    o, nxt = states[:, :, :-1].reshape(-1, W.obs_dim), states[:, :, 1:].reshape(-1, W.obs_dim)
    a = np.broadcast_to(seqs[:, None], (P, K, T - 1, W.act_dim)).reshape(-1, W.act_dim)
    r = np.asarray(_rewards(jnp.asarray(o), jnp.asarray(a), jnp.asarray(nxt))).reshape(P, K, T - 1)
    return r.sum(-1).mean(-1)


def _check_elites(s, k):
    returns, elites = np.asarray(s.returns), np.asarray(s.elites)
    assert elites.shape == (k,) and len(set(elites.tolist())) == k
    np.testing.assert_array_equal(returns[elites], np.sort(returns)[::-1][:k])  # the top k, best first


def test_recording_changes_no_decision_and_the_records_are_the_model_s_steps(de):
    model, params = de
    key = jax.random.PRNGKey(11)
    for method, propagation in (("cem", "tsinf"), ("icem", "ts1"), ("mppi", "tsinf")):
        planner = Planner(method=method, propagation=propagation, **SIZES)
        mean = initial_plan(planner, W)
        res, samples = plan_samples(planner, model, W, params, key, OBS, mean)
        for a, b in zip(plan(planner, model, W, params, key, OBS, mean), res, strict=True):
            np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
        assert len(samples) == planner.iterations
        for i, s in enumerate(samples):
            states, seqs = np.asarray(s.states), np.asarray(s.sequences)
            P, K, T, d = states.shape
            assert (K, T, d) == (planner.particles, planner.horizon + 1, W.obs_dim) and seqs.shape == (P, T - 1, 1)
            np.testing.assert_array_equal(states[:, :, 0], np.broadcast_to(np.asarray(OBS), (P, K, d)))
            # every step of a particle's line is a member's prediction from its previous point
            o = states[:, :, :-1].reshape(-1, d)
            a = np.broadcast_to(seqs[:, None], (P, K, T - 1, 1)).reshape(-1, 1)
            pred = _members(model, params, o, a).reshape(2, P, K, T - 1, d)
            err = np.abs(pred - states[None, :, :, 1:]).max(-1)  # [E, P, K, H]
            if propagation == "tsinf":  # particle k keeps member k % E
                assert err[0, :, 0].max() < 1e-4 and err[1, :, 1].max() < 1e-4
            else:  # TS-1 re-draws the member each step: some member made each step
                assert err.min(0).max() < 1e-4 and (err.argmin(0) != np.arange(K)[None, :, None]).any()
            np.testing.assert_allclose(np.asarray(s.returns), _reward_sums(states, seqs), rtol=1e-4, atol=1e-4)
            _check_elites(s, planner.elites)
            if method == "icem" and i == planner.iterations - 1:  # the mean itself is the last candidate
                np.testing.assert_array_equal(seqs[-1], np.asarray(s.mean))
        # the plan each iteration sampled around is the previous iteration's refit to its elites
        for s, nxt in zip(samples, [*samples[1:], None], strict=True):
            seqs, returns = np.asarray(s.sequences), np.asarray(s.returns)
            if method == "mppi":
                w = np.exp((returns - returns.max()) / planner.temperature)
                refit = np.einsum("p,pha->ha", w / w.sum(), seqs)
            else:
                refit = planner.alpha * np.asarray(s.mean) + (1 - planner.alpha) * seqs[np.asarray(s.elites)].mean(0)
            if nxt is not None:
                np.testing.assert_allclose(np.asarray(nxt.mean), refit, rtol=1e-5, atol=1e-6)
            elif method != "icem":
                np.testing.assert_allclose(np.asarray(res.mean), refit, rtol=1e-5, atol=1e-6)
            else:  # iCEM executes the best sequence seen and carries its last elites' first share
                best = max(samples, key=lambda r: float(np.max(r.returns)))
                np.testing.assert_array_equal(np.asarray(res.mean), np.asarray(best.sequences)[int(best.elites[0])])
                n_keep = round(planner.keep_elites * planner.elites)
                np.testing.assert_array_equal(np.asarray(res.elites), seqs[np.asarray(s.elites)[:n_keep]])


def test_true_model_records_the_world_s_trajectories():
    planner = Planner(method="random", **SIZES)
    key = jax.random.PRNGKey(5)
    res, (s,) = plan_samples(planner, TrueModel(W), W, None, key, OBS, initial_plan(planner, W))
    states, seqs = np.asarray(s.states), np.asarray(s.sequences)
    assert states.shape == (8, 1, 5, 3)
    o = jnp.broadcast_to(OBS, (8, 3))
    for h in range(4):
        o = _steps(o, jnp.asarray(seqs[:, h]))
        np.testing.assert_allclose(states[:, 0, h + 1], np.asarray(o), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(np.asarray(s.returns), _reward_sums(states, seqs), rtol=1e-5, atol=1e-5)
    _check_elites(s, 2)
    np.testing.assert_array_equal(np.asarray(res.mean), seqs[int(s.elites[0])])  # random shooting: the best
    # sequence_rollouts scores as sequence_returns does (the same draws)
    model = Ensemble(W.obs_dim, W.act_dim, members=2, hidden=(8,), reward_fn=W.reward)
    params = ensemble_init(model, jax.random.PRNGKey(0), one_draw=True)
    returns, states = sequence_rollouts(model, W, params, key, OBS, jnp.asarray(seqs), 2, "ts1")
    np.testing.assert_array_equal(np.asarray(returns),
                                  np.asarray(sequence_returns(model, W, params, key, OBS, jnp.asarray(seqs), 2, "ts1")))
    assert states.shape == (8, 2, 5, 3)
