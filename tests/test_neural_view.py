"""The neural view's frames show the planner's own numbers (``explore.neural_view``).

Each test reads both: the frame the page draws and the records it was made from, recomputed
here: the decision against ``mpc.plan`` called with the agent's key and carried plan; the
drawn trajectories against the ``PlanSamples`` the planner returned (particle means taken here);
the elites against the top k of the planner's returns; the error map against the ensemble's
members evaluated here on the grid and the world's true dynamics; the real trajectory and the
data against the transitions stored.
"""

import numpy as np
import pytest

jax = pytest.importorskip("jax")
import jax.numpy as jnp  # noqa: E402

from dynaplan.explore.neural_view import NeuralSession  # noqa: E402
from dynaplan.neural.ensemble import ensemble_predict_all  # noqa: E402
from dynaplan.neural.mpc import plan  # noqa: E402
from dynaplan.neural.pets import agent_key  # noqa: E402


def _wrap(x):
    return (np.asarray(x) + np.pi) % (2 * np.pi) - np.pi


def _pendulum_plane(obs):
    obs = np.asarray(obs, np.float64)
    return np.stack([np.arctan2(obs[..., 1], obs[..., 0]), obs[..., 2]], -1)


def _expected_map(session):
    """The error map recomputed here: every member on every grid cell under the low, middle and
    high action, against the world's own next observation; errors in units of each axis' range."""
    w, ens, params = session.world, session.cfg.ensemble, session.model_params
    (x0, y0), (x1, y1) = session.plane.low, session.plane.high
    n = session.grid
    xs, ys = x0 + (np.arange(n) + 0.5) * (x1 - x0) / n, y0 + (np.arange(n) + 0.5) * (y1 - y0) / n
    span = np.array([x1 - x0, y1 - y0])
    error, disagreement = np.zeros((n, n)), np.zeros((n, n))
    cells = np.array([(x, y) for y in ys for x in xs])
    obs = np.stack([np.cos(cells[:, 0]), np.sin(cells[:, 0]), cells[:, 1]], -1).astype(np.float32)
    sq_err, sq_dev = np.zeros(n * n), np.zeros(n * n)
    for a in (w.action_low, 0.0, w.action_high):
        act = np.full((n * n, 1), a, np.float32)
        mu, _ = ensemble_predict_all(ens, params, jnp.asarray(obs), jnp.asarray(act))
        members = _pendulum_plane(np.asarray(mu)[..., :3])  # [E, N, 2]
        mean = _pendulum_plane(np.asarray(mu)[..., :3].mean(0))
        true = _pendulum_plane(np.asarray(jax.vmap(w.obs_dynamics)(jnp.asarray(obs), jnp.asarray(act))))
        d = mean - true
        d[:, 0] = _wrap(d[:, 0])
        sq_err += ((d / span) ** 2).sum(-1)
        dev = members - mean[None]
        dev[..., 0] = _wrap(dev[..., 0])
        sq_dev += ((dev / span) ** 2).mean(0).sum(-1)
    error = np.sqrt(sq_err / 6).reshape(n, n)
    disagreement = np.sqrt(sq_dev / 6).reshape(n, n)
    return xs, ys, error, disagreement


