"""Agents checked against ground truth: value iteration, BFS path lengths, exact random walks,
and the shape of the book's Figure 8.2 (statistics over seeds, tolerances stated)."""

import gymnasium as gym
import numpy as np
import pytest

from conftest import random_walk_length
from dynaplan import DynaQ, QLearning, QPlanning, problem_of, run_batch, run_seeds, value_iteration
from dynaplan.envs.layouts import shortest_path_length


def greedy_path_length(env, q, limit=1000):
    """Steps of the greedy (first-maximum) path from the start in a deterministic env, None if it
    never reaches a goal."""
    from dynaplan import model_of

    model = model_of(env)
    s = int(np.argmax(model.start))
    for n in range(1, limit + 1):
        a = int(np.argmax(q[s]))
        if model.terminated[s, a, 0]:
            return n
        s = int(model.next_state[s, a, 0])
    return None


def test_value_iteration_gives_gamma_to_the_distance(dyna_maze):
    inner = dyna_maze.unwrapped
    sol = value_iteration(inner.model, 0.95, tol=1e-12)
    start = inner.to_state(*inner.layout.start)
    # 14 steps to the goal, reward 1 on the last: v*(start) = 0.95 ** 13
    assert sol.v[start] == pytest.approx(0.95**13, abs=1e-12)
    assert greedy_path_length(dyna_maze, sol.q) == 14


def test_q_planning_over_the_true_model_converges_to_q_star(dyna_maze):
    inner = dyna_maze.unwrapped
    q_star = value_iteration(inner.model, 0.95, tol=1e-14).q
    agent = QPlanning(dyna_maze, model="exact", alpha=0.1, seed=0)
    agent.plan(3_000_000)
    free = ~inner.layout.walls.reshape(-1)
    assert np.abs(agent.q[free] - q_star[free]).max() < 1e-6
    assert greedy_path_length(dyna_maze, agent.q) == 14


def test_q_planning_on_a_stochastic_model_approaches_q_star():
    """Sample updates with a constant step size hover around Q*: within 0.05 on FrozenLake."""
    env = gym.make("FrozenLake-v1", is_slippery=True)
    from dynaplan import model_of

    q_star = value_iteration(model_of(env), 0.9, tol=1e-12).q
    agent = QPlanning(env, model="exact", alpha=0.01, gamma=0.9, seed=1)
    agent.plan(2_000_000)
    assert np.abs(agent.q - q_star).max() < 0.05


def test_first_episode_is_a_random_walk_of_the_exact_expected_length(dyna_maze):
    """With Q = 0 and random tie-breaking the first episode is a uniform random walk, whatever n.

    Exact expectation from the absorbing chain: 868.7 steps. 400 runs per n; the mean of 400
    has a standard error near 40 steps; tolerance 4 standard errors for each n.
    """
    inner = dyna_maze.unwrapped
    expected = random_walk_length(inner.model, inner.to_state(*inner.layout.start), {8}, inner.layout.walls.reshape(-1))
    assert expected == pytest.approx(868.7, abs=0.1)
    problem = problem_of("dynaplan/DynaMaze-v0")
    seeds = run_seeds(123, 400)
    firsts = []
    for n in (0, 5, 50):
        runs = run_batch(DynaQ, {"planning_steps": n}, problem, seeds, episodes=1)
        firsts.append(np.array([r.episode_steps[0] for r in runs]))
    for lengths in firsts:  # each n on its own: planning cannot help before the goal is found
        se = lengths.std(ddof=1) / np.sqrt(len(lengths))
        assert abs(lengths.mean() - expected) < 4 * se


@pytest.fixture(scope="module")
def figure_8_2():
    """Mean steps per episode over 100 runs for n = 0, 5, 50 (50 episodes)."""
    problem = problem_of("dynaplan/DynaMaze-v0")
    seeds = run_seeds(2024, 100)
    curves = {}
    for n in (0, 5, 50):
        runs = run_batch(DynaQ, {"planning_steps": n}, problem, seeds, episodes=50)
        curves[n] = np.mean([r.episode_steps for r in runs], axis=0)
    return curves


def test_figure_8_2_final_level(figure_8_2):
    """Epsilon-greedy (0.1) around the 14-step path: the last 10 episodes average 15 to 19 steps."""
    for n, curve in figure_8_2.items():
        assert 15.0 <= curve[-10:].mean() <= 19.0, n


def test_figure_8_2_planning_speeds_learning(figure_8_2):
    """n=50 is near its final level by episode 3, n=5 by episode 6, n=0 needs about 25."""
    final = {n: c[-10:].mean() for n, c in figure_8_2.items()}
    assert figure_8_2[50][2] < final[50] + 5  # episode 3
    assert figure_8_2[5][5] < final[5] + 5  # episode 6
    assert figure_8_2[5][2] > final[5] + 20  # ... but not yet at episode 3
    assert figure_8_2[0][9] > 4 * final[0]  # n=0 still far off at episode 10
    assert figure_8_2[0][19] > final[0] + 10  # and at episode 20
    assert figure_8_2[0][30:].mean() < final[0] + 3  # settled after ~25-30
    # ordering in the early episodes: more planning, shorter episodes
    assert (figure_8_2[50][1:5] < figure_8_2[5][1:5]).all() and (figure_8_2[5][1:5] < figure_8_2[0][1:5]).all()


def test_q_learning_learns_cliff_walking_safe_path_value():
    """Q-learning learns the optimal (cliff-edge) path of Example 6.6: 13 steps, v*(start) = -13."""
    env = gym.make("CliffWalking-v1")
    problem = problem_of("CliffWalking-v1")
    from dynaplan import model_of

    model = model_of(env)
    sol = value_iteration(model, 1.0, tol=1e-12)
    runs = run_batch(QLearning, {"alpha": 0.5, "gamma": 1.0, "epsilon": 0.1}, problem, run_seeds(0, 5), episodes=500)
    assert sol.v[36] == pytest.approx(-13.0)
    for r in runs:
        assert greedy_path_length(env, r.agent.q) == 13


def test_bfs_and_layout_agree_with_value_iteration():
    """For random open mazes, log_gamma v*(start) + 1 equals the BFS distance."""
    from dynaplan.envs import GridMaze

    rng = np.random.default_rng(0)
    for _ in range(20):
        walls = rng.random((5, 7)) < 0.25
        walls[0, 0] = walls[4, 6] = False
        rows = ["".join("#" if w else "." for w in row) for row in walls]
        rows[0] = "S" + rows[0][1:]
        rows[4] = rows[4][:-1] + "G"
        d = shortest_path_length(walls, (0, 0), [(4, 6)])
        if d is None:
            continue
        env = GridMaze("\n".join(rows) + "\n")
        v = value_iteration(env.model, 0.9, tol=1e-13).v
        assert np.log(v[0]) / np.log(0.9) + 1 == pytest.approx(d)
