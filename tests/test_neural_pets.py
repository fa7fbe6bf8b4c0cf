"""The PETS agent: object API == batched runner, a small learning check, bad input in one line.

The contract of the one agent protocol (object API == the runner's ``run_compiled`` bit for bit,
determinism, bad input refused by name) is ``tests/test_equivalence.py``'s ``check_agent`` on
every registered agent, PETS among them."""

import subprocess
import sys

import gymnasium as gym
import numpy as np
import pytest

jax = pytest.importorskip("jax")

from dynaplan.agents.base import ParamError, play_episode  # noqa: E402
from dynaplan.agents.pets import PETS, config_of  # noqa: E402
from dynaplan.agents.pets_params import check_pets_params  # noqa: E402
from dynaplan.neural.pets import run_seeds  # noqa: E402
from dynaplan.neural.worlds import CARTPOLE_SWINGUP, PENDULUM  # noqa: E402

#: A tiny PETS (a run of 2 episodes of 200 steps compiles and runs in seconds).
TINY = {"members": 2, "hidden_width": 16, "population": 24, "horizon": 8, "iterations": 2, "elites": 4,
        "particles": 2}


def test_object_api_equals_batched_runner():
    """The agent stepping ``dynaplan/CartpoleSwingup-v0`` through Gymnasium makes the runner's run
    of the same seed (the runner batches seeds 3 and 8 in one program): the same returns per
    episode to float32 rounding (the batched programs may round differently). With the learned
    terminal value on (fitted after each episode, used by the second), so both faces' value
    fitting and its use in the planner are held to each other as well."""
    params = {**TINY, "terminal_value": True}
    cfg = config_of(CARTPOLE_SWINGUP, params, episodes=2, replay_size=0)
    rows = run_seeds(cfg, [3, 8])
    env = gym.make("dynaplan/CartpoleSwingup-v0")
    agent = PETS(env, seed=8, **params)
    returns = [play_episode(agent, env, seed=8 if e == 0 else None)[1] for e in range(2)]
    expected = [r["return"] for r in rows if r["seed"] == 8]
    np.testing.assert_allclose(returns, expected, rtol=2e-3, atol=1e-2)
    assert agent.view().stored == 400 and np.isfinite(agent.view().holdout_mse)
    assert rows[-1]["env_steps"] == 400 and np.isfinite(rows[-1]["holdout_mse"])


def test_true_model_mpc_swings_pendulum_up_and_random_does_not():
    """Ground truth for the whole loop on the true model: MPC (CEM 100 x 20 steps x 2) keeps the
    pendulum near upright from a random start (return > -400 over 200 steps; upright from the
    start costs about -120 at worst), random torques do not (about -1,200)."""
    planned = run_seeds(config_of(PENDULUM, {"model": "true", "population": 100, "horizon": 20, "iterations": 2,
                                             "random_episodes": 0}), [0, 1])
    rand = run_seeds(config_of(PENDULUM, {"model": "random"}), [0, 1])
    assert all(r["return"] > -400 for r in planned), planned
    assert all(r["return"] < -600 for r in rand), rand


def test_jax_free_choices_are_the_neural_modules_own():
    from dynaplan.agents import pets_params
    from dynaplan.neural import mpc, pets, propagation

    assert (pets_params.METHODS, pets_params.MODELS, pets_params.PROPAGATIONS) == (
        mpc.METHODS, pets.MODELS, propagation.PROPAGATIONS)


@pytest.mark.parametrize("params,key", [
    ({"members": 0}, "members"), ({"particles": 3}, "particles"), ({"model": "gp"}, "model"),
    ({"planner": "ilqr"}, "planner"), ({"bonus": float("nan")}, "bonus"), ({"elites": 500}, "elites"),
    ({"warm_start": 1}, "warm_start"), ({"horizon": 0}, "horizon"), ({"terminal_value": "yes"}, "terminal_value"),
    ({"value_discount": 1.0}, "value_discount"),
])
def test_bad_parameters_name_their_key(params, key):
    with pytest.raises(ParamError) as err:
        check_pets_params(params)
    assert err.value.key == key and "\n" not in str(err.value)


def _object_api(env_id: str, params: dict, call: str, value: object) -> None:
    env = gym.make(env_id)
    agent = PETS(env, seed=0, **params)
    obs, _ = env.reset(seed=0)
    if call == "act":
        agent.act(value)
    elif call == "observe_action":
        agent.observe(obs, value, 0.0, obs, False, False)
    else:
        agent.observe(obs, np.zeros(1, np.float32), 0.0, value, False, False)


