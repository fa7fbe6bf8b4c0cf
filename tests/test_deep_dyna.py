"""Deep Dyna (SAC, MBPO, DQN, Dyna-DQN) against ground truth: the soft value in closed form,
Gymnasium's Pendulum-v1 for the branched rollouts, the single runs for the batched runner; bad
input refused in one line by the registered agents (``dynaplan.agents.deep_dyna``, no JAX needed).

The object API == ``run_compiled`` contract of the four registered agents is
``tests/test_equivalence.py``'s (``dynaplan.testing.check_agent`` on every registered agent)."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

from dynaplan.agents import AGENTS
from dynaplan.cli import main
from dynaplan.core.params import ParamError

jax = pytest.importorskip("jax")

import jax.numpy as jnp  # noqa: E402

from dynaplan.neural.mbpo import branched_rollout, rollout_length  # noqa: E402
from dynaplan.neural.nets import Dense  # noqa: E402
from dynaplan.neural.runner import run_one, run_seeds  # noqa: E402
from dynaplan.neural.sac import SACConfig, sac_critic_step, sac_init, squashed_sample, twin_q  # noqa: E402
from dynaplan.neural.worlds import PENDULUM  # noqa: E402


def squashed_entropy(log_std: float, scale: float) -> float:
    """Entropy of ``scale * tanh(u)``, ``u ~ N(0, sigma^2)``: the Gaussian's plus
    ``E[log(scale (1 - tanh(u)^2))]``, by quadrature (scipy, independent of the code)."""
    from scipy import integrate

    s = np.exp(log_std)

    def f(z: float) -> float:
        u = s * z
        return float(np.exp(-z * z / 2) / np.sqrt(2 * np.pi) * (np.log(scale) - 2 * np.log(np.cosh(u))))

    gauss = 0.5 * np.log(2 * np.pi * np.e) + log_std
    return gauss + integrate.quad(f, -12, 12)[0]


def test_sac_critic_converges_to_the_closed_form_soft_value() -> None:
    """One state looping to itself, reward 1, discount 0.5, temperature 0.2, the actor frozen at
    mean 0 and sigma 1 with actions squashed into [-2, 2]: the soft Bellman equation (Haarnoja et
    al. 2018b, eq. 3) gives Q = (r + gamma alpha H) / (1 - gamma) for every action, H the squashed
    policy's entropy. The critics converge to it within 1%."""
    gamma, alpha, r = 0.5, 0.2, 1.0
    cfg = SACConfig(obs_dim=1, act_dim=1, low=(-2.0,), high=(2.0,), hidden=(16,), lr_critic=1e-2, gamma=gamma,
                    tau=0.05, batch=256, init_alpha=alpha)
    state = sac_init(jax.random.PRNGKey(0), cfg)
    pre = np.arctanh(5 / 3.5 - 1)  # log_std = -5 + 3.5 (tanh(pre) + 1) = 0
    last = state.actor[-1]
    state = state._replace(actor=(*state.actor[:-1], Dense(jnp.zeros_like(last.w), jnp.array([0.0, pre], jnp.float32))))
    obs, rew, term = jnp.zeros((256, 1)), jnp.full((256,), r), jnp.zeros((256,), bool)

    @jax.jit
    def train(state, key):  # type: ignore[no-untyped-def]
        def body(s, k):  # type: ignore[no-untyped-def]
            k_a, k_u = jax.random.split(k)
            a = jax.random.uniform(k_a, (256, 1), minval=-2.0, maxval=2.0)
            return sac_critic_step(s, cfg, (obs, a, rew, obs, term), k_u), None
        return jax.lax.scan(body, state, jax.random.split(key, 1000))[0]

    state = train(state, jax.random.PRNGKey(1))
    h = squashed_entropy(0.0, 2.0)
    expected = (r + gamma * alpha * h) / (1 - gamma)
    # the sampled log-probs of the code agree with the quadrature entropy
    _, logp = squashed_sample(state.actor, cfg, jnp.zeros((200_000, 1)), jax.random.PRNGKey(2))
    assert float(-logp.mean()) == pytest.approx(h, abs=0.01)
    q = np.asarray(twin_q(state.critic, jnp.zeros((41, 1)), jnp.linspace(-1.9, 1.9, 41)[:, None]))
    np.testing.assert_allclose(q, expected, rtol=0.01)


