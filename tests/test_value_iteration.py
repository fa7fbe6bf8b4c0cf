"""Exact solvers against closed forms and hand-computed tiny MDPs (book sections 4.1-4.4)."""

import gymnasium as gym
import numpy as np
import pytest

import dynaplan
from dynaplan import policy_evaluation, value_iteration
from dynaplan.envs.tabular import from_P
from dynaplan.models.distribution import distribution_model_update, new_distribution_model


def mdp(P, n_states):
    start = np.zeros(n_states)
    start[0] = 1.0
    return from_P(P, start)


def chain(n):
    """States 0..n-1; action 0 moves to s-1 (state 0 ends the episode with reward 1), action 1 stays.

    v*(s) = gamma^s: the shortest way out is s further steps.
    """
    P = {}
    for s in range(n):
        left = [(1.0, 0, 1.0, True)] if s == 0 else [(1.0, s - 1, 0.0, False)]
        P[s] = {0: left, 1: [(1.0, s, 0.0, False)]}
    return mdp(P, n)


@pytest.mark.parametrize("method", ["jacobi", "gauss-seidel"])
def test_chain_values_are_gamma_to_the_distance(method):
    gamma = 0.9
    sol = value_iteration(chain(12), gamma, tol=1e-13, method=method)
    assert np.allclose(sol.v, gamma ** np.arange(12), atol=1e-11)
    assert np.all(sol.policy == 0)
    assert sol.updates == sol.sweeps * 12


def test_gauss_seidel_needs_fewer_sweeps_than_jacobi():
    # In the chain, values flow from state 0 upward: an in-place sweep in state order carries
    # them the whole way at once; a Jacobi sweep moves them one state per sweep.
    n = 30
    gs = value_iteration(chain(n), 0.9, tol=1e-12, method="gauss-seidel")
    jac = value_iteration(chain(n), 0.9, tol=1e-12, method="jacobi")
    assert gs.sweeps <= 3 < n <= jac.sweeps
    # And in the Dyna maze, where the state order does not follow the flow of values.
    model = gym.make("dynaplan/DynaMaze-v0").unwrapped.model
    gs = value_iteration(model, 0.95, tol=1e-12, method="gauss-seidel")
    jac = value_iteration(model, 0.95, tol=1e-12, method="jacobi")
    assert gs.sweeps < jac.sweeps
    assert np.allclose(gs.v, jac.v, atol=1e-10)


def test_stochastic_pair_hand_computed():
    # One state. Action 0 ends the episode with reward 1 with probability 1/2, else stays with
    # reward 0: q0 = 1/2 + gamma v / 2. Action 1 stays with reward 0.2: q1 = 0.2 + gamma v.
    # gamma = 0.9: v = max(1/2 + 0.45 v, 0.2 + 0.9 v); staying forever gives v = 0.2 / 0.1 = 2,
    # more than leaving's fixed point 1/1.1, so v* = 2 and q0 = 0.5 + 0.45 * 2.
    P = {0: {0: [(0.5, 0, 1.0, True), (0.5, 0, 0.0, False)], 1: [(1.0, 0, 0.2, False)]}}
    sol = value_iteration(mdp(P, 1), 0.9, tol=1e-13)
    assert sol.v[0] == pytest.approx(2.0, abs=1e-10)
    assert sol.q[0, 0] == pytest.approx(0.5 + 0.45 * 2.0, abs=1e-10)
    assert sol.policy[0] == 1
    sol = value_iteration(mdp(P, 1), 0.5, tol=1e-13)  # v = max(1/2 + v/4, 0.2 + v/2): 2/3 vs 0.4
    assert sol.v[0] == pytest.approx(2 / 3, abs=1e-10)
    assert sol.policy[0] == 0


def test_greedy_mask_marks_every_optimal_action():
    # Two exits with equal value and one worse action: both optimal ones are marked.
    P = {0: {0: [(1.0, 0, 1.0, True)], 1: [(1.0, 0, 1.0, True)], 2: [(1.0, 0, 0.5, True)]}}
    sol = value_iteration(mdp(P, 1), 0.9)
    assert sol.greedy.tolist() == [[True, True, False]]
    assert sol.policy[0] == 0
    # Dyna maze: the start is 14 steps from the goal; the marked actions at the start are
    # exactly those whose successor is 13 steps away by breadth-first search.
    env = gym.make("dynaplan/DynaMaze-v0").unwrapped
    sol = value_iteration(env.model, 0.95, tol=1e-13)
    layout = env.layout
    start = env.to_state(*layout.start)
    for a in range(4):
        s2 = int(env.model.next_state[start, a, 0])
        d = dynaplan.envs.shortest_path_length(layout.walls, env.to_cell(s2), layout.goals)
        assert sol.greedy[start, a] == (d == 13)


def test_policy_evaluation_closed_form_and_consistency():
    gamma = 0.9
    model = chain(6)
    # Always "stay": never leaves, v = 0. Always "left": v = gamma^s.
    assert np.allclose(policy_evaluation(model, np.ones(6, dtype=np.int64), gamma), 0.0)
    assert np.allclose(policy_evaluation(model, np.zeros(6, dtype=np.int64), gamma), gamma ** np.arange(6))
    # Uniform random policy in state s: v(s) = (v(s-1) + v(s)) gamma / 2 -> v(s) = c v(s-1), c = (g/2)/(1-g/2)
    c = (gamma / 2) / (1 - gamma / 2)
    v0 = 0.5 / (1 - gamma / 2)
    v = policy_evaluation(model, np.full((6, 2), 0.5), gamma)
    assert np.allclose(v, v0 * c ** np.arange(6))
    # v* is the value of the greedy policy (FrozenLake, stochastic).
    env = gym.make("FrozenLake-v1")
    sol = value_iteration(env, 0.95, tol=1e-13)
    assert np.allclose(policy_evaluation(env, sol.policy, 0.95), sol.v, atol=1e-9)


def test_value_iteration_over_a_learned_distribution_model():
    # Pair (0, 0) seen 3 times: twice to state 1 (reward 1), once ending the episode (reward 4);
    # pair (1, 0) seen once: ends with reward 2. Untried pairs are worth 0.
    # q(1, 0) = 2; q(0, 0) = 2/3 (1 + gamma * 2) + 1/3 * 4.
    model = new_distribution_model(2, 2, max_outcomes=2)
    for r, s2, done in [(1.0, 1, False), (4.0, 0, True), (1.0, 1, False)]:
        distribution_model_update(model, 0, 0, r, s2, done)
    distribution_model_update(model, 1, 0, 2.0, 1, True)
    gamma = 0.5
    sol = value_iteration(model, gamma, tol=1e-14)
    assert sol.q[1].tolist() == pytest.approx([2.0, 0.0])
    assert sol.q[0, 0] == pytest.approx(2 / 3 * (1 + gamma * 2) + 4 / 3)
    assert sol.q[0, 1] == 0.0


def test_bad_input_is_one_clear_error():
    with pytest.raises(ValueError, match="method"):
        value_iteration(chain(2), 0.9, method="newton")
    with pytest.raises(ValueError, match="gamma"):
        value_iteration(chain(2), 1.5)
    with pytest.raises(ValueError, match="TabularModel"):
        value_iteration("not a model", 0.9)
