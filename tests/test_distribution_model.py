"""Learned models: the distribution model's estimates and predecessor index, the sample model's index."""

import gymnasium as gym
import numpy as np
import pytest

import dynaplan
from dynaplan.envs.tabular import make_world, world_step
from dynaplan.models.distribution import (
    distribution_model_update,
    expected_target,
    new_distribution_model,
    predecessors_dist,
    probabilities,
    sample_outcome,
    to_tabular,
)
from dynaplan.models.sample import new_sample_model, predecessors, sample_model_update
from dynaplan.rng import from_seed


def true_probabilities(model):
    """p(s' | s, a) of an exact model as float64[S, A, S]."""
    n_states, n_actions, k_max = model.next_state.shape
    p = np.zeros((n_states, n_actions, n_states))
    for k in range(k_max):
        s_idx, a_idx = np.meshgrid(np.arange(n_states), np.arange(n_actions), indexing="ij")
        np.add.at(p, (s_idx, a_idx, model.next_state[:, :, k]), model.prob[:, :, k])
    return p


def fill(model, world, n_per_pair, rng):
    """Try every pair of the world ``n_per_pair`` times (outcomes drawn by the compiled world step)."""
    n_states, n_actions = world.next_state.shape[1], world.next_state.shape[2]
    for _ in range(n_per_pair):
        for s in range(n_states):
            for a in range(n_actions):
                s2, r, done = world_step(world, 0, s, a, rng)
                distribution_model_update(model, s, a, r, s2, done)


def test_learned_probabilities_converge_to_the_true_ones():
    env = gym.make("FrozenLake-v1", is_slippery=True)  # 1/3 each for the intended and two side moves
    true = dynaplan.model_of(env)
    world = make_world([true])
    p_true = true_probabilities(true)
    rng = from_seed(7)
    model = new_distribution_model(16, 4, max_outcomes=3)
    errors = []
    for n in (50, 4950):  # 50, then 5,000 tries of each pair
        fill(model, world, n, rng)
        errors.append(np.abs(probabilities(model) - p_true).max())
    # Each p_hat is a binomial proportion: sd = sqrt(p (1 - p) / n) <= 0.5 / sqrt(5000) = 0.0071.
    # Over 64 pairs x 3 outcomes the max |error| stays below 5 sd (0.035) with overwhelming odds.
    assert errors[1] < 0.035
    assert errors[1] < errors[0] / 3  # the error shrinks like 1/sqrt(n): 10x less data, ~1/10
    # Expected rewards too: only reaching the goal pays 1.
    tab = to_tabular(model)
    assert np.abs(tab.expected_reward() - true.expected_reward()).max() < 0.035
    # And the Q* of the learned model approaches the true Q* (values in [0, 1]).
    q_true = dynaplan.value_iteration(true, 0.9, tol=1e-12).q
    q_hat = dynaplan.value_iteration(model, 0.9, tol=1e-12).q
    assert np.abs(q_hat - q_true).max() < 0.05


def test_expected_target_and_sampling_by_hand():
    model = new_distribution_model(3, 1, max_outcomes=3)
    # (0, 0): 3x to state 1 with rewards 1, 2, 3 (mean 2); 1x ends the episode with reward 10.
    for r in (1.0, 2.0, 3.0):
        distribution_model_update(model, 0, 0, r, 1, False)
    distribution_model_update(model, 0, 0, 10.0, 2, True)
    q = np.array([[0.0], [4.0], [100.0]])  # the terminal outcome must not bootstrap from q[2]
    gamma = 0.5
    assert expected_target(model, q, 0, 0, gamma) == pytest.approx(0.75 * (2.0 + 0.5 * 4.0) + 0.25 * 10.0)
    rng = from_seed(3)
    draws = [sample_outcome(model, 0, 0, rng) for _ in range(20_000)]
    frac_terminal = np.mean([d[2] for d in draws])
    assert abs(frac_terminal - 0.25) < 5 * np.sqrt(0.25 * 0.75 / 20_000)
    assert {(d[0], d[1], d[2]) for d in draws} == {(2.0, 1, False), (10.0, 2, True)}


def test_distribution_predecessor_index_matches_the_data():
    rng = np.random.default_rng(0)
    n_states, n_actions = 12, 3
    model = new_distribution_model(n_states, n_actions, max_outcomes=4)
    seen: dict[int, set] = {s: set() for s in range(n_states)}
    for _ in range(400):
        s, a = int(rng.integers(n_states)), int(rng.integers(n_actions))
        s2 = int((s + rng.integers(4)) % n_states)  # at most 4 distinct outcomes per pair
        distribution_model_update(model, s, a, 0.0, s2, False)
        seen[s2].add((s, a))
    for s in range(n_states):
        preds = predecessors_dist(model, s)
        assert len(preds) == len(set(preds))
        assert set(preds) == seen[s]
    # Seen states and tried actions are listed once each.
    assert sorted(model.seen_states[: model.n_seen[0]]) == sorted({s for ps in seen.values() for s, _ in ps})


def test_too_many_outcomes_is_an_error():
    model = new_distribution_model(3, 1, max_outcomes=2)
    distribution_model_update(model, 0, 0, 0.0, 0, False)
    distribution_model_update(model, 0, 0, 0.0, 1, False)
    with pytest.raises(ValueError, match="max_outcomes"):
        distribution_model_update(model, 0, 0, 0.0, 2, False)
    with pytest.raises(ValueError, match="max_outcomes"):
        new_distribution_model(3, 1, max_outcomes=0)


def test_sample_model_predecessor_index_follows_changing_outcomes():
    # A pair is a predecessor of its *last* recorded next state only: outcomes that change
    # (as in a changing maze) must move the pair between lists.
    rng = np.random.default_rng(1)
    n_states, n_actions = 10, 4
    model = new_sample_model(n_states, n_actions)
    last: dict[tuple[int, int], int] = {}
    for t in range(500):
        s, a, s2 = int(rng.integers(n_states)), int(rng.integers(n_actions)), int(rng.integers(n_states))
        sample_model_update(model, s, a, 0.0, s2, False, t)
        last[(s, a)] = s2
        if t % 50 == 49:
            for target in range(n_states):
                preds = predecessors(model, target)
                assert len(preds) == len(set(preds))
                assert set(preds) == {pair for pair, nxt in last.items() if nxt == target}