def test_branched_rollouts_through_the_true_model_are_gymnasiums_transitions() -> None:
    """MBPO's rollout with the true Pendulum model plugged in: every imagined transition equals
    Gymnasium's Pendulum-v1 stepped from the same state with the same action."""
    cfg = SACConfig(obs_dim=3, act_dim=1, low=(-2.0,), high=(2.0,), hidden=(16, 16))
    actor = sac_init(jax.random.PRNGKey(3), cfg).actor

    def true_step(key, obs, action):  # type: ignore[no-untyped-def]
        next_obs = jax.vmap(PENDULUM.obs_dynamics)(obs, action)
        return next_obs, jax.vmap(PENDULUM.reward)(obs, action, next_obs), jnp.zeros(obs.shape[:1], bool)

    rng = np.random.default_rng(0)
    states = rng.uniform([-np.pi, -1.0], [np.pi, 1.0], size=(6, 2))
    start = np.stack([np.cos(states[:, 0]), np.sin(states[:, 0]), states[:, 1]], -1).astype(np.float32)
    ro = branched_rollout(true_step, lambda k, o: squashed_sample(actor, cfg, o, k)[0], jax.random.PRNGKey(4),
                          jnp.asarray(start), 5)
    assert ro.obs.shape == (5, 6, 3) and bool(ro.alive.all())
    env = gym.make("Pendulum-v1").unwrapped
    env.reset(seed=0)
    for m in range(6):
        env.state = states[m].copy()
        for t in range(5):
            np.testing.assert_allclose(ro.obs[t, m], env._get_obs(), atol=2e-5)
            obs, reward, *_ = env.step(np.asarray(ro.action[t, m]))
            np.testing.assert_allclose(ro.next_obs[t, m], obs, atol=2e-5)
            assert float(ro.reward[t, m]) == pytest.approx(reward, abs=1e-4)
    assert [rollout_length(t, (100, 200, 1, 5)) for t in (0, 100, 150, 200, 900)] == [1, 1, 3, 5, 5]


SHORT = {"max_episode_steps": 40}  # Pendulum episodes of 40 steps: several episodes in a short run
TINY_SAC = {"hidden": 8, "batch": 16, "learning_starts": 30, "buffer": 200}
CASES = [
    ("sac", "Pendulum-v1", TINY_SAC, 130, SHORT),
    ("mbpo", "Pendulum-v1", {**TINY_SAC, "updates_per_step": 2, "members": 2, "model_hidden": 8,
                             "model_train_every": 50, "rollouts_per_step": 4, "model_retain": 10,
                             "rollout_schedule": [0, 0, 2, 2]}, 130, SHORT),
    ("dyna-dqn", "CartPole-v1", {"hidden": 8, "batch": 16, "learning_starts": 30, "explore_steps": 100,
                                 "buffer": 200, "planning_steps": 3, "target_every": 20}, 160, {}),
]


@pytest.mark.parametrize(("name", "env_id", "params", "steps", "env_kwargs"), CASES, ids=[c[0] for c in CASES])
def test_object_api_equals_batched_runner(name, env_id, params, steps, env_kwargs) -> None:  # type: ignore[no-untyped-def]
    """Seed 7 alone (act / observe on one env) and seed 7 among seeds [5, 7] in the vmapped
    runner give the same episodes (learning, model refits and planning included)."""
    cls = AGENTS[name]
    impl, checked = cls.implementation(), cls.check_params(params)
    one = run_one(impl, env_id, 7, steps, checked, env_kwargs)
    many, _ = run_seeds(impl, env_id, [5, 7], steps, checked, env_kwargs)
    mine = many[many.seed == 7].reset_index(drop=True)
    assert len(one) >= 3 and list(one.episode) == list(mine.episode)
    assert one.updates.iloc[-1] > 0 and (name == "sac" or one.model_steps.iloc[-1] > 0)
    np.testing.assert_array_equal(one.env_steps, mine.env_steps)
    np.testing.assert_allclose(one["return"], mine["return"], rtol=1e-3)
    other = many[many.seed == 5]["return"].to_numpy()
    assert not np.allclose(other[: len(one)], one["return"].to_numpy()[: len(other)])


