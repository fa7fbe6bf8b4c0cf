"""Linear Dyna on the Boyan chain: its planning fixed point is the LSTD closed form (Sutton et
al. 2008, Theorem 3.1); true values from the chain's exact model; linear models."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import dynaplan  # noqa: F401
from dynaplan.agents.linear import LSTD, LinearDyna, LinearPrioritizedSweeping, LinearTD
from dynaplan.envs.continuous import BOYAN_FEATURES, boyan_true_values
from dynaplan.experiments.batch import linear_problem_of, run_linear_agent
from dynaplan.features import TableFeatures
from dynaplan.models.linear import model_update, new_linear_model

RIDGE = 1e-3


def _collect(agent: object, env: gym.Env, seed: int, episodes: int) -> list[tuple[int, float, int, bool]]:
    out = []
    obs, _ = env.reset(seed=seed)
    for _ in range(episodes):
        done = False
        while not done:
            a = agent.act(obs)
            obs2, r, done, _, _ = env.step(a)
            agent.observe(obs, a, r, obs2, done)
            out.append((obs, float(r), obs2, done))
            obs = obs2
        obs, _ = env.reset()
    return out


def _lstd_closed_form(transitions: list[tuple[int, float, int, bool]], gamma: float = 1.0) -> np.ndarray:
    phi = BOYAN_FEATURES
    a = RIDGE * np.eye(4)
    b = np.zeros(4)
    for s, r, s2, done in transitions:
        nxt = np.zeros(4) if done else phi[s2]
        a += np.outer(phi[s], phi[s] - gamma * nxt)
        b += r * phi[s]
    return np.linalg.solve(a, b)


def _plan_to_convergence(agent: LinearDyna | LinearPrioritizedSweeping, theta_ref: np.ndarray) -> None:
    for _ in range(200):
        before = agent.theta.copy()
        agent.plan(2000)
        if np.max(np.abs(agent.theta - before)) < 1e-13 * (1 + np.max(np.abs(theta_ref))):
            return


@pytest.mark.parametrize("seed", range(6))
def test_linear_dyna_fixed_point_is_lstd(seed: int) -> None:
    env = gym.make("dynaplan/BoyanChain-v0")
    feats = TableFeatures(BOYAN_FEATURES)
    dyna = LinearDyna(env, feats, seed=seed, alpha=0.2, planning_steps=2, sources="basis",
                      model="least-squares", ridge=RIDGE)
    transitions = _collect(dyna, env, seed, episodes=3 + seed)
    theta_lstd = _lstd_closed_form(transitions)
    _plan_to_convergence(dyna, theta_lstd)
    rel = np.linalg.norm(dyna.theta - theta_lstd) / np.linalg.norm(theta_lstd)
    assert rel <= 1e-6, (seed, rel, dyna.theta, theta_lstd)
    # the LSTD agent's own statistics give the same closed form
    lstd = LSTD(env, feats, seed=seed, ridge=RIDGE)
    _collect(lstd, env, seed, episodes=3 + seed)
    np.testing.assert_allclose(lstd.theta, theta_lstd, rtol=1e-9)


def test_linear_ps_evaluation_reaches_the_same_fixed_point() -> None:
    env = gym.make("dynaplan/BoyanChain-v0")
    ps = LinearPrioritizedSweeping(env, TableFeatures(BOYAN_FEATURES), seed=3, alpha=0.5, planning_steps=5,
                                   control=False, model="least-squares", ridge=RIDGE, threshold=1e-15)
    transitions = _collect(ps, env, 3, episodes=5)
    theta_lstd = _lstd_closed_form(transitions)
    _plan_to_convergence(ps, theta_lstd)
    assert np.linalg.norm(ps.theta - theta_lstd) / np.linalg.norm(theta_lstd) <= 1e-6


def test_td_and_lstd_approach_the_true_values() -> None:
    # 200 episodes, 5 runs: LSTD within 5% (relative RMS, mean over runs) of V(s) = -2s; TD(0)
    # with a small step within 15%.
    problem = linear_problem_of("dynaplan/BoyanChain-v0", TableFeatures(BOYAN_FEATURES))
    v_true = boyan_true_values()[1:]
    for cls, params, tol in ((LSTD, {}, 0.05), (LinearTD, {"alpha": 0.02}, 0.15)):
        errs = []
        for seed in range(5):
            run = run_linear_agent(cls, params, problem, seed, episodes=200)
            theta = np.linalg.solve(run.agent.a_mat, run.agent.b) if cls is LSTD else run.agent.theta
            v = BOYAN_FEATURES[1:] @ theta
            errs.append(np.sqrt(np.mean((v - v_true) ** 2)) / np.sqrt(np.mean(v_true**2)))
        assert np.mean(errs) < tol, (cls.__name__, errs)


def test_lms_and_least_squares_models_learn_a_known_linear_map() -> None:
    # phi' = F phi and r = b^T phi exactly (no noise): both rules recover F and b.
    rng = np.random.default_rng(0)
    d = 5
    f_true = rng.normal(size=(d, d)) * 0.3
    b_true = rng.normal(size=d)
    lms = new_linear_model(1, d, beta=0.05)
    ls = new_linear_model(1, d, beta=0.0, eps=1e-9)
    idx = np.arange(d, dtype=np.int64)
    for _ in range(4000):
        phi = rng.normal(size=d)
        nxt = f_true @ phi
        for m in (lms, ls):
            model_update(m, 0, idx, phi, float(b_true @ phi), idx, nxt, False)
    for m, tol in ((ls, 1e-6), (lms, 1e-3)):
        np.testing.assert_allclose(m.ft[0].T, f_true, atol=tol)
        np.testing.assert_allclose(m.b[0], b_true, atol=tol)


def test_substochastic_model_learns_a_known_substochastic_map_and_stays_substochastic() -> None:
    # One-hot features of a random 6-state chain with termination: the true F^T is the transition
    # matrix P (rows sum to 1 minus the terminal probability). LMS with every updated column kept
    # nonnegative with sum <= 1 still recovers it (the truth lies inside the constraint), and on
    # tile-coded Mountain Car transitions, where plain LMS columns reach absolute sums of 2-5, every
    # column stays nonnegative with sum <= 1 (so ||F_a^T||_inf <= 1 and the spectral radius <= 1).
    rng = np.random.default_rng(1)
    n = 6
    p = rng.dirichlet(np.ones(n + 1), size=n)  # last column: termination
    m = new_linear_model(1, n, beta=0.005, substochastic=True)
    one = np.ones(1)
    cum = np.cumsum(p, axis=1)
    for s, u in zip(rng.integers(n, size=30_000), rng.random(30_000)):
        s2 = min(int(np.searchsorted(cum[s], u, side="right")), n)
        model_update(m, 0, np.array([s]), one, -1.0, np.array([min(s2, n - 1)]), one, s2 == n)
    np.testing.assert_allclose(m.ft[0], p[:, :n], atol=0.08)  # LMS noise: max error 0.04 for seeds 1-3

    from dynaplan.features import TileCoder

    feats = TileCoder([-1.2, -0.07], [0.5, 0.07], tilings=8, tiles_per_dim=8, size=1024)
    lms = new_linear_model(3, 1024, beta=0.0125)
    sub = new_linear_model(3, 1024, beta=0.0125, substochastic=True)
    env = gym.make("MountainCar-v0").unwrapped
    obs, _ = env.reset(seed=0)
    for t in range(3000):
        a = 2 if (obs[1] >= 0) == (t % 7 != 0) else 0
        obs2, r, term, _, _ = env.step(a)
        i1, i2 = feats(obs), feats(obs2)
        for model in (lms, sub):
            model_update(model, a, i1, np.ones(8), float(r), i2, np.ones(8), term)
        obs = env.reset()[0] if term else obs2
    hi = int(sub.hi[0])
    assert sub.ft[:, :hi, :hi].min() >= 0.0 and np.abs(sub.ft).sum(axis=2).max() <= 1.0 + 1e-12
    assert np.abs(lms.ft).sum(axis=2).max() > 1.2  # what the constraint removes
