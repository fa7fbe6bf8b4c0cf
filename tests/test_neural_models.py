"""Ensembles and planners against ground truth: a linear system (its transition matrix) and
finite-horizon LQR (Riccati recursion computed here)."""

from dataclasses import dataclass

import numpy as np
import pytest

jax = pytest.importorskip("jax")
import jax.numpy as jnp  # noqa: E402

from dynaplan.neural.ensemble import (  # noqa: E402
    Ensemble,
    TrainConfig,
    ensemble_init,
    ensemble_predict_all,
    ensemble_step,
    ensemble_train,
    prediction_errors,
)
from dynaplan.neural.mpc import Planner, initial_plan, plan  # noqa: E402
from dynaplan.neural.propagation import TrueModel, sequence_returns  # noqa: E402
from dynaplan.neural.replay import replay_add_batch, replay_init  # noqa: E402
from dynaplan.neural.worlds.base import JaxWorld  # noqa: E402

A = np.array([[1.0, 0.1], [0.0, 1.0]], np.float32)  # a double integrator, dt = 0.1
B = np.array([[0.005], [0.1]], np.float32)
Q = np.eye(2, dtype=np.float32)
R = np.array([[0.1]], np.float32)
NOISE = 0.05


def _dynamics(s, a):
    return jnp.asarray(A) @ s + jnp.asarray(B) @ a


def _reward(obs, a, next_obs):
    return -(next_obs @ jnp.asarray(Q) @ next_obs + a @ jnp.asarray(R) @ a)


def _never(next_obs):
    return jnp.zeros((), bool)


def _zero(key):
    return jnp.zeros(2, jnp.float32)


def _identity(s):
    return s


LINEAR = JaxWorld("linear", 2, 1, 2, -10.0, 10.0, 50, _zero, _dynamics, _identity, _reward, _never, _dynamics)


@pytest.fixture(scope="module")
def fitted():
    """A probabilistic ensemble fitted to 1,000 noisy transitions of the linear system from the
    box [-1, 1]^3 (noise std 0.05 on each next-state component)."""
    rng = np.random.default_rng(0)
    n = 1000
    x = rng.uniform(-1, 1, (n, 2)).astype(np.float32)
    u = rng.uniform(-1, 1, (n, 1)).astype(np.float32)
    xn = (x @ A.T + u @ B.T + NOISE * rng.normal(size=(n, 2))).astype(np.float32)
    buf = replay_add_batch(replay_init(1024, 2, 1), x, u, np.zeros(n, np.float32), xn, np.zeros(n, bool))
    model = Ensemble(2, 1, members=5, hidden=(32, 32), reward_fn=_reward)
    params, report = ensemble_train(model, ensemble_init(model, jax.random.PRNGKey(0)), jax.random.PRNGKey(1), buf,
                                    TrainConfig(batch=64, max_evals=60, patience=8))
    return model, params, report


def test_ensemble_mean_recovers_the_transition_matrix(fitted):
    model, params, report = fitted
    assert int(report.steps) >= 200  # it trained, and stopped early or at the cap
    rng = np.random.default_rng(1)
    x = rng.uniform(-0.8, 0.8, (500, 2)).astype(np.float32)
    u = rng.uniform(-0.8, 0.8, (500, 1)).astype(np.float32)
    mu, logvar = ensemble_predict_all(model, params, x, u)
    mean = np.asarray(mu).mean(0)
    design = np.concatenate([x, u, np.ones((500, 1), np.float32)], 1)
    coef = np.linalg.lstsq(design, mean, rcond=None)[0].T  # the linear map the ensemble's mean computes
    np.testing.assert_allclose(coef[:, :3], np.concatenate([A, B], 1), atol=0.03)
    assert np.abs(coef[:, 3]).max() < 0.02
    # its learned noise is the data's (std 0.05) within 40%
    std = np.exp(0.5 * np.asarray(logvar)).mean(axis=(0, 1))
    assert ((std > 0.6 * NOISE) & (std < 1.4 * NOISE)).all(), std
    # one-step and multi-step errors of the mean: open-loop rollouts of 5 steps from the data's box
    acts = rng.uniform(-0.5, 0.5, (200, 5, 1)).astype(np.float32)
    x0 = rng.uniform(-0.5, 0.5, (200, 2)).astype(np.float32)
    true, s = [], x0
    for h in range(5):
        s = s @ A.T + acts[:, h] @ B.T
        true.append(s)
    err = np.asarray(prediction_errors(model, params, x0, acts, np.stack(true, 1), 5))
    assert err[0] < 0.02 and err[-1] < 0.06 and err[-1] > err[0]


def test_ensemble_variance_grows_away_from_the_data(fitted):
    model, params, _ = fitted
    rng = np.random.default_rng(2)
    near = rng.uniform(-0.8, 0.8, (300, 2)).astype(np.float32)
    far = rng.normal(size=(300, 2)).astype(np.float32)
    far = 6 * far / np.linalg.norm(far, axis=1, keepdims=True)  # 6 from the origin: 4+ outside the box

    def total_variance(x, u):  # the mixture's variance: mean aleatoric + epistemic (spread of means)
        mu, lv = ensemble_predict_all(model, params, x, u)
        return float(np.mean(np.exp(np.asarray(lv)).mean(0) + np.asarray(mu).var(0)))

    def spread(x, u):
        return float(np.mean(np.asarray(ensemble_predict_all(model, params, x, u)[0]).var(0)))

    u_near = rng.uniform(-0.8, 0.8, (300, 1)).astype(np.float32)
    u_far = np.full((300, 1), 4.0, np.float32)
    assert total_variance(far, u_far) > 2 * total_variance(near, u_near)
    assert spread(far, u_far) > 20 * spread(near, u_near)
    # a model step samples each row's member and Gaussian: its spread on the data is the noise's
    obs = jnp.zeros((4000, 2))
    nxt, r = ensemble_step(model, params, jax.random.PRNGKey(3), obs, jnp.zeros((4000, 1)))
    assert 0.035 < float(jnp.std(nxt[:, 0])) < 0.07 and r.shape == (4000,)


