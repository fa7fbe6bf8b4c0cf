"""The neural family's shared core: networks, replay, and the JAX guard."""

import importlib.util
import subprocess
import sys

import numpy as np
import pytest

jax = pytest.importorskip("jax")
import jax.numpy as jnp  # noqa: E402

from dynaplan.neural import NeuralExtraMissing, mlp_apply, mlp_init, n_params, require_jax  # noqa: E402
from dynaplan.neural.replay import replay_add, replay_add_batch, replay_init, replay_sample  # noqa: E402


def test_import_dynaplan_does_not_import_jax() -> None:
    code = "import sys, dynaplan; print('jax' in sys.modules, 'optax' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


def test_require_jax_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "optax" else real(name, *a))
    with pytest.raises(NeuralExtraMissing, match=r"optax not installed: .*pip install -e \"\.\[deep\]\""):
        require_jax()


def test_mlp_matches_numpy_and_pytorch_init_bounds() -> None:
    params = mlp_init(jax.random.PRNGKey(0), (3, 16, 2))
    assert n_params(params) == 3 * 16 + 16 + 16 * 2 + 2
    for layer in params:
        bound = 1 / np.sqrt(layer.w.shape[0])
        assert float(jnp.abs(layer.w).max()) <= bound and float(jnp.abs(layer.b).max()) <= bound
    x = np.random.default_rng(1).normal(size=(5, 3)).astype(np.float32)
    (w1, b1), (w2, b2) = ((np.asarray(l.w), np.asarray(l.b)) for l in params)
    expected = np.tanh(x @ w1 + b1) @ w2 + b2  # an independent evaluation in numpy
    np.testing.assert_allclose(np.asarray(mlp_apply(params, x, jnp.tanh)), expected, rtol=1e-5, atol=1e-6)


def test_mlp_refuses_bad_sizes() -> None:
    with pytest.raises(ValueError, match="sizes"):
        mlp_init(jax.random.PRNGKey(0), (3,))
    with pytest.raises(ValueError, match="sizes"):
        mlp_init(jax.random.PRNGKey(0), (3, 0, 1))


def test_replay_is_a_ring_worked_by_hand() -> None:
    buf = replay_init(3, obs_dim=1, act_dim=None)
    for t in range(5):  # transitions 0..4 into 3 slots: slots hold 3, 4, 2
        buf = replay_add(buf, jnp.array([t]), t, float(t), jnp.array([t + 1]), t == 4)
    assert int(buf.size) == 3 and int(buf.ptr) == 2
    assert buf.reward.tolist() == [3.0, 4.0, 2.0]
    assert buf.terminated.tolist() == [False, True, False]
    batch = replay_add_batch(replay_init(3, 1, 2), jnp.zeros((2, 1)), jnp.ones((2, 2)), jnp.array([7.0, 8.0]),
                             jnp.zeros((2, 1)), jnp.array([False, False]))
    assert int(batch.size) == 2 and int(batch.ptr) == 2 and batch.reward.tolist() == [7.0, 8.0, 0.0]


def test_replay_samples_only_stored_transitions() -> None:
    buf = replay_init(100, obs_dim=1, act_dim=None)
    for t in range(4):
        buf = replay_add(buf, jnp.array([t]), t, float(t + 1), jnp.array([t]), False)
    _, _, reward, _, _ = replay_sample(buf, jax.random.PRNGKey(0), 4000)
    counts = np.bincount(np.asarray(reward).astype(int), minlength=5)
    assert counts[0] == 0 and (counts[1:] > 850).all()  # uniform over the 4 stored: 1000 each
