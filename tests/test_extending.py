"""A user's own algorithm and a user's own model type, written outside the package.

This is docs/extending.md ("Add your own algorithm"): everything comes from ``dynaplan.extend``.

* Expected SARSA (section 6.6) on the kernel protocol: one state, two kernels, one class; the
  object API and the compiled runner must agree.
* ``PairListModel``, a fourth model type (a last-outcome model that keeps its tried pairs in one
  list and draws among them with one draw), registered with the model protocol: search and
  background planning run on it and are checked against backward induction and value
  iteration; ``ModelDyna`` (Dyna-Q over any registered model) uses it in the object API, the
  compiled runner and the CLI.
"""

import os
import subprocess
import sys
from pathlib import Path
from typing import Any, NamedTuple

import gymnasium as gym
import numpy as np
import pandas as pd
import pytest

from dynaplan.extend import (
    AGENTS,
    TabularAgent,
    agent_stream,
    check_count,
    check_model,
    check_td_params,
    dyna_planning,
    epsilon_greedy,
    initial_q,
    kernel,
    lookahead_search,
    max_value,
    mcts_search,
    model_of,
    model_update,
    problem_of,
    q_update,
    randint,
    register_agent,
    register_kernels,
    register_model,
    rollout_search,
    run_agent,
)


class ExpectedSarsaState(NamedTuple):
    q: np.ndarray
    alpha: float
    gamma: float
    epsilon: float


@kernel
def expected_sarsa_act(agent, s, rng):
    return epsilon_greedy(agent.q[s], agent.epsilon, rng)


@kernel
def expected_sarsa_observe(agent, s, a, r, s2, terminated, truncated, rng):
    """Q(s,a) += alpha [r + gamma sum_a' pi(a'|s') Q(s',a') - Q(s,a)]  (eq. 6.9).

    Kernels run inside compiled loops without reference counting: plain loops, no new arrays.
    """
    target = r
    if not terminated:
        n = agent.q.shape[1]
        best = max_value(agent.q[s2])
        n_best = 0
        for b in range(n):
            n_best += agent.q[s2, b] == best
        expected = 0.0
        for b in range(n):
            p = agent.epsilon / n + ((1.0 - agent.epsilon) / n_best if agent.q[s2, b] == best else 0.0)
            expected += p * agent.q[s2, b]
        target += agent.gamma * expected
    agent.q[s, a] += agent.alpha * (target - agent.q[s, a])


register_kernels(ExpectedSarsaState, act=expected_sarsa_act, observe=expected_sarsa_observe)


@register_agent
class ExpectedSarsa(TabularAgent):
    name = "expected-sarsa"
    example_params = {"alpha": 0.5}  # noqa: RUF012  (what the registry-parametrised tests run)

    @classmethod
    def check_params(cls, params):
        return check_td_params(params, set())

    @classmethod
    def build_state(cls, n_states, n_actions, model, params) -> Any:
        return ExpectedSarsaState(
            initial_q(n_states, n_actions, params), params["alpha"], params["gamma"], params["epsilon"]
        )


# -- a fourth model type ----------------------------------------------------------------------


class PairListModel(NamedTuple):
    """Last outcome per pair, flat arrays indexed by pair ``s * A + a``; tried pairs in a list.

    next_state: int64[S * A] (-1: never tried); reward: float64[S * A]; terminated: bool[S * A];
    pairs: int64[S * A], the tried pairs in order of first try; n: int64[1], how many; n_actions: int.
    """

    next_state: np.ndarray
    reward: np.ndarray
    terminated: np.ndarray
    pairs: np.ndarray
    n: np.ndarray
    n_actions: int


def new_pair_list_model(n_states: int, n_actions: int) -> PairListModel:
    size = n_states * n_actions
    return PairListModel(
        np.full(size, -1, dtype=np.int64), np.zeros(size), np.zeros(size, dtype=np.bool_),
        np.zeros(size, dtype=np.int64), np.zeros(1, dtype=np.int64), n_actions,
    )


