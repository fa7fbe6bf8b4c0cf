"""Worlds stepped in JAX against Gymnasium's own envs (the reference implementation)."""

import gymnasium as gym
import numpy as np
import pytest

jax = pytest.importorskip("jax")
import jax.numpy as jnp  # noqa: E402

from dynaplan.neural.worlds import CARTPOLE_SWINGUP, MOUNTAIN_CAR, PENDULUM, true_model_step, world_step  # noqa: E402


def _policy(env_id, obs, rng):
    if env_id == "Pendulum-v1":  # torques beyond the bound of 2 check the clip
        return rng.uniform(-3, 3, (1,)).astype(np.float32)
    # energy pumping with noise, out of bounds at times: reaches the goal and hits the left wall
    return np.array([1.5 * np.sign(obs[1] + 1e-6) + rng.normal(0, 0.5)], np.float32)


@pytest.mark.parametrize("world", [PENDULUM, MOUNTAIN_CAR], ids=lambda w: w.env_id)
def test_step_equals_gymnasium_10000_steps(world):
    """10,000 steps (4 seeds x 2,500) of gymnasium.make(id) with Gymnasium's own resets and time
    limit; each step is replayed in JAX from Gymnasium's state: observation, reward and
    termination agree at float32 tolerance (Gymnasium computes in float64)."""
    states, actions, obs_ref, rew_ref, term_ref = [], [], [], [], []
    for seed in range(4):
        env = gym.make(world.env_id)
        rng = np.random.default_rng(seed)
        obs, _ = env.reset(seed=seed)
        for _ in range(2500):
            a = _policy(world.env_id, obs, rng)
            states.append(np.asarray(env.unwrapped.state, np.float32))
            actions.append(a)
            obs, r, term, trunc, _ = env.step(a)
            obs_ref.append(obs), rew_ref.append(r), term_ref.append(term)
            if term or trunc:
                obs, _ = env.reset()
    step = jax.jit(jax.vmap(lambda s, a: world_step(world, s, a)))
    _, next_obs, reward, terminated = step(jnp.asarray(np.array(states)), jnp.asarray(np.array(actions)))
    np.testing.assert_allclose(np.asarray(next_obs), np.array(obs_ref), atol=2e-5, rtol=1e-5)
    np.testing.assert_allclose(np.asarray(reward), np.array(rew_ref), atol=5e-5, rtol=1e-5)
    assert (np.asarray(terminated) == np.array(term_ref)).all()
    if world is MOUNTAIN_CAR:  # the events the rules are about happened
        assert sum(term_ref) >= 10
        assert (np.array(obs_ref)[:, 0] <= -1.2 + 1e-6).sum() >= 1  # stopped at the left wall
    # the true model on observations gives the same steps (the MPC reference row)
    obs_before = jax.vmap(world.observe)(jnp.asarray(np.array(states)))
    model_obs, model_r = jax.vmap(lambda o, a: true_model_step(world, o, a))(obs_before, jnp.asarray(np.array(actions)))
    np.testing.assert_allclose(np.asarray(model_obs), np.array(obs_ref), atol=1e-4, rtol=1e-4)
    np.testing.assert_allclose(np.asarray(model_r), np.array(rew_ref), atol=2e-4, rtol=1e-4)


def test_cartpole_swingup_physics_and_registration():
    """Unforced near upright, the pole falls away from upright and the cart recoils; the start
    hangs down; the reward is 1 upright over the origin and small hanging down; the Gymnasium
    registration has the 200-step limit and the same seed gives the same episode."""
    w = CARTPOLE_SWINGUP
    s = jnp.array([0.0, 0.0, 0.1, 0.0], jnp.float32)  # near upright: falls away from 0
    for _ in range(10):
        s = w.dynamics(s, jnp.zeros(1))
    assert float(s[2]) > 0.1 and float(s[3]) > 0 and float(s[0]) < 0  # the cart recoils
    start = w.reset(jax.random.PRNGKey(0))
    assert abs(float(start[2]) - np.pi) <= 0.05
    env = gym.make("dynaplan/CartpoleSwingup-v0")
    assert env.spec.max_episode_steps == 200
    o1, _ = env.reset(seed=3)
    traj1 = [env.step(np.array([0.7], np.float32))[0] for _ in range(5)]
    o2, _ = env.reset(seed=3)
    traj2 = [env.step(np.array([0.7], np.float32))[0] for _ in range(5)]
    np.testing.assert_array_equal(o1, o2)
    np.testing.assert_array_equal(np.array(traj1), np.array(traj2))
    r_down = float(w.reward(w.observe(start), jnp.zeros(1), w.observe(start)))
    up = jnp.array([0.0, 0.0, 1.0, 0.0, 0.0])
    assert r_down < 0.03 and float(w.reward(up, jnp.zeros(1), up)) == pytest.approx(1.0)
