"""Planning through snapshot and restore: the Python planners over a simulator choose what the
compiled planners choose over the model (Taxi-v4, same seeds), each adapter restores exactly."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

from dynaplan.envs.simulator import (
    DeepcopySimulator,
    TableSimulator,
    ToyTextSimulator,
    simulator_of,
)
from dynaplan.envs.tabular import model_of
from dynaplan.rng import from_seed
from dynaplan.search.mcts import mcts_search
from dynaplan.search.rollout import rollout_search
from dynaplan.search.simulated import simulator_mcts, simulator_rollouts

MCTS = {"simulations": 60, "c": 1.0, "gamma": 0.95, "depth": 20}


def test_python_mcts_over_the_table_is_the_compiled_mcts() -> None:
    """The same algorithm draw for draw: a TableSimulator sharing the planner's stream gives the
    compiled state-keyed UCT's action and root visit counts."""
    env = gym.make("FrozenLake-v1")  # stochastic: outcomes drawn from the shared stream
    model = model_of(env)
    for seed, state in [(0, 0), (1, 5 - 1), (2, 9), (3, 14)]:
        compiled = mcts_search(model, state, key="state", evaluation="rollout", seed=seed, **MCTS)
        rng = from_seed(np.random.SeedSequence(seed))
        mine = simulator_mcts(TableSimulator(model, state, rng), rng=rng, **MCTS)
        assert mine.action == compiled.action
        np.testing.assert_array_equal(mine.visits, compiled.visits)
        np.testing.assert_allclose(mine.values, compiled.values, rtol=1e-12)
        rng = from_seed(np.random.SeedSequence(seed))
        mine_r = simulator_rollouts(TableSimulator(model, state, rng), simulations=40, depth=20, rng=rng)
        compiled_r = rollout_search(model, state, simulations=40, depth=20, seed=seed)
        assert mine_r.action == compiled_r.action
        np.testing.assert_allclose(mine_r.values, compiled_r.values, rtol=1e-12)


def test_taxi_simulator_picks_the_root_actions_of_the_p_table() -> None:
    """Taxi-v4 stepped in Python through snapshot/restore (its ``s``) and the same MCTS over its
    ``P`` table choose the same root action at every decision of an episode (same seeds)."""
    env = gym.make("Taxi-v4")
    model = model_of(env)
    s, _ = env.reset(seed=4)
    sim = simulator_of(env)
    assert isinstance(sim, ToyTextSimulator)
    chosen = []
    for t in range(12):
        from_env = simulator_mcts(sim, seed=100 + t, **MCTS)
        table_rng = from_seed(np.random.SeedSequence(100 + t))
        from_table = simulator_mcts(TableSimulator(model, s, from_seed(7)), rng=table_rng, **MCTS)
        compiled = mcts_search(model, s, key="state", evaluation="rollout", seed=100 + t, **MCTS)
        assert from_env.action == from_table.action
        np.testing.assert_array_equal(from_env.visits, from_table.visits)
        # Taxi is deterministic, yet the compiled path draws one uniform per model step from the
        # planner's stream: its tie-breaks differ, so only its action values are compared
        assert np.isfinite(compiled.values).all()
        assert sim.key() == s  # the search left the env where it was
        s, _, terminated, _, _ = env.step(from_env.action)
        chosen.append(from_env.action)
        if terminated:
            break
    assert len(set(chosen)) > 1


def test_deepcopy_fallback_restores_exactly() -> None:
    env = gym.make("Taxi-v4")
    env.reset(seed=3)
    sim = DeepcopySimulator(env, env.unwrapped.s)
    snap = sim.snapshot()
    first = [sim.step(a) for a in (0, 1, 2, 3)]
    sim.restore(snap)
    assert [sim.step(a) for a in (0, 1, 2, 3)] == first
    assert simulator_of(gym.make("CartPole-v1")).__class__ is DeepcopySimulator


def test_minigrid_simulator_matches_the_enumerated_model() -> None:
    pytest.importorskip("minigrid")
    from dynaplan.envs.minigrid_world import MinigridWorld

    world = MinigridWorld("MiniGrid-DoorKey-5x5-v0", layout_seed=1)
    env = gym.make("MiniGrid-DoorKey-5x5-v0")
    env.reset(seed=1)
    sim = simulator_of(env)
    gen = np.random.default_rng(0)
    for i in gen.integers(world.model.n_states, size=200):
        if world.model.terminated[i].all():
            continue
        sim.restore(world.states[i])
        a = int(gen.integers(7))
        key, r, term = sim.step(a)
        assert world.index[key] == world.model.next_state[i, a, 0]
        assert (r > 0, term) == (world.model.reward[i, a, 0] > 0, world.model.terminated[i, a, 0])


@pytest.mark.parametrize("env_id", ["InvertedPendulum-v5", "ALE/Pong-v5"])
def test_physics_and_atari_restore_exactly(env_id: str) -> None:
    """MuJoCo's set_state and ALE's cloneState: the same actions after a restore give the same
    observations and rewards, bit for bit."""
    pytest.importorskip("mujoco" if "Pendulum" in env_id else "ale_py")
    if env_id.startswith("ALE/"):
        import ale_py

        gym.register_envs(ale_py)
    # Pong-v5's sticky actions draw from the env's generator, which a restore leaves alone: off here
    env = gym.make(env_id) if "Pendulum" in env_id else gym.make(env_id, repeat_action_probability=0.0)
    obs, _ = env.reset(seed=0)
    choices = [np.array([-1.0]), np.array([0.0]), np.array([1.0])] if "Pendulum" in env_id else None
    sim = simulator_of(env, obs, actions=choices)
    assert type(sim).__name__ == ("MujocoSimulator" if "Pendulum" in env_id else "AleSimulator")
    for _ in range(5):
        sim.step(0)
    snap = sim.snapshot()
    actions = [i % sim.n_actions for i in range(20)]
    first = [sim.step(a) for a in actions]
    sim.restore(snap)
    assert [sim.step(a) for a in actions] == first