def test_bad_input_is_refused_in_one_line(capsys: pytest.CaptureFixture[str], tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Wrong spaces, out-of-range and unknown parameters: one line naming the problem, from the
    registered agents (before any network is built) and from the command line (exit status 2).
    Wrong observations, actions, rewards and flags: ``check_agent`` in ``test_equivalence.py``."""
    pend, cart = gym.make("Pendulum-v1"), gym.make("CartPole-v1")
    cases = [
        (lambda: AGENTS["sac"](cart), "sac needs a bounded flat Box action space"),
        (lambda: AGENTS["dqn"](pend), "dqn needs a Discrete action space"),
        (lambda: AGENTS["mbpo"](gym.make("FrozenLake-v1")), "mbpo needs a flat Box observation space"),
        (lambda: AGENTS["sac"](pend, tau=2.0), "tau must be a number in (0, 1]"),
        (lambda: AGENTS["sac"].check_params({"hidden": 0}), "hidden must be an integer"),
        (lambda: AGENTS["mbpo"].check_params({"rollout_schedule": [5, 1, 1, 1]}), "rollout_schedule must be"),
        (lambda: AGENTS["mbpo"].check_params({"learning_starts": 3}), "learning_starts must be >= 6"),
        (lambda: AGENTS["dyna-dqn"].check_params({"planning_steps": -1}), "planning_steps must"),
        (lambda: AGENTS["dqn"].check_params({"alpha": 0.1}), "unknown parameter(s) for dqn: alpha"),
    ]
    for make, text in cases:
        with pytest.raises(ValueError) as err:
            make()
        assert text in str(err.value) and "\n" not in str(err.value)
    assert AGENTS["mbpo"].defaults()["updates_per_step"] == 20 and AGENTS["dyna-dqn"].defaults()["planning_steps"] == 5
    with pytest.raises(ParamError) as info:
        AGENTS["dqn"].check_params({"epsilon_end": 1.5})
    assert info.value.key == "epsilon_end"
    for args, text in [
        (("--agent", "sac", "--env", "CartPole-v1"), "sac needs a bounded flat Box action space, got Discrete(2)"),
        (("--agent", "dyna-dqn", "--env", "Pendulum-v1"), "dyna-dqn needs a Discrete action space"),
        (("--agent", "mbpo", "--env", "Pendulum-v1", "--set", "real_ratio=1.5"), "params.real_ratio: real_ratio must"),
    ]:
        capsys.readouterr()
        rc = main(["run", *args, "--runs", "1", "--episodes", "1", "--out", str(tmp_path / "out")])
        err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
        assert rc == 2 and len(err) == 1 and text in err[0], (rc, err)
    assert not (tmp_path / "out").exists()


def test_the_reproductions_cells_are_checked_by_the_registered_agents() -> None:
    """Every cell of the shipped deep-dyna spec passes the kind's check (the registered agents'
    parameter and space checks, no network built); a bad cell is refused naming its key."""
    import tomllib
    from pathlib import Path

    import dynaplan.experiments.reproductions.deep_dyna as repro

    spec = Path(repro.__file__).parents[1] / "specs" / "deep-dyna.toml"
    cells = tomllib.loads(spec.read_text())["cells"]
    assert {(c["agent"], c["planning"]) for c in cells} == {("sac", 1), ("mbpo", 5), ("mbpo", 20), ("dqn", 0),
                                                             ("dyna-dqn", 5), ("dyna-dqn", 50)}
    for cell in cells:
        repro.check_deep_dyna(cell)
    mbpo, dqn = cells[0], next(c for c in cells if c["agent"] == "dqn")
    for cell, key in [({**mbpo, "env": "CartPole-v1"}, "env"), ({**mbpo, "real_ratio": 2.0}, "real_ratio"),
                      ({**mbpo, "planning": -1}, "updates_per_step"), ({**dqn, "planning": 5}, "planning"),
                      ({**mbpo, "steps": 0}, "steps"), ({**mbpo, "agent": "ppo"}, "agent")]:
        with pytest.raises(ParamError) as info:
            repro.check_deep_dyna(cell)
        assert info.value.key == key and "\n" not in str(info.value), (key, str(info.value))