BAD_INPUT = [  # (where, what, the fragment of the one line)
    ("object", ("FrozenLake-v1", {}, "", None), "needs a Box action space"),
    ("object", ("CartPole-v1", {}, "", None), "needs a Box action space"),
    ("object", ("Pendulum-v1", {"members": 0}, "", None), "members must be a positive integer"),
    ("object", ("Pendulum-v1", {"population": 100_000, "particles": 1000}, "", None), "population x particles"),
    ("object", ("Pendulum-v1", TINY, "observe_action", np.zeros(2, np.float32)), "action must have shape (1,)"),
    ("object", ("Pendulum-v1", TINY, "observe_action", np.array([2.5], np.float32)), "and within"),
    ("object", ("Pendulum-v1", TINY, "observe_action", np.array([np.nan], np.float32)), "action must be finite"),
    ("object", ("Pendulum-v1", TINY, "act", np.full(3, np.nan)), "obs must be finite"),
    ("object", ("Pendulum-v1", TINY, "next_obs", np.array([0.0, np.inf, 0.0])), "next_obs must be finite"),
    ("object", ("Pendulum-v1", TINY, "act", np.zeros(4)), "obs must have shape (3,)"),
    ("cli", ["--env", "CartPole-v1"], "needs a Box action space, got Discrete(2)"),
    ("cli", ["--env", "Pendulum-v1", "--set", "members=0"], "params.members: members must be a positive integer"),
]


@pytest.mark.parametrize("where,case,fragment", BAD_INPUT, ids=[f"{w}-{f[:24]}" for w, _, f in BAD_INPUT])
def test_bad_input_is_one_line(tmp_path, where, case, fragment):
    """A Discrete-action env given to the continuous planner, an action of the wrong shape or
    outside the box, NaN observations, an ensemble of size 0, sizes past their bounds: through the
    object API one ``ValueError`` line naming the problem (nothing stored); through ``dynaplan
    run`` one line on stderr and exit status 2."""
    if where == "object":
        env_id, params, call, value = case
        with pytest.raises(ValueError) as err:
            if call:
                _object_api(env_id, params, call, value)
            else:
                PETS(gym.make(env_id), seed=0, **params)
        assert fragment in str(err.value) and "\n" not in str(err.value), str(err.value)
        return
    proc = subprocess.run([sys.executable, "-m", "dynaplan.cli", "run", "--agent", "pets", *case, "--runs", "1",
                           "--episodes", "1", "--out", str(tmp_path / "out")], capture_output=True, text=True,
                          cwd=tmp_path, timeout=300)
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert proc.returncode == 2 and len(lines) == 1 and fragment in lines[0], proc.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("args,fragment", [
    (["--set", "episodes=0"], "episodes must be"),
    (["--set", "episodes=true"], "episodes must be"),
    (["--set", "env='FrozenLake-v1'"], "the deep-mpc kind runs"),
])
def test_cli_bad_input_is_one_line_and_exit_2(tmp_path, args, fragment):
    proc = subprocess.run([sys.executable, "-m", "dynaplan.cli", "reproduce", "deep-mpc", *args, "--out",
                           str(tmp_path / "out")], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert proc.returncode == 2 and len(lines) == 1 and fragment in lines[0], proc.stderr


def test_deep_mpc_reproduction_small_size():
    """The shipped spec at a tiny size: the tidy table's columns, one row per (agent, env, seed,
    episode), the summary's intervals and the figure."""
    from dynaplan.experiments.reproductions import load_all

    rep = load_all()["deep-mpc"]
    table = rep.run(runs=2, episodes=2, env=["Pendulum-v1"], members=1, hidden_width=8, population=8,
                    horizon=4, iterations=1, elites=2, particles=1)
    assert {"agent", "seed", "episode", "env_steps", "return"} <= set(table.columns)
    assert len(table) == 5 * 2 * 2 and set(table.agent) == {"random", "pets", "pets-no-warm-start",
                                                            "pets+terminal-value", "true-model-mpc"}
    assert (table.groupby(["agent", "seed"]).env_steps.max() == 400).all()
    summary = rep.summary(table)
    assert set(summary.agent) == set(table.agent) and (summary.runs == 2).all()
    assert np.isfinite(summary["95% +-"]).all()