def _check_map(session, f):
    xs, ys, error, disagreement = _expected_map(session)
    np.testing.assert_allclose(f["map"]["xs"], xs, rtol=1e-12)
    np.testing.assert_allclose(f["map"]["ys"], ys, rtol=1e-12)
    np.testing.assert_allclose(f["map"]["error"], error, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(f["map"]["disagreement"], disagreement, rtol=1e-4, atol=1e-6)


@pytest.fixture(scope="module")
def session():
    return NeuralSession("Pendulum-v1", seed=4, random_steps=30, fit_every=30, grid=8)


def test_pendulum_frames_show_the_planner_s_own_samples(session):
    f = session.handle({"type": "hello"})
    assert (f["stored"], f["fits"], f["planning"], f["decision"]) == (0, 0, False, None)
    _check_map(session, f)  # the untrained ensemble's map
    before = np.array(f["map"]["error"])
    f = session.handle({"type": "step", "count": 30})  # at random; the 30th stored transition triggers a fit
    assert (f["stored"], f["fits"], f["planning"], f["decision"]) == (30, 1, True, None)
    _check_map(session, f)
    data = np.asarray(session.data.obs[:30])
    np.testing.assert_allclose(f["data"], _pendulum_plane(data), rtol=1e-12)
    # the real trajectory: the episode's start, then each stored next observation
    real = np.concatenate([data[:1], np.asarray(session.data.next_obs[:30])])
    np.testing.assert_allclose(f["real"], _pendulum_plane(real), rtol=1e-12)
    # where the data are, the fitted model's one-step error fell
    n, lo, hi = session.grid, np.array(session.plane.low), np.array(session.plane.high)
    cells = np.floor((_pendulum_plane(data) - lo) / (hi - lo) * n).astype(int)
    seen = np.zeros((n, n), bool)
    seen[cells[:, 1], cells[:, 0]] = True
    after = np.array(f["map"]["error"])
    assert after[seen].mean() < 0.5 * before[seen].mean()

    for _ in range(2):  # two planned decisions (the second from the first's carried plan)
        carry, t, obs = session.carry, session.t, session.world.observe(session.state)
        f = session.handle({"type": "step", "count": 1})
        key = agent_key(session.key, 0, t)
        truth = plan(session.cfg.planner, session.cfg.ensemble, session.world, session.model_params, key, obs,
                     carry.mean)
        d = session.decision
        for a, b in zip(truth, d.result, strict=True):
            np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
        np.testing.assert_array_equal(np.asarray(session.data.action[session.stored - 1]), np.asarray(truth.action))
        shown = f["decision"]
        assert shown["action"] == np.asarray(truth.action).tolist() and shown["value"] == float(truth.value)
        np.testing.assert_allclose(shown["start"], _pendulum_plane(np.asarray(obs)), rtol=1e-12)
        assert len(shown["iterations"]) == session.cfg.planner.iterations == len(d.samples)
        for it, s in zip(shown["iterations"], d.samples, strict=True):
            states = np.asarray(s.states, np.float64)  # [P, K, H + 1, 3]
            theta = np.arctan2(states[..., 1], states[..., 0])
            mean_theta = np.arctan2(np.sin(theta).mean(1), np.cos(theta).mean(1))
            mean_v = states[..., 2].mean(1)
            np.testing.assert_allclose(np.array(it["trajectories"])[..., 0], mean_theta, rtol=1e-9, atol=1e-12)
            np.testing.assert_allclose(np.array(it["trajectories"])[..., 1], mean_v, rtol=1e-9, atol=1e-12)
            spread = np.array(it["spread"])
            np.testing.assert_allclose(spread[..., 1], states[..., 2].std(1), rtol=1e-9, atol=1e-12)
            dev = _wrap(theta - mean_theta[:, None])
            np.testing.assert_allclose(spread[..., 0], np.sqrt((dev**2).mean(1)), rtol=1e-9, atol=1e-12)
            returns = np.asarray(s.returns)
            assert it["returns"] == returns.astype(np.float64).tolist()
            k = session.cfg.planner.elites
            assert sorted(it["elites"]) == sorted(np.argsort(-returns, kind="stable")[:k].tolist())
            assert np.all(np.diff(returns[it["elites"]]) <= 0)  # best first
            assert spread[:, 0].max() < 1e-9 and spread[:, 1:].max() > 0.0  # particles start together, then part
        # the executed plan: imagined from the decision's start; the same actions in the true dynamics
        planned_true = np.asarray(obs)[None]
        for a in np.asarray(truth.mean):
            planned_true = np.concatenate([planned_true, np.asarray(session.world.obs_dynamics(
                jnp.asarray(planned_true[-1]), jnp.asarray(a)))[None]])
        np.testing.assert_allclose(shown["planned_true"], _pendulum_plane(planned_true), rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(shown["planned"][0], shown["start"], rtol=1e-12)
        assert len(shown["planned"]) == session.cfg.planner.horizon + 1
    assert f["steps"] == 32 and len(f["real"]) == 33


def test_bad_messages_get_one_line_and_change_nothing(session):
    first = session.handle({"type": "hello"})
    refused = [
        ([1], "a message must be a JSON object, got list"),
        ({"type": "grow"}, "unknown message type 'grow' (hello, step, fit, reset)"),
        ({"type": "step", "count": 0}, "count must be an integer in [1, 200], got 0"),
        ({"type": "step", "count": 1.5}, "count must be an integer in [1, 200], got 1.5"),
        ({"type": "reset", "seed": -1}, "seed must be an integer in [0, 2147483647], got -1"),
        ({"type": "reset", "world": "CartPole-v1"},
         "world must be one of Pendulum-v1, MountainCarContinuous-v0, got 'CartPole-v1'"),
    ]
    for msg, line in refused:
        assert session.handle(msg) == {"type": "error", "message": line}
    assert session.handle({"type": "hello"}) == first
    fresh = NeuralSession("Pendulum-v1", seed=4, random_steps=30, fit_every=30, grid=8)
    assert fresh.handle({"type": "fit"}) == {"type": "error",
                                             "message": "a fit needs at least 6 stored transitions, have 0"}
    with pytest.raises(ValueError, match="model must be 'pets' or 'de'"):
        NeuralSession(params={"model": "true"})
    with pytest.raises(ValueError, match="terminal_value must be false here"):
        NeuralSession(params={"terminal_value": True})
    with pytest.raises(ValueError, match=r"particles \(3\) must be a multiple of members \(2\)"):
        NeuralSession(params={"particles": 3})


def test_mountain_car_plane_is_position_and_velocity():
    s = NeuralSession("MountainCarContinuous-v0", seed=1, random_steps=6, fit_every=10**6, grid=4)
    f = s.handle({"type": "step", "count": 7})  # at random (no fit yet)
    assert f["axes"] == [["position", "velocity"], [-1.2, -0.07], [0.6, 0.07]] and not f["angle"]
    assert (f["stored"], f["fits"], f["planning"], f["decision"]) == (7, 0, False, None)
    obs = np.asarray(s.data.obs[:7], np.float64)
    np.testing.assert_allclose(f["data"], obs, rtol=1e-12)
    np.testing.assert_allclose(f["real"], np.concatenate([obs[:1], np.asarray(s.data.next_obs[:7])]), rtol=1e-12)
    # the map: position x velocity cells, every member against the true dynamics
    xs = -1.2 + (np.arange(4) + 0.5) * 0.45
    ys = -0.07 + (np.arange(4) + 0.5) * 0.035
    cells = np.array([(x, y) for y in ys for x in xs], np.float32)
    sq = np.zeros(16)
    for a in (-1.0, 0.0, 1.0):
        act = np.full((16, 1), a, np.float32)
        mu, _ = ensemble_predict_all(s.cfg.ensemble, s.model_params, jnp.asarray(cells), jnp.asarray(act))
        true = np.asarray(jax.vmap(s.world.obs_dynamics)(jnp.asarray(cells), jnp.asarray(act)))
        sq += (((np.asarray(mu).mean(0) - true) / np.array([1.8, 0.14])) ** 2).sum(-1)
    np.testing.assert_allclose(f["map"]["xs"], xs, rtol=1e-12)
    np.testing.assert_allclose(f["map"]["error"], np.sqrt(sq / 6).reshape(4, 4), rtol=1e-4, atol=1e-6)


def test_the_tabular_explorer_imports_no_jax_and_the_neural_page_says_how_to_install_it():
    """A server answering the tabular explorer imports no JAX; without JAX, the neural
    page's first message gets one line naming the extra (JAX hidden from the import system)."""
    code = """
import importlib.util, json, sys, threading, urllib.request
from dynaplan.explore.server import make_server
from dynaplan.explore.session import Session
server = make_server(Session(seed=0), "127.0.0.1", 0)
threading.Thread(target=server.serve_forever, daemon=True).start()
url = f"http://127.0.0.1:{server.server_address[1]}/"
def post(route, msg):
    req = urllib.request.Request(url + route, json.dumps(msg).encode(), {"Content-Type": "application/json"})
    try:
        return json.load(urllib.request.urlopen(req))
    except urllib.error.HTTPError as exc:
        return json.load(exc)
assert post("api", {"type": "hello"})["type"] != "error"
assert urllib.request.urlopen(url + "neural.html").status == 200
print("jax" in sys.modules)
real = importlib.util.find_spec
importlib.util.find_spec = lambda name, *a: None if name in ("jax", "optax") else real(name, *a)
print(json.dumps(post("neural-api", {"type": "hello"})))
"""
    import json
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.splitlines()
    assert out[0] == "False"
    assert json.loads(out[1]) == {"type": "error", "message": 'the neural view needs JAX: jax and optax not installed: '
                                  'the neural family needs JAX and optax: pip install -e ".[deep]" '
                                  "(or pip install 'dynaplan[deep]')"}
