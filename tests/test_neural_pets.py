"""The PETS agent: object API == batched runner, a small learning check, bad input in one line."""

import subprocess
import sys

import gymnasium as gym
import numpy as np
import pytest

jax = pytest.importorskip("jax")

from dynaplan.agents.base import ParamError, play_episode  # noqa: E402
from dynaplan.agents.pets import PETSAgent, config_of  # noqa: E402
from dynaplan.agents.pets_params import check_pets_params  # noqa: E402
from dynaplan.neural.pets import run_seeds  # noqa: E402
from dynaplan.neural.worlds import CARTPOLE_SWINGUP, PENDULUM  # noqa: E402

#: A tiny PETS (a run of 2 episodes of 200 steps compiles and runs in seconds).
TINY = {"members": 2, "hidden_width": 16, "population": 24, "horizon": 8, "iterations": 2, "elites": 4,
        "particles": 2, "episodes": 2}


def test_object_api_equals_batched_runner():
    """The agent stepping ``dynaplan/CartpoleSwingup-v0`` through Gymnasium makes the runner's run
    of the same seed (the runner batches seeds 3 and 8 in one program): the same returns per
    episode to float32 rounding (the batched programs may round differently)."""
    cfg = config_of(CARTPOLE_SWINGUP, TINY)
    rows = run_seeds(cfg, [3, 8])
    env = gym.make("dynaplan/CartpoleSwingup-v0")
    agent = PETSAgent(env, seed=8, **TINY)
    returns = [play_episode(agent, env, seed=8 if e == 0 else None)[1] for e in range(2)]
    expected = [r["return"] for r in rows if r["seed"] == 8]
    np.testing.assert_allclose(returns, expected, rtol=2e-3, atol=1e-2)
    assert agent.view()["stored"] == 400 and np.isfinite(agent.view()["holdout_mse"])
    assert rows[-1]["env_steps"] == 400 and np.isfinite(rows[-1]["holdout_mse"])


def test_true_model_mpc_swings_pendulum_up_and_random_does_not():
    """Ground truth for the whole loop on the true model: MPC (CEM 100 x 20 steps x 2) keeps the
    pendulum near upright from a random start (return > -400 over 200 steps; upright from the
    start costs about -120 at worst), random torques do not (about -1,200)."""
    planned = run_seeds(config_of(PENDULUM, {"model": "true", "population": 100, "horizon": 20, "iterations": 2,
                                             "episodes": 1, "random_episodes": 0}), [0, 1])
    rand = run_seeds(config_of(PENDULUM, {"model": "random", "episodes": 1}), [0, 1])
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
    ({"warm_start": 1}, "warm_start"), ({"horizon": 0}, "horizon"),
])
def test_bad_parameters_name_their_key(params, key):
    with pytest.raises(ParamError) as err:
        check_pets_params(params)
    assert err.value.key == key and "\n" not in str(err.value)


def test_bad_envs_actions_and_observations_are_one_line():
    with pytest.raises(ValueError, match="needs a Box action space"):
        PETSAgent(gym.make("FrozenLake-v1"))
    env = gym.make("dynaplan/CartpoleSwingup-v0")
    agent = PETSAgent(env, seed=0, **TINY)
    obs, _ = env.reset(seed=0)
    good = np.zeros(1, np.float32)
    for bad, msg in (([0.0, 0.0], "shape"), ([2.0], "within"), ([np.nan], "finite")):
        with pytest.raises(ValueError, match=msg):
            agent.observe(obs, np.array(bad, np.float32), 0.0, obs, False, False)
    with pytest.raises(ValueError, match="finite"):
        agent.act(np.full(5, np.nan))
    with pytest.raises(ValueError, match="shape"):
        agent.act(np.zeros(3))
    agent.observe(obs, good, 0.0, obs, False, False)  # a good transition is accepted
    assert agent.view()["stored"] == 1


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
    assert len(table) == 4 * 2 * 2 and set(table.agent) == {"random", "pets", "pets-no-warm-start", "true-model-mpc"}
    assert (table.groupby(["agent", "seed"]).env_steps.max() == 400).all()
    summary = rep.summary(table)
    assert set(summary.agent) == set(table.agent) and (summary.runs == 2).all()
    assert np.isfinite(summary["95% +-"]).all()
