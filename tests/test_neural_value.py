"""The learned terminal value against closed forms: fitted value iteration (TD(0) targets) on a
linear system with quadratic reward, and absorbing states, whose values are known exactly."""

import numpy as np
import pytest

jax = pytest.importorskip("jax")
import jax.numpy as jnp  # noqa: E402

from dynaplan.neural.replay import replay_add_batch, replay_init  # noqa: E402
from dynaplan.neural.value import ValueNet, ValueTrain, value_fit, value_init  # noqa: E402

GAMMA, DECAY = 0.9, 0.8


def test_fitted_value_approaches_the_closed_form():
    """``s' = 0.8 s``, ``r = -s^2``, gamma 0.9: ``V(s) = -s^2 / (1 - 0.9 * 0.64)`` (a geometric
    series). Transitions from ``s > 0.9`` terminate with that whole value as their reward, so
    ``V`` is the same function there only if the fit does not bootstrap past a termination (it
    would be off by 1.4 at s = 1). Fitted on 2,000 transitions from s uniform in [-1, 1], the
    network is within 2.5% of the largest value (2.36) everywhere on the data's range, and far
    from it before fitting."""
    rng = np.random.default_rng(0)
    n = 2000
    s = rng.uniform(-1, 1, (n, 1)).astype(np.float32)
    term = s[:, 0] > 0.9
    truth_of = lambda x: -x**2 / (1 - GAMMA * DECAY**2)  # noqa: E731
    reward = np.where(term, truth_of(s[:, 0]), -s[:, 0] ** 2)
    data = replay_add_batch(replay_init(n, 1, 1), jnp.asarray(s), jnp.zeros((n, 1)), jnp.asarray(reward),
                            jnp.asarray(DECAY * s), jnp.asarray(term))
    value = ValueNet(1, hidden=(32, 32), discount=GAMMA)
    params0 = value_init(value, jax.random.PRNGKey(0))
    train = ValueTrain(rounds=30, steps=60, batch=256, lr=3e-3)
    params, td = value_fit(value, params0, jax.random.PRNGKey(1), data, train)
    grid = np.linspace(-1, 1, 201, dtype=np.float32)[:, None]
    truth = truth_of(grid[:, 0])
    scale = np.abs(truth).max()  # 2.36
    err = np.abs(np.asarray(value(params, jnp.asarray(grid))) - truth)
    assert err.max() < 0.025 * scale, err.max()
    assert np.abs(np.asarray(value(params0, jnp.asarray(grid))) - truth).max() > 0.3 * scale
    assert float(td) < 0.05 * scale