def _riccati(horizon):
    """Finite-horizon LQR by the Riccati recursion: minimise sum_t x_{t+1}'Q x_{t+1} + u_t'R u_t.
    Returns ``(K, P)``: the first step's gain and the cost-to-go matrix of ``horizon`` steps."""
    P = np.zeros((2, 2))
    for _ in range(horizon):
        S = Q + P
        K = np.linalg.solve(R + B.T @ S @ B, B.T @ S @ A)
        P = A.T @ S @ A - A.T @ S @ B @ K
    return K, P


def _lqr_first_action(x0, horizon):
    return -(_riccati(horizon)[0] @ x0)


@pytest.mark.parametrize("method,kw,tol", [("cem", {}, 0.05), ("mppi", {"temperature": 0.05}, 0.1)])
def test_cem_and_mppi_converge_to_the_lqr_action(method, kw, tol):
    """On the true model, the planned first action approaches LQR's as the samples grow: after
    one call (300 x 4 samples) and after 8 chained calls (each from the previous call's plan:
    8 times the samples). ``tol`` is relative to |u*| = 3.2, stated per method (MPPI's mean is a
    softmax average and converges more slowly)."""
    H, x0 = 10, np.array([1.0, 0.5], np.float32)
    u_star = float(_lqr_first_action(x0, H)[0])
    planner = Planner(method=method, horizon=H, population=300, iterations=4, elites=30, init_std=1.0, **kw)
    errs_1, errs_8 = [], []
    for seed in range(3):
        mean = initial_plan(planner, LINEAR)
        for call in range(8):
            res = plan(planner, TrueModel(LINEAR), LINEAR, None, jax.random.PRNGKey(100 * seed + call),
                       jnp.asarray(x0), mean)
            mean = res.mean
            if call == 0:
                errs_1.append(abs(float(res.action[0]) - u_star))
        errs_8.append(abs(float(res.action[0]) - u_star))
    assert max(errs_8) < tol * abs(u_star), (errs_1, errs_8, u_star)
    assert np.mean(errs_8) < np.mean(errs_1)
    # the returns the planner scores are the closed-form quadratic cost of the sequence
    seq = jnp.asarray(mean)[None]
    xs, cost = x0.astype(np.float64), 0.0
    for u in np.asarray(mean):
        xs = A @ xs + B @ u
        cost += xs @ Q @ xs + u @ R @ u
    got = float(sequence_returns(TrueModel(LINEAR), LINEAR, None, jax.random.PRNGKey(0), jnp.asarray(x0), seq)[0])
    assert got == pytest.approx(-cost, rel=1e-4)


@dataclass(frozen=True)
class _QuadraticValue:
    """A known terminal value ``V(x) = -x' P x`` (``P`` passed as the value's parameters)."""

    def __call__(self, P, obs):
        return -jnp.einsum("...i,ij,...j->...", obs, P, obs)


def test_riccati_terminal_value_makes_a_short_horizon_plan_the_long_horizon_action():
    """Dynamic programming: with the infinite-horizon cost-to-go ``x' P x`` (Riccati recursion run
    to its fixed point) as terminal value, a 2-step CEM plan on the true model recovers the
    infinite-horizon LQR action (-4.31 from x0), which the 2-step plan without it misses by far
    (LQR's own 2-step action is -0.98)."""
    H, x0 = 2, np.array([1.0, 0.5], np.float32)
    u_inf, P_inf = float(_lqr_first_action(x0, 400)[0]), _riccati(400)[1]
    u_2 = float(_lqr_first_action(x0, H)[0])
    assert abs(u_2 - u_inf) > 0.7 * abs(u_inf)  # the short horizon alone is far from the long one
    planner = Planner(method="cem", horizon=H, population=300, iterations=4, elites=30, init_std=2.0)
    got = {}
    for name, value in (("with", _QuadraticValue()), ("without", None)):
        mean = initial_plan(planner, LINEAR)
        for call in range(6):
            res = plan(planner, TrueModel(LINEAR), LINEAR, None, jax.random.PRNGKey(call), jnp.asarray(x0), mean,
                       value=value, value_params=jnp.asarray(P_inf, jnp.float32))
            mean = res.mean
        got[name] = float(res.action[0])
    assert got["with"] == pytest.approx(u_inf, rel=0.03), got
    assert got["without"] == pytest.approx(u_2, rel=0.05), got
    # the scored return is the closed form: minus the 2 steps' cost minus x_2' P x_2
    seq = np.asarray(mean)
    xs, cost = x0.astype(np.float64), 0.0
    for u in seq:
        xs = A @ xs + B @ u
        cost += xs @ Q @ xs + u @ R @ u
    ret = sequence_returns(TrueModel(LINEAR), LINEAR, None, jax.random.PRNGKey(0), jnp.asarray(x0),
                           jnp.asarray(seq)[None], value=_QuadraticValue(), value_params=jnp.asarray(P_inf))
    assert float(ret[0]) == pytest.approx(-cost - xs @ P_inf @ xs, rel=1e-4)