@kernel(inline=True)
def pl_known(model, s, a):
    return model.next_state[s * model.n_actions + a] >= 0


@kernel(inline=True)
def pl_n_known(model):
    return model.n[0]


@kernel(inline=True)
def pl_draw_known(model, rng):
    """A tried pair uniformly (one draw), unlike Dyna-Q's state-then-action (two draws)."""
    pair = model.pairs[randint(rng, model.n[0])]
    return pair // model.n_actions, pair % model.n_actions


@kernel(inline=True)
def pl_sample(model, s, a, rng):
    i = s * model.n_actions + a
    return model.next_state[i], model.reward[i], model.terminated[i]


@kernel(inline=True)
def pl_width(model):
    return 1


@kernel(inline=True)
def pl_outcome(model, s, a, k):
    i = s * model.n_actions + a
    return 1.0, model.next_state[i], model.reward[i], model.terminated[i]


@kernel(inline=True)
def pl_update(model, s, a, r, s2, terminated, t):
    i = s * model.n_actions + a
    if model.next_state[i] < 0:
        model.pairs[model.n[0]] = i
        model.n[0] += 1
    model.next_state[i] = s2
    model.reward[i] = r
    model.terminated[i] = terminated


register_model(
    PairListModel, known=pl_known, n_known=pl_n_known, draw_known=pl_draw_known, sample=pl_sample,
    width=pl_width, outcome=pl_outcome, update=pl_update,
    sizes=lambda model: (model.next_state.shape[0] // model.n_actions, model.n_actions),
)


class ModelDynaState(NamedTuple):
    q: np.ndarray
    model: Any
    t: np.ndarray
    alpha: float
    gamma: float
    epsilon: float
    planning_steps: int


@kernel
def model_dyna_act(agent, s, rng):
    return epsilon_greedy(agent.q[s], agent.epsilon, rng)


@kernel
def model_dyna_observe(agent, s, a, r, s2, terminated, truncated, rng):
    """Dyna-Q (section 8.2) over any registered model: direct update, model update, planning."""
    q_update(agent.q, s, a, r, s2, terminated, agent.alpha, agent.gamma)
    model_update(agent.model, s, a, r, s2, terminated, agent.t[0])
    agent.t[0] += 1
    dyna_planning(agent.q, agent.model, agent.planning_steps, agent.alpha, agent.gamma, rng)


register_kernels(ModelDynaState, act=model_dyna_act, observe=model_dyna_observe)


@register_agent
class ModelDyna(TabularAgent):
    name = "pair-list-dyna"
    example_params = {"planning_steps": 5}  # noqa: RUF012

    @classmethod
    def check_params(cls, params):
        out = check_td_params(params, {"planning_steps"}, planning_steps=5)
        out["planning_steps"] = check_count("planning_steps", out["planning_steps"])
        return out

    @classmethod
    def build_state(cls, n_states, n_actions, model, params) -> Any:
        return ModelDynaState(
            initial_q(n_states, n_actions, params), new_pair_list_model(n_states, n_actions),
            np.zeros(1, dtype=np.int64), params["alpha"], params["gamma"], params["epsilon"],
            params["planning_steps"],
        )


def _complete_model(exact):
    """A PairListModel that has tried every pair of a deterministic exact model."""
    model = new_pair_list_model(exact.n_states, exact.n_actions)
    for s in range(exact.n_states):
        for a in range(exact.n_actions):
            k = int(np.argmax(exact.prob[s, a]))
            pl_update(model, s, a, exact.reward[s, a, k], exact.next_state[s, a, k], exact.terminated[s, a, k], 0)
    return model


def _bellman(exact, q, gamma):
    """One Bellman optimality backup of ``q`` on a deterministic exact model, written out here."""
    k = np.argmax(exact.prob, axis=2)[..., None]
    nxt = np.take_along_axis(exact.next_state, k, 2)[..., 0]
    rew = np.take_along_axis(exact.reward, k, 2)[..., 0]
    cont = ~np.take_along_axis(exact.terminated, k, 2)[..., 0]
    return rew + gamma * cont * q.max(axis=1)[nxt]


# -- tests --------------------------------------------------------------------------------------


def test_own_algorithm_runs_both_ways_identically():
    env = gym.make("CliffWalking-v1")
    agent = ExpectedSarsa(env, alpha=0.5, gamma=1.0, seed=4)
    steps = [agent.run_episode(env, seed=4)[0]] + [agent.run_episode(env)[0] for _ in range(49)]
    res = run_agent(ExpectedSarsa, {"alpha": 0.5, "gamma": 1.0}, problem_of("CliffWalking-v1"), 4, episodes=50)
    assert res.episode_steps.tolist() == steps
    assert np.array_equal(res.agent.q, agent.q)
    assert "expected-sarsa" in AGENTS


def test_own_algorithm_makes_the_expected_sarsa_update_by_hand():
    # eq. 6.9 on a hand-set row: Q(s2) = [1, 3, 3, 0], epsilon = 0.1, two greedy actions, so
    # pi(s2) = [0.025, 0.475, 0.475, 0.025] and the expectation is 0.025 + 2 * 0.475 * 3 = 2.875;
    # target -1 + 0.9 * 2.875 = 1.5875, and alpha = 0.5 from Q = 0 gives 0.79375.
    agent = ExpectedSarsa(gym.make("CliffWalking-v1"), alpha=0.5, gamma=0.9, epsilon=0.1, seed=0)
    agent.q[5] = [1.0, 3.0, 3.0, 0.0]
    agent.observe(4, 2, -1.0, 5, False)
    assert agent.q[4, 2] == pytest.approx(0.79375, abs=1e-15)
    agent.observe(6, 1, -1.0, 5, True)  # terminal: the target is the reward alone
    assert agent.q[6, 1] == -0.5
    assert np.count_nonzero(agent.q) == 5  # nothing else moved


def test_own_model_type_in_search_and_planning():
    """Search over the user's model equals backward induction on the world's exact model, and
    Q-planning on it converges to the Q* value iteration gives."""
    exact = model_of(gym.make("dynaplan/DynaMaze-v0"))
    model = _complete_model(exact)
    gamma = 0.95
    q3 = np.zeros((exact.n_states, exact.n_actions))
    for _ in range(3):  # backward induction: q_h = r + gamma max q_{h-1}(s'), q_0 = 0
        q3 = _bellman(exact, q3, gamma)
    for s in (0, 9, 17, 26, 44):
        res = lookahead_search(model, s, depth=3, gamma=gamma, seed=0)
        assert np.allclose(res.values, q3[s], atol=1e-12)
    # State 17 (row 1, column 8) is just below the goal: only "up" is optimal.
    res = mcts_search(model, 17, simulations=3000, c=1.0, gamma=gamma, depth=6, key="horizon", seed=1)
    assert q3[17, res.action] == q3[17].max() and res.model_steps > 3000
    roll = rollout_search(model, 17, simulations=50, depth=6, gamma=gamma, seed=2)
    # every simulation takes between 1 and depth = 6 model steps
    assert roll.simulations == 50 and 50 <= roll.model_steps <= 50 * 6

    # Value iteration written out (deterministic maze): the fixed point Q-planning must reach.
    q_star = np.zeros((exact.n_states, exact.n_actions))
    for _ in range(2000):
        q_star = _bellman(exact, q_star, gamma)
    q = np.zeros_like(q_star)
    dyna_planning(q, model, 400_000, 1.0, gamma, agent_stream(0))
    assert np.abs(q - q_star).max() < 1e-6


def test_own_agent_on_own_model_object_api_runner_and_cli(tmp_path):
    env = gym.make("dynaplan/DynaMaze-v0")
    agent = ModelDyna(env, planning_steps=10, seed=3)
    steps = [agent.run_episode(env, seed=3)[0]] + [agent.run_episode(env)[0] for _ in range(29)]
    res = run_agent(ModelDyna, {"planning_steps": 10}, problem_of("dynaplan/DynaMaze-v0"), 3, episodes=30)
    assert res.episode_steps.tolist() == steps
    assert np.array_equal(res.agent.q, agent.q)
    assert int(res.agent.model.n[0]) == int((res.agent.model.next_state >= 0).sum())
    # It learns the maze as Dyna-Q does: the last 10 episodes near the shortest path (14 steps,
    # 16-17 with epsilon-greedy exploration, Figure 8.2).
    assert np.mean(steps[-10:]) < 22

    spec = tmp_path / "mine.toml"
    spec.write_text(
        'name = "mine"\nkind = "episodes"\nmodule = "test_extending"\nseeds = 2\n'
        '[params]\nenv = "dynaplan/DynaMaze-v0"\nagent = "pair-list-dyna"\nepisodes = 3\nplanning_steps = 5\n'
    )
    here = Path(__file__).resolve().parent
    src = here.parent / "src"
    env_vars = {**os.environ, "PYTHONPATH": os.pathsep.join([str(src), str(here), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run(
        [sys.executable, "-m", "dynaplan.cli", "run", str(spec), "--out", str(tmp_path / "out"), "--workers", "1"],
        capture_output=True, text=True, cwd=tmp_path, timeout=600, env=env_vars,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    table = pd.read_csv(tmp_path / "out" / "results.csv")
    assert len(table) == 6 and set(table.agent) == {"pair-list-dyna"} and table.steps.min() >= 14


class SampleOnlyModel(NamedTuple):
    next_state: np.ndarray


def test_a_model_is_checked_for_what_a_planner_needs():
    """A sample-only model type serves sample-based planners; expected ones refuse it by name."""
    with pytest.raises(ValueError, match="together"):
        register_model(SampleOnlyModel, known=pl_known, sample=pl_sample, width=pl_width)
    with pytest.raises(ValueError, match="planning must be"):
        register_model(SampleOnlyModel, known=pl_known, sample=pl_sample, planning="guess")
    with pytest.raises(ValueError, match="needs a backup or outcome"):
        register_model(SampleOnlyModel, known=pl_known, sample=pl_sample, planning="expected")
    register_model(SampleOnlyModel, known=pl_known, sample=pl_sample)
    model = SampleOnlyModel(np.zeros((3, 2), dtype=np.int64))
    check_model(model)
    with pytest.raises(ValueError, match="a search needs a model with outcome slots"):
        lookahead_search(model, 0)
    with pytest.raises(ValueError, match="needs a model of a registered type"):
        check_model(np.zeros(3))


def test_own_kernels_get_cache_files_of_their_own(tmp_path):
    """Kernels from outside the package never enter the cache index other processes read.

    (Numba unpickles an index's argument types before checking its stamp: a process that
    cannot import this test module would crash on it.) This checks the cache machinery itself,
    so it reads two internals.
    """
    from dynaplan._cache import SOURCE_HASH
    from dynaplan.core.loop import run_loop

    cache_file = run_loop._cache._cache_file
    assert cache_file._source_stamp != SOURCE_HASH
    assert "-x" in cache_file._index_path
    run_agent(ExpectedSarsa, {}, problem_of("CliffWalking-v1"), 0, episodes=2)  # saved under its own name
    run_agent(ModelDyna, {}, problem_of("dynaplan/DynaMaze-v0"), 0, episodes=2)
    code = (
        "import dynaplan; p = dynaplan.problem_of('dynaplan/DynaMaze-v0');"
        "print(dynaplan.run_agent(dynaplan.DynaQ, {}, p, 0, episodes=2).total_steps);"
        "import numpy as np; from dynaplan.search import lookahead_search;"
        "print(lookahead_search(dynaplan.model_of(__import__('gymnasium').make('dynaplan/DynaMaze-v0')), 0).action)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
